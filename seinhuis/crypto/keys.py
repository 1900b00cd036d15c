"""Key files and key ids. Keys are raw bytes, stored hex-encoded with a one-line label.

A key file reads `seinhuis-<kind> <hex>`; the label stops a sealing key being loaded as a
signing key. Private key files are written with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from seinhuis.errors import ConfigError

KEY_ID_BYTES = 8


def key_id(public_key: bytes) -> bytes:
    """Identify a public key by the first 8 bytes of its SHA-256."""
    return hashlib.sha256(public_key).digest()[:KEY_ID_BYTES]


def write_key(path: Path, kind: str, raw: bytes, *, secret: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(f"seinhuis-{kind} {raw.hex()}\n")


def read_key(path: Path, kind: str, length: int) -> bytes:
    try:
        label, _, value = path.read_text().strip().partition(" ")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read key file ({exc.strerror})") from exc
    if label != f"seinhuis-{kind}":
        raise ConfigError(f"{path}: expected a seinhuis-{kind} key, found {label or 'nothing'}")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise ConfigError(f"{path}: key is not hex") from exc
    if len(raw) != length:
        raise ConfigError(f"{path}: key must be {length} bytes, is {len(raw)}")
    return raw


def generate_signing_key(private_path: Path, public_path: Path) -> SigningKey:
    sk = SigningKey.generate()
    write_key(private_path, "signing-key", bytes(sk), secret=True)
    write_key(public_path, "verify-key", bytes(sk.verify_key), secret=False)
    return sk


def load_signing_key(path: Path) -> SigningKey:
    return SigningKey(read_key(path, "signing-key", 32))


def load_verify_key(path: Path) -> VerifyKey:
    return VerifyKey(read_key(path, "verify-key", 32))


def generate_sealing_key(private_path: Path, public_path: Path) -> PrivateKey:
    sk = PrivateKey.generate()
    write_key(private_path, "sealing-key", bytes(sk), secret=True)
    write_key(public_path, "sealing-pub", bytes(sk.public_key), secret=False)
    return sk


def load_sealing_key(path: Path) -> PrivateKey:
    return PrivateKey(read_key(path, "sealing-key", 32))


def load_sealing_public(path: Path) -> PublicKey:
    return PublicKey(read_key(path, "sealing-pub", 32))


def generate_secret(path: Path, kind: str, length: int = 32) -> bytes:
    raw = os.urandom(length)
    write_key(path, kind, raw, secret=True)
    return raw
