"""The client nodes, the hub and the portal use to reach the consent registry over mTLS.

Errors come back as SeinhuisError subclasses carrying the registry's message; transport
failures as Unavailable. Nodes call check(); the hub check() and watch(); the portal grant(),
revoke() and list_entries().
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from consent import serde
from consent.model import (
    ChangeNotice,
    CheckQuery,
    Decision,
    Entry,
    GrantRequest,
    Pseudonym,
    Purpose,
)
from consent.representation import Actor
from seinhuis.errors import SeinhuisError
from seinhuis.service_client import ServiceClient
from seinhuis.transport import TlsFiles
from seinhuis.v1 import consent_pb2, consent_pb2_grpc
from seinhuis.vocabulary import LifeDomain, PartnerType


@dataclass(frozen=True)
class CheckAnswer:
    """The registry's decision; on PERMIT the receipt bytes and signature to pass on."""

    decision: Decision
    receipt: bytes = field(default=b"", repr=False)
    signature: bytes = field(default=b"", repr=False)

    @property
    def permitted(self) -> bool:
        return self.decision is Decision.PERMIT


def _answer(response: consent_pb2.CheckResponse) -> CheckAnswer:
    # Anything but an explicit PERMIT with a receipt is a DENY: default deny, here too.
    if response.decision != consent_pb2.CONSENT_DECISION_PERMIT:
        return CheckAnswer(Decision.DENY)
    signed = response.signed_receipt
    if not signed.receipt or not signed.signature:
        return CheckAnswer(Decision.DENY)
    return CheckAnswer(Decision.PERMIT, bytes(signed.receipt), bytes(signed.signature))


class ChangeStream:
    """Changes from Watch as they come; cancel() (or leaving a with-block) ends it.

    Iteration also ends when the registry stops; watch again from the last cursor seen.
    """

    def __init__(self, call: Any, error: Callable[[grpc.RpcError], SeinhuisError]) -> None:
        self._call = call
        self._error = error
        self._cancelled = False

    def __iter__(self) -> Iterator[ChangeNotice]:
        try:
            for response in self._call:
                yield serde.notice_from_proto(response)
        except grpc.RpcError as exc:
            if self._cancelled and exc.code() is grpc.StatusCode.CANCELLED:
                return  # we ended it ourselves
            raise self._error(exc) from None

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> ChangeStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cancel()


class ConsentClient(ServiceClient):
    """A connection to the consent registry.

    Pass a target and TLS files (the client owns and closes the channel) or a channel.
    """

    service_name = "consent registry"

    def __init__(
        self,
        target: str | grpc.Channel,
        tls: TlsFiles | None = None,
        *,
        server_name: str | None = "consent",
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__(target, tls, server_name=server_name, timeout_s=timeout_s)
        self._stub = consent_pb2_grpc.ConsentServiceStub(self._channel)

    # --- nodes and the hub --------------------------------------------------------------------

    def check(
        self,
        subject: Pseudonym,
        partner_id: str,
        partner_type: PartnerType,
        life_domain: LifeDomain,
        purpose: Purpose,
        at: dt.datetime | None = None,
    ) -> CheckAnswer:
        """May this partner use this person's data for this purpose in this domain at `at`?"""
        query = CheckQuery(subject, partner_id, partner_type, life_domain, purpose, at)
        return _answer(self._call(self._stub.Check, serde.check_to_proto(query)))

    def check_many(self, queries: Sequence[CheckQuery]) -> list[CheckAnswer | SeinhuisError]:
        """check() for many queries with every call in flight at once (a node's batch, the
        hub's re-checks); per query, in order, its answer or why there is none."""
        futures = [
            self._stub.Check.future(serde.check_to_proto(q), timeout=self._timeout) for q in queries
        ]
        out: list[CheckAnswer | SeinhuisError] = []
        for future in futures:
            try:
                out.append(_answer(future.result()))
            except grpc.RpcError as exc:
                out.append(self._error(exc))
        return out

    def watch(self, after_cursor: int = 0) -> ChangeStream:
        """Every change that altered a decision after the cursor, then new ones (hub only).

        The stream has no deadline; cancel it when done.
        """
        try:
            call = self._stub.Watch(consent_pb2.WatchRequest(after_cursor=after_cursor))
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        return ChangeStream(call, self._error)

    # --- the portal ---------------------------------------------------------------------------

    def grant(self, actor: Actor, request: GrantRequest) -> Entry:
        response = self._call(self._stub.Grant, serde.grant_to_proto(actor, request))
        return serde.entry_from_proto(response.entry)

    def revoke(self, actor: Actor, entry_id: bytes) -> Entry:
        request = consent_pb2.RevokeRequest(actor=serde.actor_to_proto(actor), entry_id=entry_id)
        return serde.entry_from_proto(self._call(self._stub.Revoke, request).entry)

    def list_entries(
        self, actor: Actor, subject: Pseudonym, *, include_revoked: bool = False
    ) -> list[Entry]:
        request = consent_pb2.ListRequest(
            actor=serde.actor_to_proto(actor),
            subject=serde.person_to_proto(subject),
            include_revoked=include_revoked,
        )
        return [serde.entry_from_proto(e) for e in self._call(self._stub.List, request).entries]
