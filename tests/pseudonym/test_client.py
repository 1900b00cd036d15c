"""The client's own logic: one key version per call, and errors mapped back from gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from pseudonym.client import PseudonymClient
from seinhuis.crypto import oprf
from seinhuis.errors import (
    CryptoError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    SeinhuisError,
    Unauthenticated,
    Unavailable,
)
from seinhuis.v1 import pseudonym_pb2
from seinhuis.vocabulary import IdentifierKind

KEYS = {v: oprf.derive_key_pair(bytes([v]) * 32, b"test") for v in (1, 2)}


class _Done:
    """A finished call future holding a response."""

    def __init__(self, response: pseudonym_pb2.EvaluateResponse) -> None:
        self._response = response

    def result(self) -> pseudonym_pb2.EvaluateResponse:
        return self._response

    def cancel(self) -> bool:
        return False


class _Evaluate:
    """Evaluates under the next version from a script, like a service rotating mid-call."""

    def __init__(self, versions: Iterator[int], *, corrupt: bool = False) -> None:
        self.versions, self.corrupt, self.calls = versions, corrupt, 0

    def future(self, request: pseudonym_pb2.EvaluateRequest, timeout: float) -> _Done:
        self.calls += 1
        version = next(self.versions)
        evaluated = oprf.blind_evaluate_many(KEYS[version], request.blinded_elements)
        if self.corrupt:
            evaluated[-1] = bytes(32)
        return _Done(
            pseudonym_pb2.EvaluateResponse(key_version=version, evaluated_elements=evaluated)
        )


def _client(evaluate: _Evaluate, max_batch: int) -> PseudonymClient:
    client = PseudonymClient(grpc.insecure_channel("unused:1"), max_batch=max_batch)
    stub: Any = type("Stub", (), {"Evaluate": evaluate})()
    client._stub = stub
    return client


def test_a_rotation_between_batches_restarts_the_call_under_the_new_version() -> None:
    """Batches answered under v1 then v2 are redone, so every pseudonym is a v2 one."""
    evaluate = _Evaluate(iter([1, 2, 2, 2, 2]))
    inputs = [b"a", b"b", b"c", b"d"]
    version, pseudonyms = _client(evaluate, max_batch=2).pseudonymize(IdentifierKind.PERSON, inputs)
    assert version == 2
    assert pseudonyms == [oprf.evaluate_element(KEYS[2], x) for x in inputs]
    assert evaluate.calls == 4


def test_a_key_that_keeps_rotating_is_unavailable() -> None:
    """If every pass sees two versions, the call gives up with Unavailable."""
    evaluate = _Evaluate(iter([1, 2] * 10))
    with pytest.raises(Unavailable, match="rotating"):
        _client(evaluate, max_batch=1).pseudonymize(IdentifierKind.PERSON, [b"a", b"b"])


def test_an_invalid_answer_is_a_crypto_error() -> None:
    """An identity element from the service is refused, not unblinded."""
    client = _client(_Evaluate(iter([1]), corrupt=True), max_batch=5)
    with pytest.raises(CryptoError, match=r"evaluated_elements\[1\]"):
        client.pseudonymize(IdentifierKind.PERSON, [b"a", b"b"])


def test_an_over_long_input_is_named_by_its_index_in_the_call() -> None:
    """An input too long for RFC 9497 is refused before anything is sent, naming its index."""
    evaluate = _Evaluate(iter([1]))
    with pytest.raises(InvalidArgument, match=r"inputs\[3\]"):
        _client(evaluate, max_batch=2).pseudonymize(
            IdentifierKind.PERSON, [b"a", b"b", b"c", b"x" * 65536]
        )
    assert evaluate.calls == 0


def _error(exc: grpc.RpcError) -> SeinhuisError:
    """How the client turns a failed call into an error (never connects)."""
    with grpc.insecure_channel("127.0.0.1:9") as channel:
        return PseudonymClient(channel)._error(exc)


class _RpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument),
        (grpc.StatusCode.PERMISSION_DENIED, PermissionDenied),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted),
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.UNAUTHENTICATED, Unauthenticated),
        (grpc.StatusCode.INTERNAL, SeinhuisError),
    ],
)
def test_service_errors_come_back_as_seinhuis_errors_with_their_message(
    code: grpc.StatusCode, error: type[SeinhuisError]
) -> None:
    """Each status maps to its catalog class and keeps the service's message."""
    mapped = _error(_RpcError(code, "the service said so"))
    assert isinstance(mapped, error)
    assert mapped.message == "the service said so"


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
    ],
)
def test_transport_failures_come_back_as_unavailable(code: grpc.StatusCode) -> None:
    """Connection trouble of any kind is Unavailable."""
    assert isinstance(_error(_RpcError(code, "connection refused")), Unavailable)
