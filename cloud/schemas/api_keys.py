"""API key bodies (`/v1/api-keys`): a key is listed by its prefix; the key itself is in the
answer to its creation only, and its hash never leaves the database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.auth.keys import ADMIN, ALL_SCOPES, RESOURCES
from cloud.schemas.common import Pagination

# One pattern naming every scope (cloud/auth/keys.py), so the document lists exactly what
# validation accepts.
_SCOPE_PATTERN = rf"^(?:{ADMIN}|(?:{'|'.join(RESOURCES)}):(?:read|write))$"
Scope = Annotated[str, msgspec.Meta(pattern=_SCOPE_PATTERN, examples=["printers:read"])]
Scopes = Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=4 * len(ALL_SCOPES))]
KeyName = Annotated[str, msgspec.Meta(max_length=200)]


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    # The first 12 characters of the key (`apf_` + 8), all that is kept readable.
    prefix: str
    scopes: list[str]
    # The user the key acts for (its creator; null for a key made by the operator's tools).
    user_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked: bool


API_KEY_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(ApiKeyOut))


class ApiKeyIssued(ApiKeyOut, kw_only=True):
    """Returned once, at creation: `key` is never shown again (only its hash is stored)."""

    key: str


class ApiKeyPage(msgspec.Struct, kw_only=True):
    data: list[ApiKeyOut]
    pagination: Pagination


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scopes: Scopes
    name: KeyName = ""
