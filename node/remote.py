"""A client for a running node's local API: what `seinhuis node send/status/import` talk to."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import grpc

from node import serde
from node.importer import Report, chunks, parse_row
from node.local_tls import ClientTls, open_channel
from node.model import LocalSignal
from seinhuis.errors import CATALOG, InvalidArgument, SeinhuisError, Unavailable
from seinhuis.serde import date_to_proto, enum_to_proto
from seinhuis.v1 import node_pb2, node_pb2_grpc, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import WithdrawReason

_BY_STATUS = {status: cls for cls, status in CATALOG.items()}
_CODE_NAMES: dict[int, str] = {c.value[0]: c.name for c in grpc.StatusCode}


#: What to check when a node cannot be reached, by how the client connected.
_PLAIN_HINT = (
    "; if the node serves TLS (node.local_tls), pass --ca with the CA that issued its certificate"
)
_TLS_HINT = (
    "; check that the node serves TLS, that --ca issued its certificate and that the address "
    "(or --server-name) is a name in it; a node with node.local_tls.client_ca needs --cert "
    "and --key from that CA"
)


def error_from_rpc(exc: grpc.RpcError, *, hint: str = "") -> SeinhuisError:
    """The node's refusal as a SeinhuisError carrying the node's public message; `hint` is
    added when the node could not be reached."""
    code: grpc.StatusCode | None = exc.code()
    name = code.name if code is not None else "UNKNOWN"
    details = exc.details() or name
    cls = _BY_STATUS.get(name)
    if cls is None or cls is Unavailable:
        return Unavailable(f"the node is not reachable at this address ({name}){hint}")
    err = cls(details)
    # InvalidArgument prefixes its field; the node's message carries it already.
    err.message = details
    err.args = (details,)
    return err


def signal_request(signal: LocalSignal) -> node_pb2.SubmitSignalRequest:
    """The SubmitSignalRequest for a LocalSignal (the inverse of serde.local_signal_from_proto)."""
    person, address, arrears = signal.person, signal.address, signal.arrears
    # Numbers the wire cannot carry are refused here, as the node would refuse them.
    _fits(address.house_number, 0, 2**32, "subject.house_number", "between 1 and 99999")
    if arrears is not None:
        _fits(arrears.amount_cents, -(2**63), 2**63, "arrears.amount_cents", "more than 0")
        _fits(arrears.months_in_arrears, 0, 2**32, "arrears.months_in_arrears", "1 to 120")
    req = node_pb2.SubmitSignalRequest(
        partner_reference=signal.partner_reference,
        signal_type=enum_to_proto(signal.signal_type, vocabulary_pb2.SignalType),
        urgency=enum_to_proto(signal.urgency, vocabulary_pb2.Urgency),
        subject=node_pb2.LocalSubject(
            bsn=person.bsn,
            postcode=address.postcode,
            house_number=address.house_number,
            house_letter=address.house_letter,
            house_number_addition=address.house_number_addition,
        ),
    )
    if person.birth_date is not None:
        req.subject.birth_date.CopyFrom(date_to_proto(person.birth_date))
    if signal.observed_on is not None:
        req.observed_on.CopyFrom(date_to_proto(signal.observed_on))
    if arrears is not None:
        req.arrears.CopyFrom(
            signal_pb2.Arrears(
                amount_cents=arrears.amount_cents,
                months_in_arrears=arrears.months_in_arrears,
                contact_attempted=arrears.contact_attempted,
                written_reminder_sent=arrears.written_reminder_sent,
            )
        )
    return req


def _fits(value: int, low: int, high: int, field: str, expected: str) -> None:
    if not low <= value < high:
        raise InvalidArgument(f"must be {expected}", field=field)


class NodeClient:
    """Calls to a node's local API, with the bearer token when the node requires one.

    `tls`: connect with TLS (node/local_tls.py); without it only an address on this machine
    (loopback, a unix socket) is accepted.
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        tls: ClientTls | None = None,
    ) -> None:
        self._channel = open_channel(address, tls)
        self._hint = _PLAIN_HINT if tls is None else _TLS_HINT
        self._stub = node_pb2_grpc.NodeServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout_s

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, hint=self._hint) from None

    def submit(self, signal: LocalSignal) -> bytes:
        response = self._call(self._stub.SubmitSignal, signal_request(signal))
        return bytes(response.id)

    def status(self, id_or_reference: str) -> node_pb2.GetSignalStatusResponse:
        request = node_pb2.GetSignalStatusRequest(**_which(id_or_reference))
        response: node_pb2.GetSignalStatusResponse = self._call(self._stub.GetSignalStatus, request)
        return response

    def withdraw(self, id_or_reference: str, reason: WithdrawReason) -> bytes:
        request = node_pb2.WithdrawSignalRequest(
            reason=enum_to_proto(reason, vocabulary_pb2.WithdrawReason), **_which(id_or_reference)
        )
        return bytes(self._call(self._stub.WithdrawSignal, request).id)

    def import_rows(
        self,
        rows: Iterable[tuple[int, dict[str, str]]],
        *,
        in_flight: int = 64,
        progress: Callable[[int], None] = lambda n: None,
    ) -> Report:
        """Submit parsed rows with up to `in_flight` calls outstanding; a report per row."""
        report = Report()
        slots = threading.BoundedSemaphore(in_flight)
        fatal: list[SeinhuisError] = []

        def done(number: int, future: grpc.Future[Any]) -> None:
            try:
                try:
                    report.add(number, bytes(future.result().id))
                except grpc.RpcError as exc:
                    err = error_from_rpc(exc, hint=self._hint)
                    if isinstance(err, Unavailable):
                        fatal.append(err)
                    report.add(number, err)
            finally:
                slots.release()
                progress(1)

        for batch in chunks(rows, 1000):
            if fatal:
                break
            for number, row in batch:
                report.rows += 1
                try:
                    request = signal_request(parse_row(row))
                except SeinhuisError as exc:
                    report.add(number, exc)
                    progress(1)
                    continue
                slots.acquire()
                future = self._stub.SubmitSignal.future(
                    request, timeout=self._timeout, metadata=self._metadata
                )
                future.add_done_callback(functools.partial(done, number))
        for _ in range(in_flight):
            slots.acquire()
        report.refusals.sort(key=lambda r: r.row)
        if fatal:
            raise fatal[0]
        return report


def _which(id_or_reference: str) -> dict[str, Any]:
    """32 hex characters are an id; anything else is the partner's reference."""
    text = id_or_reference.strip()
    if len(text) == 32:
        try:
            return {"id": bytes.fromhex(text)}
        except ValueError:
            pass
    return {"partner_reference": text}


def describe_status(status: node_pb2.GetSignalStatusResponse) -> dict[str, Any]:
    """A status as plain values for printing."""
    state = serde.delivery_state_from_proto(status.state)
    out: dict[str, Any] = {
        "id": bytes(status.id).hex(),
        "state": state.value if state else "UNKNOWN",
        "attempts": status.attempts,
        "accepted_at": status.accepted_at.ToDatetime().isoformat() + "Z",
    }
    if status.HasField("delivered_at"):
        out["delivered_at"] = status.delivered_at.ToDatetime().isoformat() + "Z"
    if status.refusal_code:
        out["refusal_code"] = _CODE_NAMES.get(status.refusal_code, str(status.refusal_code))
        out["refusal_message"] = status.refusal_message
    return out
