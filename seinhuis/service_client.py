"""What every client of a Seinhuis gRPC service shares: the channel (its own, or one it is
given), a time-out per call, and the service's refusals back as SeinhuisError subclasses with
the service's own message; transport failures as Unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self, TypeVar

import grpc

from seinhuis.errors import CATALOG, SeinhuisError, Unauthenticated, Unavailable
from seinhuis.transport import TlsFiles, secure_channel

#: Codes that say the call did not get through, rather than that the service refused it.
TRANSPORT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
#: gRPC status name -> the error class the service raised.
BY_STATUS: dict[str, type[SeinhuisError]] = {status: cls for cls, status in CATALOG.items()}

_T = TypeVar("_T")


class RemoteUnauthenticated(Unauthenticated):
    """The service did not authenticate us; unlike the hub's fixed message, its own is kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceClient:
    """A connection to one service: pass a target and TLS files (the client owns and closes
    the channel) or a channel. Subclasses make their stub from `self._channel`."""

    #: How an Unavailable error names the service.
    service_name = "the service"

    def __init__(
        self,
        target: str | grpc.Channel,
        tls: TlsFiles | None = None,
        *,
        server_name: str | None,
        timeout_s: float,
    ) -> None:
        if isinstance(target, str):
            if tls is None:
                raise ValueError("a target needs TLS files")
            self._channel = secure_channel(target, tls, server_name=server_name)
            self._owns_channel = True
        else:
            self._channel, self._owns_channel = target, False
        self._timeout = timeout_s

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: Callable[..., _T], request: Any) -> _T:
        try:
            return method(request, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise self._error(exc) from None

    def _error(self, exc: grpc.RpcError) -> SeinhuisError:
        code: grpc.StatusCode = exc.code()
        details = exc.details() or code.name
        if code in TRANSPORT_CODES:
            return Unavailable(f"{self.service_name} unavailable: {details}")
        if code is grpc.StatusCode.UNAUTHENTICATED:
            return RemoteUnauthenticated(details)
        return BY_STATUS.get(code.name, SeinhuisError)(details)
