"""The envelope: a Statement signed with the node's Ed25519 key and sealed to the hub's X25519 key.

The signature covers a context label and the serialized Statement, which holds the payload,
sender, recipient, time and unique id. Sealing (libsodium sealed box) hides all of it, sender
included, from anything between node and hub. Any failure to open or verify is one
Unauthenticated error: a partner never learns which check failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
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

    @property
    def sender_key_id(self) -> bytes:
        return key_id(bytes(self.signing_key.verify_key))

    @property
    def hub_key_id(self) -> bytes:
        return key_id(bytes(self.hub_public))

    def seal(self, statement: envelope_pb2.Statement) -> envelope_pb2.SealedEnvelope:
        """Sign and seal a statement whose id, payload and signed_at are already set."""
        statement.sender = self.partner_id
        statement.sender_key_id = self.sender_key_id
        statement.recipient = self.hub_id
        body = statement.SerializeToString(deterministic=True)
        signature = self.signing_key.sign(SIGNING_CONTEXT + body).signature
        signed = envelope_pb2.SignedStatement(statement=body, signature=signature)
        sealed = SealedBox(self.hub_public).encrypt(signed.SerializeToString())
        return envelope_pb2.SealedEnvelope(hub_key_id=self.hub_key_id, sealed=bytes(sealed))


@dataclass(frozen=True)
class Opened:
    """An opened envelope whose signature is not yet checked."""

    statement: envelope_pb2.Statement
    body: bytes
    signature: bytes

    def verify(self, verify_key: VerifyKey) -> None:
        try:
            verify_key.verify(SIGNING_CONTEXT + self.body, self.signature)
        except (BadSignatureError, ValueError) as exc:
            raise Unauthenticated("", detail="bad signature") from exc


class Opener:
    """The hub's side: open sealed envelopes with its X25519 key(s)."""

    def __init__(self, private_keys: list[PrivateKey]) -> None:
        self._boxes = {key_id(bytes(k.public_key)): SealedBox(k) for k in private_keys}

    def open(self, envelope: envelope_pb2.SealedEnvelope) -> Opened:
        box = self._boxes.get(bytes(envelope.hub_key_id))
        if box is None:
            raise Unauthenticated("", detail="unknown hub key id")
        try:
            plain = box.decrypt(bytes(envelope.sealed))
            signed = envelope_pb2.SignedStatement.FromString(plain)
            statement = envelope_pb2.Statement.FromString(signed.statement)
        except (CryptoError, DecodeError, ValueError) as exc:
            raise Unauthenticated("", detail="cannot open or parse envelope") from exc
        return Opened(statement=statement, body=bytes(signed.statement), signature=signed.signature)
