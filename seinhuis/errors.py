"""One error hierarchy for every service, and the catalog mapping each error to a status.

Domain code raises these; only the transport edge (seinhuis.transport) turns them into gRPC
statuses. The public message is what a caller sees; `detail` goes to the log only.
"""

from __future__ import annotations


class SeinhuisError(Exception):
    """Root of all expected failures. Anything else becomes INTERNAL at the edge."""

    #: gRPC status name (grpc.StatusCode member name); kept as text so the domain needs no grpc.
    status = "INTERNAL"
    #: When set, every instance shows this public message whatever it was raised with.
    fixed_message: str | None = None

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = self.fixed_message or message
        #: What really went wrong, for the log (never identifiers).
        self.detail = detail or message


class InvalidArgument(SeinhuisError):
    """Malformed input: a missing field, an unknown enum value, a bad identifier."""

    status = "INVALID_ARGUMENT"

    def __init__(self, message: str, *, field: str | None = None, detail: str | None = None):
        super().__init__(f"{field}: {message}" if field else message, detail=detail)
        self.field = field


class Unauthenticated(SeinhuisError):
    """A bad certificate, signature, signer or timestamp. Never says which check failed."""

    status = "UNAUTHENTICATED"
    fixed_message = "the envelope could not be authenticated"


class PermissionDenied(SeinhuisError):
    """The caller is known but may not do this; the message names the rule."""

    status = "PERMISSION_DENIED"


class AlreadyExists(SeinhuisError):
    """The message id was seen before; a node takes this as acknowledgement of a retry."""

    status = "ALREADY_EXISTS"


class NotFound(SeinhuisError):
    status = "NOT_FOUND"


class FailedPrecondition(SeinhuisError):
    """The request is well formed but the system is not in a state to accept it."""

    status = "FAILED_PRECONDITION"


class ResourceExhausted(SeinhuisError):
    """Too large or too fast."""

    status = "RESOURCE_EXHAUSTED"


class Unavailable(SeinhuisError):
    status = "UNAVAILABLE"


class ConfigError(SeinhuisError):
    """A configuration or policy file is invalid; raised at start, never at run time."""


class CryptoError(SeinhuisError):
    """A cryptographic operation failed; callers turn it into Unauthenticated or InvalidArgument."""


#: The catalog: every expected error class and the gRPC status it is sent as.
CATALOG: dict[type[SeinhuisError], str] = {
    cls: cls.status
    for cls in (
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        AlreadyExists,
        NotFound,
        FailedPrecondition,
        ResourceExhausted,
        Unavailable,
    )
}
