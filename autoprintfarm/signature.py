"""Standard Webhooks v1 signatures: the cloud signs with this, receivers verify with it.

Scheme (Standard Webhooks 1.0.0, `spec/standard-webhooks.md`): the signed content is
``{webhook-id}.{webhook-timestamp}.{body}`` over the exact body bytes sent; the signature
header is a space-separated list of ``v1,<base64 HMAC-SHA256>`` entries (several during a
key rotation). A secret written ``whsec_<base64>`` is base64-decoded to get the key; any
other secret is used as its UTF-8 bytes, so a user-chosen secret such as
``webhook_secret_key`` from the API spec still works and verifies with the reference
library when given as bytes.

Pure functions, no I/O: the SDK verifies with it (`autoprintfarm.webhooks`), and the cloud,
which installs the SDK, signs with it; one implementation for both sides.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
# The reference libraries accept a timestamp within 5 minutes of now, either way.
DEFAULT_TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The message is not authentic (bad or missing signature, or a stale timestamp)."""


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str | bytes) -> bytes:
    """The HMAC key a secret stands for."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from exc
    return secret.encode("utf-8")


def sign(secret: str | bytes, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    if "." in msg_id:
        raise ValueError("a webhook id must not contain '.' (it separates the signed parts)")
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    now_s: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise `WebhookVerificationError` unless ``headers`` carry a valid signature of ``body``.

    ``headers`` keys are matched case-insensitively (HTTP header names are).
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp_s = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    if abs(now_s - timestamp_s) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too far from now (replay?)")
    expected = sign(secret, msg_id, timestamp_s, body).encode("ascii")
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise WebhookVerificationError("no matching v1 signature")
