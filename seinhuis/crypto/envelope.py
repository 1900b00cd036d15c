"""The envelope: a Statement signed with the node's Ed25519 key and sealed to the hub's X25519 key.

The signature covers a context label and the serialized Statement, which holds the payload,
sender, recipient, time and unique id. Sealing (libsodium sealed box) hides all of it, sender
included, from anything between node and hub. Any failure to open or verify is one
Unauthenticated error: a partner never learns which check failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from google.protobuf.message import DecodeError
from nacl import bindings
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from seinhuis.crypto.keys import key_id
from seinhuis.errors import Unauthenticated
from seinhuis.v1 import envelope_pb2

#: Domain separation: a signature over a Statement can never be taken for anything else.
SIGNING_CONTEXT = b"seinhuis.v1.Statement\x00"


@dataclass(frozen=True)
class Sealer:
    """What a node needs to sign and seal: its key and identity, and the hub's public key."""

    partner_id: str
    signing_key: SigningKey
    hub_id: str
    hub_public: PublicKey

    # Computed once: a node seals thousands of statements a second with the same keys.
    @cached_property
    def sender_key_id(self) -> bytes:
        return key_id(bytes(self.signing_key.verify_key))

    @cached_property
    def hub_key_id(self) -> bytes:
        return key_id(bytes(self.hub_public))

    @cached_property
    def _hub_public_bytes(self) -> bytes:
        return bytes(self.hub_public)

    def seal(self, statement: envelope_pb2.Statement) -> envelope_pb2.SealedEnvelope:
        """Sign and seal a statement whose id, payload and signed_at are already set."""
        statement.sender = self.partner_id
        statement.sender_key_id = self.sender_key_id
        statement.recipient = self.hub_id
        body = statement.SerializeToString(deterministic=True)
        signature = self.signing_key.sign(SIGNING_CONTEXT + body).signature
        signed = envelope_pb2.SignedStatement(statement=body, signature=signature)
        # libsodium's crypto_box_seal, called without PyNaCl's per-call wrapper objects.
        sealed = bindings.crypto_box_seal(signed.SerializeToString(), self._hub_public_bytes)
        return envelope_pb2.SealedEnvelope(hub_key_id=self.hub_key_id, sealed=sealed)


@dataclass(frozen=True)
class Opened:
    """An opened envelope whose signature is not yet checked."""

    statement: envelope_pb2.Statement
    body: bytes
    signature: bytes

    def verify(self, verify_key: VerifyKey) -> None:
        try:
            # crypto_sign_open takes signature || message (what VerifyKey.verify builds too).
            bindings.crypto_sign_open(
                self.signature + SIGNING_CONTEXT + self.body, bytes(verify_key)
            )
        except (BadSignatureError, CryptoError, ValueError, TypeError) as exc:
            raise Unauthenticated("", detail="bad signature") from exc


class Opener:
    """The hub's side: open sealed envelopes with its X25519 key(s)."""

    def __init__(self, private_keys: list[PrivateKey]) -> None:
        self._keys = {
            key_id(bytes(k.public_key)): (bytes(k.public_key), bytes(k)) for k in private_keys
        }

    def open(self, envelope: envelope_pb2.SealedEnvelope) -> Opened:
        pair = self._keys.get(bytes(envelope.hub_key_id))
        if pair is None:
            raise Unauthenticated("", detail="unknown hub key id")
        try:
            plain = bindings.crypto_box_seal_open(bytes(envelope.sealed), *pair)
            signed = envelope_pb2.SignedStatement.FromString(plain)
            statement = envelope_pb2.Statement.FromString(signed.statement)
        except (CryptoError, DecodeError, ValueError, TypeError) as exc:
            raise Unauthenticated("", detail="cannot open or parse envelope") from exc
        return Opened(statement=statement, body=bytes(signed.statement), signature=signed.signature)
