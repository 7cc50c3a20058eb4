"""Secrets the cloud must be able to read back, kept encrypted at rest.

What is sealed: printer connection secrets (an OctoPrint API key today) and the MQTT
passwords of agents and dashboards, which the cloud needs again to provision the broker
(a broker that lost its users gets them back from the database, docs/deploy.md).

AES-256-GCM (the `cryptography` package) with a random 96-bit nonce per value. The
associated data names what the value is for (``printer:prt_…:api_key``), so a sealed value
copied into another row or column does not open there. A sealed value reads
``v1:{key id}:{base64url(nonce | ciphertext | tag)}``; the key id (the first 8 hex digits of
the key's SHA-256) picks the key from the ring, so values sealed under an old key still open
while `apf cloud rotate-secrets` re-seals them under the current one.

The key ring: the setting ``secrets_key`` (64 hex digits, the same on every replica) and
``secrets_old_keys``; when ``secrets_key`` is unset, a key derived from the signing key
(HKDF-SHA256), which is then always in the ring, so setting ``secrets_key`` later and
rotating needs nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12
_KEY_BYTES = 32


class SealError(ValueError):
    """A sealed value that cannot be opened: unknown key, tampered, or for another place."""


class SecretsKeyError(ValueError):
    """A configured secrets key is unusable; the message names the setting."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def parse_key(text: str, setting: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise SecretsKeyError(f"{setting} must be {_KEY_BYTES * 2} hex digits") from None
    if len(key) != _KEY_BYTES:
        raise SecretsKeyError(f"{setting} must be {_KEY_BYTES * 2} hex digits, not {len(text)}")
    return key


def derive_key(signing_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"apf-secrets-v1")
    return hkdf.derive(signing_key.encode("utf-8"))


def new_key_hex() -> str:
    return secrets.token_hex(_KEY_BYTES)


class SecretBox:
    """Seal under the current key; open under any key of the ring."""

    def __init__(self, current: bytes, older: Sequence[bytes] = ()) -> None:
        self._current_id = key_id(current)
        self._ring = {key_id(k): AESGCM(k) for k in (*older, current)}

    @classmethod
    def from_settings(
        cls, secrets_key: str, old_keys: Sequence[str], signing_key: str
    ) -> SecretBox:
        derived = derive_key(signing_key)
        if not secrets_key:
            return cls(derived, [parse_key(k, "secrets_old_keys") for k in old_keys])
        older = [parse_key(k, "secrets_old_keys") for k in old_keys]
        return cls(parse_key(secrets_key, "secrets_key"), [*older, derived])

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def seal(self, plaintext: str, purpose: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._ring[self._current_id].encrypt(
            nonce, plaintext.encode("utf-8"), purpose.encode("utf-8")
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}:{self._current_id}:{body}"

    def open(self, sealed: str, purpose: str) -> str:
        try:
            version, kid, body = sealed.split(":", 2)
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise SealError("not a sealed value") from None
        aead = self._ring.get(kid)
        if version != _VERSION or aead is None:
            raise SealError(f"sealed under key {kid!r}, which is not configured")
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode("utf-8"))
        except InvalidTag:
            raise SealError(
                "sealed value does not open (tampered, or sealed for another place)"
            ) from None
        return plain.decode("utf-8")

    def is_current(self, sealed: str) -> bool:
        """Sealed under the current key (`rotate-secrets` skips these)."""
        return sealed.split(":", 2)[1:2] == [self._current_id]
