"""Signed, expiring download URLs for agents fetching G-code (DESIGN.md: "agent ──HTTP GET
(signed URL)──▶ cloud file store").

The signature is HMAC-SHA256 over a versioned message naming the file and the expiry, so a
signature for one file or one expiry is worthless for another; it is compared in constant
time (`hmac.compare_digest`). The query string is `expires=<unix s>&signature=<base64url>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Final
from urllib.parse import urlencode

MIN_SECRET_BYTES: Final = 16
_DOMAIN: Final = b"apf-download-v1"
# Unix seconds as plain digits, no sign, no leading zero: one spelling per expiry, so the
# signed text is exactly what the verifier rebuilds.
_MAX_EXPIRES_DIGITS: Final = 12


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the download signing secret must be at least {MIN_SECRET_BYTES} bytes")


def _mac(file_id: str, expires_at_unix: int, secret: bytes) -> bytes:
    message = b"\n".join((_DOMAIN, file_id.encode("utf-8"), str(expires_at_unix).encode()))
    return hmac.new(secret, message, hashlib.sha256).digest()


def sign_download(file_id: str, expires_at_unix: int, secret: bytes) -> str:
    """The query string (without `?`) that lets its holder download `file_id` until then."""
    _check_secret(secret)
    if expires_at_unix < 0:
        raise ValueError("expires_at_unix must not be negative")
    signature = base64.urlsafe_b64encode(_mac(file_id, expires_at_unix, secret)).rstrip(b"=")
    return urlencode({"expires": str(expires_at_unix), "signature": signature.decode("ascii")})


def verify_download(
    file_id: str, expires: str | int, signature: str, secret: bytes, now: float
) -> bool:
    """True when `signature` was made for `file_id` and `expires` and `now` is before it.

    Malformed input (a non-numeric expiry, a signature that is not base64url) is simply False.
    """
    _check_secret(secret)
    expires_at = _parse_expires(expires)
    if expires_at is None or now >= expires_at:
        return False
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, _mac(file_id, expires_at, secret))


def _parse_expires(expires: str | int) -> int | None:
    if isinstance(expires, int):
        return expires if expires >= 0 else None
    if not expires.isascii() or not expires.isdigit() or len(expires) > _MAX_EXPIRES_DIGITS:
        return None
    if len(expires) > 1 and expires.startswith("0"):
        return None
    return int(expires)
