"""Proto <-> domain conversions for the pseudonymisation service."""

from __future__ import annotations

from seinhuis.errors import InvalidArgument
from seinhuis.v1 import vocabulary_pb2
from seinhuis.vocabulary import IdentifierKind

_PREFIX = "IDENTIFIER_KIND_"


def kind_from_proto(value: vocabulary_pb2.IdentifierKind.ValueType) -> IdentifierKind:
    """The domain kind; unset or unknown values are refused naming the field."""
    try:
        return IdentifierKind(vocabulary_pb2.IdentifierKind.Name(value).removeprefix(_PREFIX))
    except ValueError:
        raise InvalidArgument("must be PERSON or ADDRESS", field="kind") from None


def kind_to_proto(kind: IdentifierKind) -> vocabulary_pb2.IdentifierKind.ValueType:
    return vocabulary_pb2.IdentifierKind.Value(_PREFIX + kind.value)
