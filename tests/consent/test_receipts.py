"""Receipts: signed over a context label, verified by key id, checked against the use shown."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from consent import receipts
from consent.model import Pseudonym, Purpose, Receipt
from seinhuis.crypto.keys import key_id, load_signing_key
from seinhuis.errors import ConfigError, FailedPrecondition, Unauthenticated
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, STRANGER, T0

KEY = SigningKey(bytes(range(32)))
SIGNER = receipts.Ed25519ReceiptSigner(KEY)
VERIFIER = receipts.ReceiptVerifier([KEY.verify_key])
RECEIPT = Receipt(
    receipt_id=bytes(range(16)),
    subject=ADULT,
    partner_id="ggd-amsterdam",
    partner_type=PartnerType.GGD,
    life_domain=LifeDomain.ZORGEN,
    purpose=Purpose.SIGNALERING,
    decided_at=T0,
    valid_from=T0 - dt.timedelta(days=1),
    valid_until=T0 + dt.timedelta(days=30),
    entry_id=bytes(range(16, 32)),
    key_id=key_id(bytes(KEY.verify_key)),
)
USE: dict[str, Any] = {
    "subject": ADULT,
    "partner_id": "ggd-amsterdam",
    "partner_type": PartnerType.GGD,
    "life_domain": LifeDomain.ZORGEN,
    "purpose": Purpose.SIGNALERING,
    "at": T0,
}


def test_a_signed_receipt_verifies_and_reads_back_equal() -> None:
    """What the registry signs, a verifier with its key accepts and reads back unchanged."""
    signed = SIGNER.sign(RECEIPT)
    assert VERIFIER.verify(signed.body, signed.signature, **USE) == RECEIPT


def test_an_open_ended_receipt_covers_any_later_time() -> None:
    """Without valid_until the receipt holds until a change (which Watch reports)."""
    signed = SIGNER.sign(dataclasses.replace(RECEIPT, valid_until=None))
    later = USE | {"at": T0 + dt.timedelta(days=3650)}
    assert VERIFIER.verify(signed.body, signed.signature, **later).valid_until is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, sig: (body[:-1] + bytes([body[-1] ^ 1]), sig),
        lambda body, sig: (body, sig[:-1] + bytes([sig[-1] ^ 1])),
        lambda body, sig: (body, sig[:10]),
        lambda body, sig: (b"\xff\xff\xff", sig),
        lambda body, sig: (body, KEY.sign(body).signature),
    ],
    ids=["body", "signature", "short signature", "garbage", "no context label"],
)
def test_anything_but_the_registrys_signature_is_unauthenticated(tamper: Any) -> None:
    """Every failure is one Unauthenticated with one message: it never says which check failed."""
    signed = SIGNER.sign(RECEIPT)
    body, signature = tamper(signed.body, signed.signature)
    with pytest.raises(Unauthenticated) as info:
        VERIFIER.verify(body, signature, **USE)
    assert info.value.message == "the consent receipt could not be authenticated"


def test_a_receipt_from_another_key_is_unauthenticated() -> None:
    """A key the verifier does not hold is refused, whatever the receipt says."""
    other = SigningKey(bytes(32))
    forged = receipts.Ed25519ReceiptSigner(other).sign(
        dataclasses.replace(RECEIPT, key_id=key_id(bytes(other.verify_key)))
    )
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(forged.body, forged.signature, **USE)


def test_a_verifier_holds_several_keys_for_a_rollover() -> None:
    """Receipts under the old and the new key both verify while both are configured."""
    new = SigningKey(bytes([7]) * 32)
    both = receipts.ReceiptVerifier([KEY.verify_key, new.verify_key])
    renewed = receipts.Ed25519ReceiptSigner(new).sign(
        dataclasses.replace(RECEIPT, key_id=key_id(bytes(new.verify_key)))
    )
    assert both.verify(renewed.body, renewed.signature, **USE).key_id == renewed.receipt.key_id


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("subject", STRANGER),
        ("subject", Pseudonym(ADULT.value, 2)),
        ("partner_id", "ggd-rotterdam"),
        ("partner_type", PartnerType.POLITIE),
        ("life_domain", LifeDomain.WONEN),
        ("purpose", Purpose.DISCLOSURE_TO_REGIEHOUDER),
    ],
    ids=["another person", "another key version", "partner", "category", "domain", "purpose"],
)
def test_a_genuine_receipt_shown_for_another_use_fails_the_precondition(
    name: str, value: object
) -> None:
    """The receipt covers exactly one person, partner, category, domain and purpose."""
    signed = SIGNER.sign(RECEIPT)
    with pytest.raises(FailedPrecondition, match=f"for another {name}"):
        VERIFIER.verify(signed.body, signed.signature, **(USE | {name: value}))


@pytest.mark.parametrize(
    "at",
    [T0 - dt.timedelta(days=1, seconds=1), T0 + dt.timedelta(days=30)],
    ids=["before valid_from", "at valid_until (exclusive)"],
)
def test_a_receipt_covers_only_its_window(at: dt.datetime) -> None:
    """Outside [valid_from, valid_until) the receipt does not hold."""
    signed = SIGNER.sign(RECEIPT)
    with pytest.raises(FailedPrecondition, match="does not cover that time"):
        VERIFIER.verify(signed.body, signed.signature, **(USE | {"at": at}))


def test_receipt_keys_are_their_own_kind(tmp_path: Path) -> None:
    """init-keys writes a private 0600 key that cannot be loaded as a node's signing key."""
    key = receipts.generate_keys(tmp_path)
    private = tmp_path / receipts.SIGNING_KEY_FILE
    assert private.stat().st_mode & 0o777 == 0o600
    assert receipts.load_signing_key(private) == key
    assert receipts.ReceiptVerifier.from_files([tmp_path / receipts.VERIFY_KEY_FILE])
    with pytest.raises(ConfigError, match="expected a seinhuis-signing-key"):
        load_signing_key(private)
