"""The header's value, what identifies a request, and how a stored response is sealed.

A key is scoped to its organization: the same key from two organizations names two records.
The table holds only a hash of (organization, key), and the stored response is sealed under
a second hash of them, so a copy of the database does not reveal what a response carried
(an agent's MQTT password, an invitation token, a webhook secret) to someone who does not
know the key. That protection is as strong as the key is unguessable: clients should send a
random UUID, as the draft recommends.
"""

from __future__ import annotations

import hashlib
import secrets

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
_NONCE_BYTES = 16


class InvalidKeyError(ValueError):
    """The header's value is not a usable key; the message says why."""


def parse_key(raw: str) -> str:
    """The key in `Idempotency-Key: "…"` (an sf-string, as the draft defines it).

    A bare token (`Idempotency-Key: 8e03978e-…`, as Stripe-style clients send) is accepted
    too. Keys are 1–255 printable ASCII characters.
    """
    value = raw.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = _unescape(value[1:-1])
    elif '"' in value:
        raise InvalidKeyError("a quoted key must start and end with '\"'")
    if not value:
        raise InvalidKeyError("the key is empty")
    if len(value) > MAX_KEY_CHARS:
        raise InvalidKeyError(f"the key is longer than {MAX_KEY_CHARS} characters")
    if any(not 0x20 <= ord(c) <= 0x7E for c in value):
        raise InvalidKeyError("the key must be printable ASCII")
    return value


def _unescape(inner: str) -> str:
    # sf-string escapes are exactly \" and \\ (RFC 8941 §3.3.3).
    out: list[str] = []
    chars = iter(inner)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            if nxt not in ('"', "\\"):
                raise InvalidKeyError("a quoted key may escape only '\"' and '\\'")
            out.append(nxt)
        elif c == '"':
            raise InvalidKeyError("a quote inside a quoted key must be escaped")
        else:
            out.append(c)
    return "".join(out)


def _derive(purpose: bytes, org_id: str, key: str) -> bytes:
    return hashlib.sha256(purpose + b"\0" + org_id.encode() + b"\0" + key.encode()).digest()


def lookup_hash(org_id: str, key: str) -> str:
    """What the table stores for the key (never the key itself)."""
    return _derive(b"apf-idempotency-lookup-v1", org_id, key).hex()


def seal(org_id: str, key: str, body: bytes) -> bytes:
    """The response body, unreadable without the key: XOR with a SHAKE-256 keystream.

    The keystream is SHAKE-256 over a secret derived from the key and a random nonce (a
    keyed XOF, the construction KMAC standardises), so equal bodies never seal alike.
    """
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + _xor(body, _keystream(org_id, key, nonce, len(body)))


def unseal(org_id: str, key: str, sealed: bytes) -> bytes:
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return _xor(body, _keystream(org_id, key, nonce, len(body)))


def _keystream(org_id: str, key: str, nonce: bytes, length: int) -> bytes:
    secret = _derive(b"apf-idempotency-seal-v1", org_id, key)
    return hashlib.shake_256(secret + nonce).digest(length)


def _xor(data: bytes, stream: bytes) -> bytes:
    n = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


class RequestFingerprint:
    """SHA-256 over the method, the path with its query, and the body as it streams in.

    A multipart body's boundary is random per request, so a client that builds the same
    upload again (after a crash, say) sends different bytes; the boundary is replaced by a
    fixed token before hashing so the two still match.
    """

    def __init__(self, method: str, target: str, content_type: str) -> None:
        self._hash = hashlib.sha256()
        self._hash.update(f"{method.upper()} {target}\n{_media_type(content_type)}\n".encode())
        boundary = _boundary(content_type)
        self._boundary = boundary.encode("latin-1") if boundary else b""
        self._carry = b""
        self.body_bytes = 0

    def update(self, chunk: bytes) -> None:
        self.body_bytes += len(chunk)
        if not self._boundary:
            self._hash.update(chunk)
            return
        data = (self._carry + chunk).replace(self._boundary, b"\0boundary\0")
        # Keep back what could be the start of a boundary split across two chunks.
        keep = len(self._boundary) - 1
        self._hash.update(data[:-keep] if keep else data)
        self._carry = data[-keep:] if keep else b""

    def hexdigest(self) -> str:
        final = self._hash.copy()
        final.update(self._carry)
        return final.hexdigest()


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _boundary(content_type: str) -> str | None:
    if not _media_type(content_type).startswith("multipart/"):
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip().strip('"')
            return value or None
    return None
