"""Hypothesis strategies for hostile input: any message of a descriptor, and byte mutations.

`messages(descriptor)` draws a message of that type with any subset of its fields set to
random values: unknown enum numbers, out-of-range timestamps and dates, empty, short and long
byte strings, any unicode text, nested messages a few levels deep. `mutated(raw)` flips bits,
truncates, extends or overwrites a valid serialized message.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

#: How deep nested messages go; deeper fields stay unset.
MAX_DEPTH = 4
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

#: Values a careless or hostile client is likely to send besides pure noise.
_INTERESTING_TEXT = [
    "",
    "hub",
    "school-fuzz",
    "woco-legit",
    "999990019",
    "1234 AB",
    "\x00",
    "é" * 64,
]
_INTERESTING_SIZES = [0, 1, 8, 15, 16, 17, 31, 32, 33, 64]


def _bytes() -> st.SearchStrategy[bytes]:
    sized = st.sampled_from(_INTERESTING_SIZES).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    return st.one_of(st.binary(max_size=80), sized)


def _scalar(field: Any) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(_INTERESTING_TEXT), st.text(max_size=40))
    if t == FieldDescriptor.TYPE_BYTES:
        return _bytes()
    if t == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(*_INT32))
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.one_of(st.integers(0, 40), st.integers(0, 2**32 - 1))
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.one_of(st.integers(0, 40), st.integers(0, 2**64 - 1))
    if t in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
    ):
        return st.one_of(st.integers(-40, 40), st.integers(*_INT64))
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    return st.one_of(st.integers(-40, 40), st.integers(*_INT32))  # int32, sint32, sfixed32


def _field(field: Any, depth: int) -> st.SearchStrategy[Any] | None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth >= MAX_DEPTH:
            return None
        single: st.SearchStrategy[Any] = st.deferred(
            lambda: messages(field.message_type, depth + 1)
        )
    else:
        single = _scalar(field)
    if field.is_repeated:
        return st.lists(single, max_size=3)
    return single


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    msg = cls()
    for name, value in values.items():
        field = msg.DESCRIPTOR.fields_by_name[name]
        target = getattr(msg, name) if field.type == FieldDescriptor.TYPE_MESSAGE else None
        if field.is_repeated:
            container = getattr(msg, name)
            for item in value:
                if target is not None:
                    container.add().CopyFrom(item)
                else:
                    container.append(item)
        elif target is not None:
            target.CopyFrom(value)
        else:
            setattr(msg, name, value)
    return msg


def messages(descriptor: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Any message of this type: each field set or not, to any value of its wire type."""
    cls = message_factory.GetMessageClass(descriptor)
    optional = {}
    for field in descriptor.fields:
        strategy = _field(field, depth)
        if strategy is not None:
            optional[field.name] = strategy
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


@st.composite
def mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` changed by one to three mutations; never equal to `raw`."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "truncate", "extend", "overwrite", "delete"]))
        if how == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif how == "extend":
            data += draw(st.binary(min_size=1, max_size=40))
        elif how == "overwrite" and data:
            i = draw(st.integers(0, len(data) - 1))
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[i : i + len(chunk)] = chunk
        elif data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i : i + draw(st.integers(1, 8))]
    if bytes(data) == raw:
        data += b"\x00"
    return bytes(data)
