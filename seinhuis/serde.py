"""Shared proto <-> domain conversions: the vocabulary enums and calendar dates.

A proto enum value name is its domain member name with the enum's prefix in front
(SIGNAL_TYPE_HUURACHTERSTAND <-> SignalType.HUURACHTERSTAND); the prefix is read from the
enum's UNSPECIFIED value, so one pair of functions serves every vocabulary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, TypeVar, cast

from seinhuis.errors import InvalidArgument
from seinhuis.v1 import vocabulary_pb2

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

E = TypeVar("E", bound=Enum)
V = TypeVar("V", bound=int)

_UNSPECIFIED = "UNSPECIFIED"


def _prefix(pb_enum: _EnumTypeWrapper[V]) -> str:
    """The value-name prefix of a proto enum, e.g. 'SIGNAL_TYPE_'."""
    zero = pb_enum.DESCRIPTOR.values_by_number[0].name
    if not zero.endswith(_UNSPECIFIED):
        raise TypeError(f"{pb_enum.DESCRIPTOR.full_name} has no *_UNSPECIFIED zero value")
    return zero[: -len(_UNSPECIFIED)]


# Conversions sit on the hub's hot path: build each number <-> member table once.
_FROM_PROTO: dict[tuple[object, object], dict[int, Enum]] = {}
_TO_PROTO: dict[tuple[object, object], dict[Enum, int]] = {}


def _from_table(domain_enum: type[E], pb_enum: _EnumTypeWrapper[V]) -> dict[int, Enum]:
    table = _FROM_PROTO.get((domain_enum, pb_enum))
    if table is None:
        prefix = _prefix(pb_enum)
        table = {
            v.number: domain_enum[v.name[len(prefix) :]]
            for v in pb_enum.DESCRIPTOR.values
            if v.number != 0 and v.name[len(prefix) :] in domain_enum.__members__
        }
        _FROM_PROTO[(domain_enum, pb_enum)] = table
    return table


def enum_to_proto(value: Enum, pb_enum: _EnumTypeWrapper[V]) -> V:
    """The proto number of a domain enum member (matched by name)."""
    table = _TO_PROTO.get((type(value), pb_enum))
    if table is None:
        prefix = _prefix(pb_enum)
        table = {m: pb_enum.Value(prefix + m.name) for m in type(value)}
        _TO_PROTO[(type(value), pb_enum)] = table
    return cast(V, table[value])


def enum_from_proto(
    number: int, domain_enum: type[E], pb_enum: _EnumTypeWrapper[V], field: str
) -> E:
    """The domain member for a proto number; unknown or UNSPECIFIED raise InvalidArgument."""
    member = _from_table(domain_enum, pb_enum).get(number)
    if member is not None:
        return cast(E, member)
    described = pb_enum.DESCRIPTOR.values_by_number.get(number)
    if described is None or number == 0:
        raise InvalidArgument(f"unknown or unspecified value {number}", field=field)
    # The proto enum grew a value the domain does not know yet: refuse, never guess.
    raise InvalidArgument(f"unsupported value {described.name}", field=field)


def enum_reader(
    domain_enum: type[E], pb_enum: _EnumTypeWrapper[V], field: str
) -> Callable[[int], E]:
    """enum_from_proto for one enum and field, with its table bound: for hot paths."""
    get = _from_table(domain_enum, pb_enum).get

    def read(number: int) -> E:
        member = get(number)
        if member is not None:
            return cast(E, member)
        return enum_from_proto(number, domain_enum, pb_enum, field)  # raises, naming the value

    return read


def date_to_proto(d: dt.date) -> vocabulary_pb2.Date:
    """A calendar date as a proto Date."""
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def date_from_proto(msg: vocabulary_pb2.Date, field: str) -> dt.date:
    """A proto Date as a calendar date; a missing or impossible date raises InvalidArgument."""
    if msg.year == 0 and msg.month == 0 and msg.day == 0:
        raise InvalidArgument("required", field=field)
    try:
        return dt.date(msg.year, msg.month, msg.day)
    except (ValueError, OverflowError):
        raise InvalidArgument(
            f"not a valid date ({msg.year:04d}-{msg.month:02d}-{msg.day:02d})", field=field
        ) from None
