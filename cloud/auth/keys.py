"""API key material and scopes.

A key is `apf_` + 40 random base-62 characters (~238 bits). Only its SHA-256 is stored: a
key that random cannot be brute-forced from its hash, so a slow password hash would only
cost latency on every request (the same reasoning GitHub gives for its token hashing).
The first 12 characters (`apf_` + 8) are kept as the `prefix` shown in listings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass

KEY_PREFIX = "apf_"
_KEY_RANDOM_LEN = 40
PREFIX_SHOWN = 12
_ALPHABET = string.ascii_letters + string.digits

RESOURCES = (
    "printers",
    "jobs",
    "materials",
    "organization",
    "users",
    "agents",
    "analytics",
    "webhooks",
)
ADMIN = "admin"
ALL_SCOPES: tuple[str, ...] = (
    *(f"{r}:{a}" for r in RESOURCES for a in ("read", "write")),
    ADMIN,
)


def new_secret(prefix: str = KEY_PREFIX, length: int = _KEY_RANDOM_LEN) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_match(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """Scopes in a stable order; raises ValueError naming the first unknown one."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scope '{unknown[0]}'")
    return [s for s in ALL_SCOPES if s in wanted]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the organization and what the key may do."""

    org_id: str
    key_id: str
    user_id: str | None
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        if ADMIN in self.scopes or scope in self.scopes:
            return True
        # `x:write` includes `x:read`: a key that may change a thing may look at it.
        resource, _, action = scope.partition(":")
        return action == "read" and f"{resource}:write" in self.scopes
