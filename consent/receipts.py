"""Consent receipts: the registry signs what a permit vouches for; the hub and nodes verify it.

The signature is Ed25519 over a context label and the deterministically serialized
ConsentReceipt, as seinhuis.crypto.envelope does for statements, so a receipt signature can
never be taken for a signature over anything else. The receipt key is its own key kind
(`seinhuis-receipt-signing-key`), so it cannot be loaded where a node's signing key belongs.

ReceiptVerifier.verify raises Unauthenticated when the receipt is not the registry's (bad
bytes, unknown key, bad signature: one message for all), and FailedPrecondition when it is
genuine but does not cover what it is shown for (another person, partner, domain, purpose,
or a time outside its window).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

from google.protobuf.message import DecodeError
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from consent import serde
from consent.model import Pseudonym, Purpose, Receipt, SignedReceipt, require_aware
from seinhuis.crypto.keys import key_id, read_key, write_key
from seinhuis.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from seinhuis.v1 import consent_pb2
from seinhuis.vocabulary import LifeDomain, PartnerType

#: Domain separation: a receipt signature can never be taken for anything else.
SIGNING_CONTEXT = b"seinhuis.v1.ConsentReceipt\x00"
SIGNING_KEY_KIND = "receipt-signing-key"
VERIFY_KEY_KIND = "receipt-verify-key"
SIGNING_KEY_FILE = "receipt-signing.key"
VERIFY_KEY_FILE = "receipt-verify.pub"


class ReceiptUnauthenticated(Unauthenticated):
    """The receipt is not the registry's; never says which check failed."""

    fixed_message = "the consent receipt could not be authenticated"


# --- key files --------------------------------------------------------------------------------


def generate_keys(directory: Path) -> SigningKey:
    """Write a new receipt signing key (0600) and its verify key into `directory`."""
    key = SigningKey.generate()
    write_key(directory / SIGNING_KEY_FILE, SIGNING_KEY_KIND, bytes(key), secret=True)
    write_key(directory / VERIFY_KEY_FILE, VERIFY_KEY_KIND, bytes(key.verify_key), secret=False)
    return key


def load_signing_key(path: Path) -> SigningKey:
    return SigningKey(read_key(path, SIGNING_KEY_KIND, 32))


def load_verify_key(path: Path) -> VerifyKey:
    return VerifyKey(read_key(path, VERIFY_KEY_KIND, 32))


# --- signing (the registry) -------------------------------------------------------------------


class Ed25519ReceiptSigner:
    """The registry's signer (consent.model.ReceiptSigner)."""

    def __init__(self, signing_key: SigningKey) -> None:
        self._key = signing_key
        self._key_id = key_id(bytes(signing_key.verify_key))

    @property
    def key_id(self) -> bytes:
        return self._key_id

    def sign(self, receipt: Receipt) -> SignedReceipt:
        if receipt.key_id != self._key_id:
            raise ValueError("the receipt names another key")
        body = serde.receipt_to_proto(receipt).SerializeToString(deterministic=True)
        signature = self._key.sign(SIGNING_CONTEXT + body).signature
        return SignedReceipt(receipt=receipt, body=body, signature=signature)


# --- verifying (the hub, nodes) ---------------------------------------------------------------


class ReceiptVerifier:
    """Checks receipts against the registry's verify keys (several during a key rollover)."""

    def __init__(self, verify_keys: Iterable[VerifyKey]) -> None:
        self._keys: Mapping[bytes, VerifyKey] = {key_id(bytes(k)): k for k in verify_keys}
        if not self._keys:
            raise ValueError("a ReceiptVerifier needs at least one verify key")

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> ReceiptVerifier:
        """From receipt verify key files (`seinhuis consent init-keys` writes one)."""
        return cls(load_verify_key(p) for p in paths)

    def authenticate(self, receipt: bytes, signature: bytes) -> Receipt:
        """The receipt, if the registry signed these bytes; else ReceiptUnauthenticated."""
        try:
            msg = consent_pb2.ConsentReceipt.FromString(bytes(receipt))
        except DecodeError as exc:
            raise ReceiptUnauthenticated("", detail="receipt does not parse") from exc
        key = self._keys.get(bytes(msg.key_id))
        if key is None:
            raise ReceiptUnauthenticated("", detail="unknown receipt key id")
        try:
            key.verify(SIGNING_CONTEXT + bytes(receipt), bytes(signature))
        except (BadSignatureError, ValueError) as exc:
            raise ReceiptUnauthenticated("", detail="bad receipt signature") from exc
        try:
            return serde.receipt_from_proto(msg)
        except InvalidArgument as exc:
            # Signed but malformed: the registry would never sign it, so it is not its receipt.
            raise ReceiptUnauthenticated("", detail=f"malformed receipt: {exc.message}") from exc

    def verify(
        self,
        receipt: bytes,
        signature: bytes,
        *,
        subject: Pseudonym,
        partner_id: str,
        partner_type: PartnerType,
        life_domain: LifeDomain,
        purpose: Purpose,
        at: dt.datetime,
    ) -> Receipt:
        """The receipt, if genuine and covering exactly this use at `at`.

        Raises ReceiptUnauthenticated (an Unauthenticated) or FailedPrecondition naming what
        does not match.
        """
        found = self.authenticate(receipt, signature)
        at = require_aware(at, "at")
        expected = {
            "subject": (found.subject == subject),
            "partner_id": found.partner_id == partner_id,
            "partner_type": found.partner_type is partner_type,
            "life_domain": found.life_domain is life_domain,
            "purpose": found.purpose is purpose,
        }
        for name, matches in expected.items():
            if not matches:
                raise FailedPrecondition(f"the consent receipt is for another {name}")
        if at < found.valid_from or (found.valid_until is not None and at >= found.valid_until):
            raise FailedPrecondition("the consent receipt does not cover that time")
        return found
