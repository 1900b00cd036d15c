"""The Python vocabularies match the proto enums exactly, and seinhuis.serde converts both ways."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import pytest

from seinhuis import vocabulary
from seinhuis.errors import InvalidArgument
from seinhuis.serde import date_from_proto, date_to_proto, enum_from_proto, enum_to_proto
from seinhuis.v1 import vocabulary_pb2

PAIRS: list[tuple[type[Enum], Any, str]] = [
    (vocabulary.PartnerType, vocabulary_pb2.PartnerType, "PARTNER_TYPE_"),
    (vocabulary.SignalType, vocabulary_pb2.SignalType, "SIGNAL_TYPE_"),
    (vocabulary.LifeDomain, vocabulary_pb2.LifeDomain, "LIFE_DOMAIN_"),
    (vocabulary.Urgency, vocabulary_pb2.Urgency, "URGENCY_"),
    (vocabulary.LegalBasis, vocabulary_pb2.LegalBasis, "LEGAL_BASIS_"),
    (vocabulary.IdentifierKind, vocabulary_pb2.IdentifierKind, "IDENTIFIER_KIND_"),
    (vocabulary.WithdrawReason, vocabulary_pb2.WithdrawReason, "WITHDRAW_REASON_"),
]
IDS = [domain.__name__ for domain, _, _ in PAIRS]


def test_every_proto_enum_in_vocabulary_proto_has_a_python_counterpart() -> None:
    """Each enum declared in vocabulary.proto is one of the checked pairs."""
    declared = set(vocabulary_pb2.DESCRIPTOR.enum_types_by_name)
    assert declared == {domain.__name__ for domain, _, _ in PAIRS}


@pytest.mark.parametrize(("domain", "pb_enum", "prefix"), PAIRS, ids=IDS)
def test_python_members_equal_proto_values_without_prefix(
    domain: type[Enum], pb_enum: Any, prefix: str
) -> None:
    """The Python members are exactly the proto values minus the prefix and UNSPECIFIED."""
    proto_names = [v.name for v in pb_enum.DESCRIPTOR.values if v.number != 0]
    assert all(n.startswith(prefix) for n in proto_names)
    assert [n.removeprefix(prefix) for n in proto_names] == [m.name for m in domain]
    assert all(m.value == m.name for m in domain)


@pytest.mark.parametrize(("domain", "pb_enum", "prefix"), PAIRS, ids=IDS)
def test_every_member_round_trips(domain: type[Enum], pb_enum: Any, prefix: str) -> None:
    """enum_to_proto then enum_from_proto gives the member back, via the prefixed name."""
    for member in domain:
        number = enum_to_proto(member, pb_enum)
        assert pb_enum.Name(number) == prefix + member.name
        assert enum_from_proto(number, domain, pb_enum, "f") is member


@pytest.mark.parametrize("number", [0, 99, -1])
def test_unspecified_or_unknown_number_raises_invalid_argument_naming_the_field(
    number: int,
) -> None:
    """UNSPECIFIED and numbers outside the enum raise InvalidArgument naming the field."""
    with pytest.raises(InvalidArgument) as info:
        enum_from_proto(
            number, vocabulary.SignalType, vocabulary_pb2.SignalType, "signal.signal_type"
        )
    assert info.value.field == "signal.signal_type"
    assert info.value.message.startswith("signal.signal_type:")


def test_date_round_trips() -> None:
    """date_to_proto then date_from_proto gives the same calendar date."""
    day = dt.date(2026, 2, 28)
    assert date_from_proto(date_to_proto(day), "d") == day


@pytest.mark.parametrize(
    ("year", "month", "day"), [(0, 0, 0), (2026, 2, 30), (2026, 13, 1), (2026, 0, 1), (-1, 1, 1)]
)
def test_missing_or_impossible_date_raises_invalid_argument_naming_the_field(
    year: int, month: int, day: int
) -> None:
    """An unset or impossible Date raises InvalidArgument naming the field."""
    with pytest.raises(InvalidArgument) as info:
        date_from_proto(vocabulary_pb2.Date(year=year, month=month, day=day), "signal.observed_on")
    assert info.value.field == "signal.observed_on"
