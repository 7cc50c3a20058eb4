"""Throwaway printer certificates for the simulator and its tests.

A real printer presents a self-signed chain: a CA with issuer `C=CN, O=BBL Technologies
Co., Ltd, CN=BBL CA` and a leaf whose CN is the printer's serial, RSA-2048, both sent in
the handshake (README fact 1, from bambu-rs docs/protocol.md §TLS). We make the same
names. Two differences: the real leaf is X.509 v1 while `cryptography` writes v3, and the
CA is ours, so Bambu Studio (which ships Bambu's CA) will not trust it; LAN clients that
skip verification (the agent pins a fingerprint instead) cannot tell.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BBL Technologies Co., Ltd"),
        x509.NameAttribute(NameOID.COMMON_NAME, "BBL CA"),
    ]
)
_VALID_DAYS = 3650


def make_printer_certificate(serial: str, directory: Path) -> tuple[Path, Path]:
    """Write `{serial}.crt` (PEM chain: leaf, then CA) and `{serial}.key` (the leaf's
    PEM key, unencrypted) into `directory`; return their paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = (
        _builder(CA_NAME, CA_NAME, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, serial)])
    leaf_cert = _builder(leaf_name, CA_NAME, leaf_key.public_key(), now).sign(
        ca_key, hashes.SHA256()
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{serial}.crt"
    key_path = directory / f"{serial}.key"
    cert_path.write_bytes(
        leaf_cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context with the printer's TLS: 1.2 only, ECDHE-RSA-AES256-GCM-SHA384
    (README fact 1), so a client that insists on TLS 1.3 fails here as it would there."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    context.load_cert_chain(cert, key)
    return context


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
    )
