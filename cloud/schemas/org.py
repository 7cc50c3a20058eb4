"""Organization, user and invitation bodies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from cloud.schemas.common import Name, Pagination

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        # Documented without NUL, which is refused for all text first (cloud/api/text.py).
        extra_json_schema={"pattern": r"^[^@\s\u0000]+@[^@\s\u0000]+$"},
    ),
]


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class InvitableRole(StrEnum):
    """An organization has one owner, made by `apf cloud admin create-org`."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class PlanLimits(msgspec.Struct, kw_only=True):
    """`null` means unlimited."""

    printers: int | None
    agents: int | None
    users: int | None
    storage_bytes: int | None
    active_jobs: int | None


class Usage(msgspec.Struct, kw_only=True):
    printers: int
    agents: int
    users: int
    storage_bytes: int
    active_jobs: int


class OrganizationOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    plan: str
    limits: PlanLimits
    usage: Usage
    # The cloud publishes Home Assistant MQTT discovery for the printers (docs/home-assistant.md).
    home_assistant_enabled: bool
    created_at: datetime
    updated_at: datetime


class OrganizationPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    home_assistant_enabled: bool | msgspec.UnsetType = msgspec.UNSET


class UserOut(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    role: Role
    created_at: datetime


USER_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(UserOut))


class UserPage(msgspec.Struct, kw_only=True):
    data: list[UserOut]
    pagination: Pagination


class InviteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    role: InvitableRole = InvitableRole.MEMBER


class InvitationOut(msgspec.Struct, kw_only=True):
    """The token is returned once; send it to the invitee."""

    id: str
    email: str
    role: InvitableRole
    token: str
    created_at: datetime
    expires_at: datetime


class PendingInvitationOut(msgspec.Struct, kw_only=True):
    """An invitation not accepted yet and not expired. Its token is never shown again."""

    id: str
    email: str
    role: InvitableRole
    invited_by: str | None  # the inviting key's user (none for an organization-wide key)
    created_at: datetime
    expires_at: datetime


INVITATION_FIELDS: tuple[str, ...] = tuple(
    f.name for f in msgspec.structs.fields(PendingInvitationOut)
)


class InvitationPage(msgspec.Struct, kw_only=True):
    data: list[PendingInvitationOut]
    pagination: Pagination


class InvitationAcceptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the invitee sends: the token from the invitation, and a display name."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """A new API key; `key` is shown this once (only its hash is stored)."""

    id: str
    prefix: str
    key: str
    scopes: list[str]


class InvitationAccepted(msgspec.Struct, kw_only=True):
    organization_id: str
    user: UserOut
    api_key: ApiKeyCreated
