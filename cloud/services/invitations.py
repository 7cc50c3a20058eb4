"""Accepting an invitation: the invitee becomes a user and gets an API key, once.

The caller has no API key yet: the invitation's token is the credential. A token is good for
one acceptance before it expires (7 days, `INVITATION_TTL`); the acceptance marks it used
with a conditional update, so two concurrent acceptances (on any replica) cannot both win.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.keys import ALL_SCOPES, RESOURCES, hash_secret
from cloud.db.core import table_of
from cloud.db.models import Invitation, User
from cloud.db.types import utcnow
from cloud.db.writer import WriteLock
from cloud.ids import IdPrefix, new_id
from cloud.problems import Conflict, Problem, invalid
from cloud.schemas.org import ApiKeyCreated, InvitationAccepted, InvitationAcceptIn
from cloud.services.admin import new_api_key
from cloud.services.org import user_out
from shared.enums import ErrorCode

_READ_ALL = [f"{r}:read" for r in RESOURCES]
# What each role's key may do. Roles are not checked per request (keys carry scopes), so the
# role decides the scopes of the key made at acceptance; an admin can mint narrower keys
# later. Members run the farm (printers, jobs, spools); viewers only look.
ROLE_SCOPES: dict[str, list[str]] = {
    "admin": list(ALL_SCOPES),
    "member": [
        s
        for s in ALL_SCOPES
        if s in _READ_ALL or s in ("printers:write", "jobs:write", "materials:write")
    ],
    "viewer": [s for s in ALL_SCOPES if s in _READ_ALL],
}


def _conflict(message: str) -> Problem:
    return Conflict(ErrorCode.INVALID_REQUEST, message, param="token")


async def accept_invitation(
    session: AsyncSession, write_lock: WriteLock, data: InvitationAcceptIn
) -> InvitationAccepted:
    """Create the invited user and its first API key; the invitation is then used up."""
    inv_table = table_of(Invitation)
    stmt = select(Invitation).where(inv_table.c.token_hash == hash_secret(data.token.strip()))
    invitation = (await session.execute(stmt)).scalar()
    if invitation is None:
        raise Problem(ErrorCode.RESOURCE_NOT_FOUND, "No invitation with this token.", param="token")
    if invitation.accepted_at is not None:
        raise _conflict("This invitation has already been accepted.")
    now = utcnow()
    if invitation.expires_at <= now:
        raise invalid("This invitation has expired; ask for a new one.", param="token")
    # A connection is held already (the read above); the writer lock comes second, as for
    # every request (cloud.services.context).
    async with write_lock.held():
        claimed = await session.execute(
            update(inv_table)
            .where(
                inv_table.c.id == invitation.id,
                inv_table.c.accepted_at.is_(None),
                inv_table.c.expires_at > now,
            )
            .values(accepted_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise _conflict("This invitation has already been accepted.")
        user = User(
            id=new_id(IdPrefix.USER),
            org_id=invitation.org_id,
            email=invitation.email,
            name=data.name.strip(),
            role=invitation.role,
            created_at=now,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:  # the unique (org, email): another invitation got there first
            email = user.email  # read before the rollback expires the loaded rows
            await session.rollback()
            raise _conflict(f"'{email}' is already a member.") from None
        scopes = ROLE_SCOPES.get(invitation.role, ROLE_SCOPES["viewer"])
        key, secret = new_api_key(
            invitation.org_id, scopes=scopes, user_id=user.id, name="invitation"
        )
        session.add(key)
        await session.commit()
    return InvitationAccepted(
        organization_id=invitation.org_id,
        user=user_out(user),
        api_key=ApiKeyCreated(id=key.id, prefix=key.prefix, key=secret, scopes=list(scopes)),
    )
