"""The client nodes and the hub use: blinds locally, asks the service, unblinds.

The service only ever sees blinded elements; inputs and pseudonyms stay in this process.
Errors come back as SeinhuisError subclasses carrying the service's message; transport
failures as Unavailable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import grpc

from pseudonym import serde
from pseudonym.model import KeyInfo
from seinhuis.crypto import oprf
from seinhuis.errors import (
    CryptoError,
    InvalidArgument,
    Unavailable,
)
from seinhuis.service_client import RemoteUnauthenticated, ServiceClient
from seinhuis.transport import TlsFiles
from seinhuis.v1 import pseudonym_pb2, pseudonym_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import IdentifierKind

__all__ = ["DEFAULT_MAX_BATCH", "KeyInfo", "PseudonymClient", "RemoteUnauthenticated"]

DEFAULT_MAX_BATCH = 10_000
#: How often pseudonymize starts over when a rotation lands between its batches.
_ROTATION_RETRIES = 2


class PseudonymClient(ServiceClient):
    """A connection to the pseudonymisation service.

    Pass a target and TLS files (the client owns and closes the channel) or a channel.
    """

    service_name = "pseudonymisation service"

    def __init__(
        self,
        target: str | grpc.Channel,
        tls: TlsFiles | None = None,
        *,
        server_name: str | None = "pseudonym",
        max_batch: int = DEFAULT_MAX_BATCH,
        timeout_s: float = 60.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        super().__init__(target, tls, server_name=server_name, timeout_s=timeout_s)
        self._stub = pseudonym_pb2_grpc.PseudonymServiceStub(self._channel)
        self._max_batch = max_batch

    def key_info(self) -> KeyInfo:
        response = self._call(self._stub.GetKeyInfo, pseudonym_pb2.GetKeyInfoRequest())
        return KeyInfo(response.current_version, tuple(response.versions))

    def rekey_factor(self, kind: IdentifierKind, from_version: int, to_version: int) -> bytes:
        """The scalar that re-keys `kind` pseudonyms from one version to another (hub only)."""
        response = self._call(
            self._stub.GetRekeyFactor,
            pseudonym_pb2.GetRekeyFactorRequest(
                kind=serde.kind_to_proto(kind), from_version=from_version, to_version=to_version
            ),
        )
        try:
            return oprf.deserialize_scalar(response.factor, field="factor")
        except InvalidArgument:
            raise CryptoError("the pseudonymisation service sent an invalid factor") from None

    def pseudonymize(
        self, kind: IdentifierKind, inputs: Sequence[bytes]
    ) -> tuple[int, list[bytes]]:
        """The key version and the 32-byte pseudonym of each input, in order.

        All pseudonyms come from one key version: if a rotation lands between batches, the
        whole call starts over under the new version.
        """
        if not inputs:
            return self.key_info().current_version, []
        # Checked here so the error names the index in `inputs`, not in one batch.
        for i, data in enumerate(inputs):
            if len(data) > oprf.MAX_INPUT_BYTES:
                raise InvalidArgument(
                    f"longer than {oprf.MAX_INPUT_BYTES} bytes", field=f"inputs[{i}]"
                )
        for _ in range(_ROTATION_RETRIES + 1):
            result = self._pseudonymize_once(serde.kind_to_proto(kind), inputs)
            if result is not None:
                return result
        raise Unavailable("the pseudonymisation keys kept rotating; try again")

    def _pseudonymize_once(
        self, kind: vocabulary_pb2.IdentifierKind.ValueType, inputs: Sequence[bytes]
    ) -> tuple[int, list[bytes]] | None:
        """One pass over all batches; None when they were not all under one key version."""
        # Two batches in flight: this process blinds and unblinds one batch while the service
        # evaluates the next, since the scalar multiplications release the GIL.
        pending: deque[tuple[list[bytes], grpc.Future[pseudonym_pb2.EvaluateResponse]]] = deque()
        versions: set[int] = set()
        out: list[bytes] = []
        starts = range(0, len(inputs), self._max_batch)
        try:
            for n, start in enumerate(starts):
                blinded = oprf.blind_many(inputs[start : start + self._max_batch])
                request = pseudonym_pb2.EvaluateRequest(
                    kind=kind, blinded_elements=[b.element for b in blinded]
                )
                future = self._stub.Evaluate.future(request, timeout=self._timeout)
                pending.append(([b.blind for b in blinded], future))
                while len(pending) > (0 if n == len(starts) - 1 else 1):
                    out += self._collect(*pending.popleft(), versions)
                    if len(versions) > 1:
                        return None
        finally:
            for _, unfinished in pending:
                unfinished.cancel()
        return versions.pop(), out

    def _collect(
        self,
        blinds: list[bytes],
        future: grpc.Future[pseudonym_pb2.EvaluateResponse],
        versions: set[int],
    ) -> list[bytes]:
        try:
            response = future.result()
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        versions.add(response.key_version)
        evaluated = response.evaluated_elements
        if len(evaluated) != len(blinds):
            raise CryptoError("the pseudonymisation service answered a different number")
        try:
            return oprf.unblind_many(blinds, evaluated)
        except InvalidArgument as exc:
            raise CryptoError(f"the pseudonymisation service sent {exc.message}") from None
