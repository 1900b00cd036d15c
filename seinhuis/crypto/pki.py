"""A small development certificate authority for the demo and the tests (never production).

Issues ECDSA P-256 certificates: a CA, servers (with SANs for loopback) and clients whose
subject common name is the partner id the hub checks against its registry.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seinhuis.transport import TlsFiles

_PEM = serialization.Encoding.PEM


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@dataclass
class DevCA:
    """A CA whose key lives in a folder as ca.crt and ca.key."""

    directory: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @classmethod
    def create(cls, directory: Path, *, name: str = "Seinhuis development CA") -> DevCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.crt").write_bytes(cert.public_bytes(_PEM))
        _write_private(directory / "ca.key", key)
        return cls(directory=directory, cert=cert, key=key)

    @classmethod
    def load(cls, directory: Path) -> DevCA:
        cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(directory=directory, cert=cert, key=key)

    def issue(
        self,
        directory: Path,
        common_name: str,
        *,
        server: bool = False,
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
        stem: str = "tls",
    ) -> TlsFiles:
        """Write <stem>.crt and <stem>.key for common_name; servers get loopback SANs."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - dt.timedelta(minutes=5))
            .not_valid_after(valid_until or now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        names: list[x509.GeneralName] = [x509.DNSName(common_name)]
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
            names += [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return self._write(directory, stem, cert, key)

    def issue_server(
        self,
        directory: Path,
        common_name: str,
        hosts: Sequence[str],
        *,
        stem: str = "tls",
        valid_until: dt.datetime | None = None,
    ) -> TlsFiles:
        """Write <stem>.crt and <stem>.key for a server known by `hosts` (DNS names or IP
        addresses, the subject alternative names). Server use only: the certificate cannot
        authenticate a client to any service of the network."""
        if not hosts:
            raise ValueError("a server certificate needs at least one host name or address")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(valid_until or now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return self._write(directory, stem, cert, key)

    def _write(
        self, directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
    ) -> TlsFiles:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{stem}.crt").write_bytes(cert.public_bytes(_PEM))
        _write_private(directory / f"{stem}.key", key)
        return TlsFiles(
            ca_cert=self.cert_path, cert=directory / f"{stem}.crt", key=directory / f"{stem}.key"
        )
