"""Organization settings and usage; users and invitations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select

from cloud.api.listing import PageRequest
from cloud.auth.keys import hash_secret, new_secret
from cloud.db.core import table_of
from cloud.db.models import Agent, Invitation, Job, Printer, StoredFileRow, User
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.problems import invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.repositories.jobs import ACTIVE_STATUSES
from cloud.schemas.org import (
    InvitableRole,
    InvitationOut,
    InviteIn,
    OrganizationOut,
    OrganizationPatch,
    PendingInvitationOut,
    PlanLimits,
    Role,
    Usage,
    UserOut,
)
from cloud.services import quotas
from cloud.services.context import ServiceContext

INVITATION_TTL = timedelta(days=7)
USER_SORTABLE = ("email", "name", "role", "created_at")
INVITATION_SORTABLE = ("email", "role", "created_at", "expires_at")


def pending_invitation_out(row: Any) -> PendingInvitationOut:
    return PendingInvitationOut(
        id=row.id,
        email=row.email,
        role=InvitableRole(row.role),
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def user_out(row: Any) -> UserOut:
    return UserOut(
        id=row.id, email=row.email, name=row.name, role=Role(row.role), created_at=row.created_at
    )


async def _count(ctx: ServiceContext, model: Any, *where: Any) -> int:
    table = model.__table__
    stmt = select(func.count()).select_from(table).where(table.c.org_id == ctx.org_id, *where)
    return int(await ctx.session.scalar(stmt) or 0)


async def storage_used(ctx: ServiceContext) -> int:
    table = table_of(StoredFileRow)
    stmt = select(func.coalesce(func.sum(table.c.size_bytes), 0)).where(
        table.c.org_id == ctx.org_id
    )
    return int(await ctx.session.scalar(stmt) or 0)


class OrganizationService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def get(self) -> OrganizationOut:
        org = await self.ctx.organization()
        plan = quotas.plan_for(org.plan)
        usage = Usage(
            printers=await _count(self.ctx, Printer),
            agents=await _count(self.ctx, Agent, table_of(Agent).c.revoked_at.is_(None)),
            users=await _count(self.ctx, User),
            storage_bytes=await storage_used(self.ctx),
            active_jobs=await _count(self.ctx, Job, table_of(Job).c.status.in_(ACTIVE_STATUSES)),
        )
        return OrganizationOut(
            id=org.id,
            name=org.name,
            plan=org.plan,
            limits=PlanLimits(
                printers=plan.printers,
                agents=plan.agents,
                users=plan.users,
                storage_bytes=plan.storage_bytes,
                active_jobs=plan.active_jobs,
            ),
            usage=usage,
            home_assistant_enabled=org.home_assistant_enabled,
            created_at=org.created_at,
            updated_at=org.updated_at,
        )

    async def patch(self, data: OrganizationPatch) -> OrganizationOut:
        org = await self.ctx.organization()
        changed = False
        if isinstance(data.name, str):
            org.name = data.name
            changed = True
        if isinstance(data.home_assistant_enabled, bool):
            org.home_assistant_enabled = data.home_assistant_enabled
            changed = True
        if changed:
            org.updated_at = utcnow()
            await self.ctx.commit()
        return await self.get()


class UserService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(User).c
        self.repo = OrgRepository(
            User, ctx.session, ctx.org_id, {k: t[k] for k in USER_SORTABLE}, reader=ctx.reader
        )

    async def get(self, user_id: str) -> UserOut:
        user = await self.repo.get(user_id)
        if user is None:
            raise not_found("user", user_id)
        return user_out(user)

    async def list(self, req: PageRequest, *, role: Role | None) -> tuple[list[UserOut], int]:
        filters: list[ColumnElement[bool]] = []
        if role is not None:
            filters.append(self.repo.table.c.role == role.value)
        rows, total = await self.repo.page(filters, req)
        return [user_out(r) for r in rows], total

    async def invite(self, data: InviteIn) -> InvitationOut:
        org = await self.ctx.organization()
        email = data.email.strip().lower()
        if await self.repo.count(self.repo.table.c.email == email):
            raise invalid(f"'{email}' is already a member of this organization.", param="email")
        now = utcnow()
        inv = table_of(Invitation).c
        pending = await _count(
            self.ctx, Invitation, inv.accepted_at.is_(None), inv.expires_at > now
        )
        quotas.check(
            await self.repo.count() + pending, 1, quotas.plan_for(org.plan).users, "users", org.plan
        )
        token = new_secret(prefix="inv_", length=40)
        invitation = Invitation(
            id=new_id(IdPrefix.INVITATION),
            org_id=self.ctx.org_id,
            email=email,
            role=data.role.value,
            token_hash=hash_secret(token),
            invited_by=self.ctx.principal.user_id,
            created_at=now,
            expires_at=now + INVITATION_TTL,
        )
        self.ctx.session.add(invitation)
        await self.ctx.commit()
        return InvitationOut(
            id=invitation.id,
            email=email,
            role=InvitableRole(data.role),
            token=token,
            created_at=now,
            expires_at=invitation.expires_at,
        )


class InvitationService:
    """The organization's open invitations: listed (never with their tokens) and revoked."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(Invitation).c
        self.repo = OrgRepository(
            Invitation,
            ctx.session,
            ctx.org_id,
            {k: t[k] for k in INVITATION_SORTABLE},
            reader=ctx.reader,
        )

    async def pending(self, req: PageRequest) -> tuple[list[PendingInvitationOut], int]:
        t = self.repo.table.c
        open_now = [t.accepted_at.is_(None), t.expires_at > utcnow()]
        rows, total = await self.repo.page(open_now, req)
        return [pending_invitation_out(r) for r in rows], total

    async def revoke(self, invitation_id: str) -> None:
        """Delete an invitation not accepted yet: its link and token then find nothing. One
        that was accepted, even a moment ago, is no longer an invitation (404)."""
        t = self.repo.table.c
        await self.ctx.begin_write()
        removed = await self.ctx.session.execute(
            delete(Invitation).where(
                t.org_id == self.ctx.org_id, t.id == invitation_id, t.accepted_at.is_(None)
            )
        )
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            raise not_found("invitation", invitation_id)
        await self.ctx.commit()
