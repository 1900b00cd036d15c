"""Secrets in files (a session secret, an OpenID Connect client secret) and the common name of
a web server's certificate."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from seinhuis.errors import ConfigError

#: Bytes of randomness in a made secret; a secret read from a file must be this long.
SECRET_BYTES = 32


def read_secret(path: Path, key: str) -> str:
    """A secret from a file (one line); at least SECRET_BYTES characters. `key` names the
    config key that points at the file, for the error."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path} ({exc.strerror})") from exc
    if len(value) < SECRET_BYTES:
        raise ConfigError(f"{key}: {path} holds a secret that is too short")
    return value


def write_secret(path: Path) -> None:
    """A new random secret in a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(SECRET_BYTES) + "\n")


def certificate_name(path: Path, key: str) -> str:
    """The subject common name of a PEM certificate (`key`: the config key, for the error)."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot read {path}") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
