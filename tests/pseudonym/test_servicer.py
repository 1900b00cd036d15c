"""The gRPC edge: caller identity and enum conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pseudonym import serde
from pseudonym.servicer import PseudonymServicer, UnknownCaller
from seinhuis.errors import InvalidArgument, Unauthenticated
from seinhuis.v1 import pseudonym_pb2, vocabulary_pb2
from seinhuis.vocabulary import IdentifierKind


class _NoNameContext:
    """A context whose verified peer carried no common name."""

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}


class _Untouchable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the domain was called ({name}) for an unknown caller")


def test_a_caller_without_a_common_name_is_unauthenticated() -> None:
    """No certificate CN means UNAUTHENTICATED before the domain is reached."""
    servicer = PseudonymServicer(_Untouchable())  # type: ignore[arg-type]
    context: Any = _NoNameContext()
    calls: list[Callable[[], object]] = [
        lambda: servicer.Evaluate(pseudonym_pb2.EvaluateRequest(), context),
        lambda: servicer.GetKeyInfo(pseudonym_pb2.GetKeyInfoRequest(), context),
        lambda: servicer.GetRekeyFactor(pseudonym_pb2.GetRekeyFactorRequest(), context),
    ]
    for call in calls:
        with pytest.raises(UnknownCaller) as info:
            call()
        assert isinstance(info.value, Unauthenticated)
        assert info.value.status == "UNAUTHENTICATED"


def test_kinds_convert_both_ways_and_unset_is_refused() -> None:
    """PERSON and ADDRESS round-trip; UNSPECIFIED and unknown numbers name the kind field."""
    for kind in IdentifierKind:
        assert serde.kind_from_proto(serde.kind_to_proto(kind)) is kind
    for bad in (vocabulary_pb2.IDENTIFIER_KIND_UNSPECIFIED, 99):
        with pytest.raises(InvalidArgument, match="kind"):
            serde.kind_from_proto(bad)  # type: ignore[arg-type]
