"""A private certificate authority made by a test (openssl), and server certificates."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class TestCA:
    __test__ = False  # a helper, not a test class

    def __init__(self, folder: Path, name: str = "apf-test-ca") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.cert = folder / "ca.pem"
        self._key = folder / "ca.key"
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-keyout",
            self._key.name,
            "-out",
            self.cert.name,
            cwd=folder,
        )

    def server_cert(self, host: str = "127.0.0.1", name: str = "server") -> tuple[Path, Path]:
        """(certificate, key) for ``host`` (an IP address or a DNS name), signed by this CA."""
        key, csr, cert = (self.folder / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={host}",
            "-keyout",
            key.name,
            "-out",
            csr.name,
            cwd=self.folder,
        )
        kind = "IP" if host.replace(".", "").isdigit() or ":" in host else "DNS"
        ext = self.folder / f"{name}.ext"
        ext.write_text(f"subjectAltName={kind}:{host}\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            csr.name,
            "-CA",
            self.cert.name,
            "-CAkey",
            self._key.name,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext.name,
            "-out",
            cert.name,
            cwd=self.folder,
        )
        return cert, key
