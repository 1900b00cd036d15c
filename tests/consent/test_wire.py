"""The consent wire contract: no free text anywhere, and proto enums in step with the domain."""

from __future__ import annotations

from enum import StrEnum

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from consent.model import ChangeKind, Decision, EntryState, Party, Purpose
from seinhuis.v1 import consent_pb2

#: The only strings: partner ids, validated against [a-z0-9][a-z0-9-]{1,62} where they enter.
STRUCTURED_STRINGS = {
    "seinhuis.v1.ConsentSource.partner_id",
    "seinhuis.v1.CheckRequest.partner_id",
    "seinhuis.v1.ConsentReceipt.partner_id",
}
#: The only bytes: fixed-length pseudonyms and ids, and the signed receipt container.
OPAQUE_BYTES = {
    "seinhuis.v1.ConsentPerson.pseudonym",
    "seinhuis.v1.ConsentEntry.entry_id",
    "seinhuis.v1.RevokeRequest.entry_id",
    "seinhuis.v1.ConsentReceipt.receipt_id",
    "seinhuis.v1.ConsentReceipt.entry_id",
    "seinhuis.v1.ConsentReceipt.key_id",
    "seinhuis.v1.SignedConsentReceipt.receipt",
    "seinhuis.v1.SignedConsentReceipt.signature",
}


def _fields() -> list[FieldDescriptor]:
    """Every field reachable from the service's requests and responses."""
    service = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"]
    stack: list[Descriptor] = [consent_pb2.ConsentReceipt.DESCRIPTOR]
    for method in service.methods:
        stack += [method.input_type, method.output_type]
    seen: set[str] = set()
    found: list[FieldDescriptor] = []
    while stack:
        message = stack.pop()
        if message.full_name in seen or message.full_name.startswith("google.protobuf."):
            continue
        seen.add(message.full_name)
        for f in message.fields:
            found.append(f)
            if f.message_type is not None:
                stack.append(f.message_type)
    return found


def test_no_free_text_field_exists() -> None:
    """Every string is a listed partner id; no prose can travel to or from the registry."""
    strings = {f.full_name for f in _fields() if f.type == FieldDescriptor.TYPE_STRING}
    assert strings == STRUCTURED_STRINGS


def test_bytes_are_only_pseudonyms_ids_and_signatures() -> None:
    """Every bytes field is a listed fixed-length value or the signed receipt."""
    blobs = {f.full_name for f in _fields() if f.type == FieldDescriptor.TYPE_BYTES}
    assert blobs == OPAQUE_BYTES


@pytest.mark.parametrize(
    ("domain", "proto"),
    [
        (Purpose, consent_pb2.Purpose),
        (Decision, consent_pb2.ConsentDecision),
        (EntryState, consent_pb2.ConsentEntryState),
        (Party, consent_pb2.ConsentParty),
        (ChangeKind, consent_pb2.ConsentChangeKind),
    ],
)
def test_domain_enums_and_proto_enums_have_the_same_members(
    domain: type[StrEnum], proto: EnumTypeWrapper
) -> None:
    """seinhuis.serde converts by name, so both sides list exactly the same names."""
    zero = proto.DESCRIPTOR.values_by_number[0].name
    prefix = zero.removesuffix("UNSPECIFIED")
    names = {v.name.removeprefix(prefix) for v in proto.DESCRIPTOR.values if v.number != 0}
    assert names == set(domain.__members__)
