"""The wire contract: no free text where a partner writes, generated code fresh, buf lint clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from seinhuis.v1 import consent_pb2, envelope_pb2, intake_pb2, node_pb2, pseudonym_pb2

ROOT = Path(__file__).resolve().parent.parent

#: The only string fields a partner writes: structured identifiers with a fixed pattern,
#: each validated where it enters (node.identifiers, hub registry). Never prose.
STRUCTURED_STRINGS = {
    "seinhuis.v1.Statement.sender": "partner id, [a-z0-9-]",
    "seinhuis.v1.Statement.recipient": "hub id",
    "seinhuis.v1.CheckRequest.partner_id": "partner id, [a-z0-9-]",
    "seinhuis.v1.LocalSubject.bsn": "9 digits, elfproef",
    "seinhuis.v1.LocalSubject.postcode": "1234 AB",
    "seinhuis.v1.LocalSubject.house_letter": "one letter",
    "seinhuis.v1.LocalSubject.house_number_addition": "up to 4 letters or digits",
    "seinhuis.v1.LocalPerson.bsn": "9 digits, elfproef",
    "seinhuis.v1.LocalAddress.postcode": "1234 AB",
    "seinhuis.v1.LocalAddress.house_letter": "one letter",
    "seinhuis.v1.LocalAddress.house_number_addition": "up to 4 letters or digits",
    "seinhuis.v1.SubmitSignalRequest.partner_reference": "[A-Za-z0-9._:-]{1,64}",
    "seinhuis.v1.WithdrawSignalRequest.partner_reference": "[A-Za-z0-9._:-]{1,64}",
    "seinhuis.v1.GetSignalStatusRequest.partner_reference": "[A-Za-z0-9._:-]{1,64}",
}

#: Bytes fields a partner writes: fixed-length ids, pseudonyms and group elements, or the
#: cryptographic containers that carry the messages above.
OPAQUE_BYTES = {
    "seinhuis.v1.Subject.person_pseudonym",
    "seinhuis.v1.ConsentPerson.pseudonym",
    "seinhuis.v1.Subject.address_pseudonym",
    "seinhuis.v1.Residence.person_pseudonym",
    "seinhuis.v1.Residence.address_pseudonym",
    "seinhuis.v1.Parenthood.parent_pseudonym",
    "seinhuis.v1.Parenthood.child_pseudonym",
    "seinhuis.v1.Relocation.person_pseudonym",
    "seinhuis.v1.Relocation.to_address_pseudonym",
    "seinhuis.v1.Death.person_pseudonym",
    "seinhuis.v1.Statement.id",
    "seinhuis.v1.Statement.sender_key_id",
    "seinhuis.v1.SignedStatement.statement",
    "seinhuis.v1.SignedStatement.signature",
    "seinhuis.v1.SealedEnvelope.hub_key_id",
    "seinhuis.v1.SealedEnvelope.sealed",
    "seinhuis.v1.WithdrawRequest.id",
    "seinhuis.v1.WithdrawSignalRequest.id",
    "seinhuis.v1.GetSignalStatusRequest.id",
    "seinhuis.v1.EvaluateRequest.blinded_elements",
    # The consent registry's signed receipt a consent-based signal carries (issue 5).
    "seinhuis.v1.SignedConsentReceipt.receipt",
    "seinhuis.v1.SignedConsentReceipt.signature",
}


def _partner_written_roots() -> list[Descriptor]:
    """Every request a partner (its systems or its node) sends, and what it signs."""
    roots: list[Descriptor] = [envelope_pb2.Statement.DESCRIPTOR]
    roots.append(
        consent_pb2.DESCRIPTOR.services_by_name["ConsentService"]
        .methods_by_name["Check"]
        .input_type
    )
    for module, service in (
        (node_pb2, "NodeService"),
        (intake_pb2, "IntakeService"),
        (pseudonym_pb2, "PseudonymService"),
    ):
        for method in module.DESCRIPTOR.services_by_name[service].methods:
            roots.append(method.input_type)
    return roots


def _walk(roots: list[Descriptor]) -> list[FieldDescriptor]:
    seen: set[str] = set()
    fields: list[FieldDescriptor] = []
    stack = list(roots)
    while stack:
        message = stack.pop()
        if message.full_name in seen or message.full_name.startswith("google.protobuf."):
            continue
        seen.add(message.full_name)
        for f in message.fields:
            fields.append(f)
            if f.message_type is not None:
                stack.append(f.message_type)
    return fields


def test_partner_written_messages_have_no_free_text_field() -> None:
    """Every string a partner writes is a listed structured identifier; no prose field exists."""
    strings = {
        f.full_name
        for f in _walk(_partner_written_roots())
        if f.type == FieldDescriptor.TYPE_STRING
    }
    unexpected = sorted(strings - STRUCTURED_STRINGS.keys())
    assert not unexpected, f"string fields that could carry free text: {unexpected}"


def test_partner_written_bytes_are_fixed_length_values_or_containers() -> None:
    """Every bytes field a partner writes is a listed id, pseudonym, element or crypto container."""
    blobs = {
        f.full_name for f in _walk(_partner_written_roots()) if f.type == FieldDescriptor.TYPE_BYTES
    }
    unexpected = sorted(blobs - OPAQUE_BYTES)
    assert not unexpected, f"unlisted bytes fields in partner messages: {unexpected}"


def test_the_walk_reaches_the_signal_and_local_subject() -> None:
    """The walk really covers the signal, its subject and the node's raw identifiers."""
    names = {f.containing_type.full_name for f in _walk(_partner_written_roots())}
    assert {"seinhuis.v1.Signal", "seinhuis.v1.Subject", "seinhuis.v1.LocalSubject"} <= names


def test_committed_generated_code_is_fresh() -> None:
    """The generated package equals what `make proto` makes from proto/ now."""
    result = subprocess.run(
        [sys.executable, "scripts/protoc.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_lint_passes() -> None:
    """The .proto files follow the Buf style guide."""
    buf = Path(sys.executable).parent / "buf"
    result = subprocess.run(
        [str(buf), "lint", "proto"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
