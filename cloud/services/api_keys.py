"""API keys of the organization: list, create (the key shown once), revoke.

Keys are made as `create_org` and invitations make them (`cloud.services.admin.new_api_key`:
a random secret, only its SHA-256 stored). Revoking sets `revoked_at`; the caller's process
then drops the key from its caches (the key resolver's and the dashboard sessions'), which
the controller does, since they belong to the app rather than to a request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from cloud.api.listing import PageRequest
from cloud.auth.keys import ADMIN, validate_scopes
from cloud.db.core import table_of
from cloud.db.models import ApiKey, Organization
from cloud.db.types import utcnow
from cloud.problems import Conflict, invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.api_keys import ApiKeyCreate, ApiKeyIssued, ApiKeyOut
from cloud.services.admin import new_api_key
from cloud.services.context import ServiceContext
from shared.enums import ErrorCode

SORTABLE = ("name", "created_at", "last_used_at")


def key_out(row: Any) -> ApiKeyOut:
    """The listed form: never the key, never its hash."""
    return ApiKeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        user_id=row.user_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked=row.revoked_at is not None,
    )


class ApiKeyService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(ApiKey).c
        self.repo = OrgRepository(
            ApiKey, ctx.session, ctx.org_id, {k: t[k] for k in SORTABLE}, reader=ctx.reader
        )

    async def list(self, req: PageRequest, *, revoked: bool | None) -> tuple[list[ApiKeyOut], int]:
        t = self.repo.table.c
        filters: list[ColumnElement[bool]] = []
        if revoked is not None:
            filters.append(t.revoked_at.is_not(None) if revoked else t.revoked_at.is_(None))
        rows, total = await self.repo.page(filters, req)
        return [key_out(r) for r in rows], total

    async def create(self, data: ApiKeyCreate) -> ApiKeyIssued:
        try:
            scopes = validate_scopes(data.scopes)
        except ValueError as exc:  # the schema's pattern catches these first
            raise invalid(f"{exc}.", param="scopes") from None
        await self.ctx.organization()  # a key that outlived its organization mints nothing
        row, secret = new_api_key(
            self.ctx.org_id, scopes=scopes, user_id=self.ctx.principal.user_id, name=data.name
        )
        self.repo.add(row)
        await self.ctx.commit()
        out = key_out(row)
        return ApiKeyIssued(**{f: getattr(out, f) for f in out.__struct_fields__}, key=secret)

    async def revoke(self, key_id: str) -> None:
        """Revoke the key (a revoked key stays as it was: idempotent). The
        organization's last admin key is kept: without one nobody could mint keys again."""
        await self.ctx.begin_write()
        # The organization's row, locked (PostgreSQL; SQLite has one writer anyway): two
        # revocations of the last two admin keys must not both see the other one alive.
        orgs = table_of(Organization)
        await self.ctx.session.execute(
            select(orgs.c.id).where(orgs.c.id == self.ctx.org_id).with_for_update()
        )
        row = await self.repo.get(key_id)
        if row is None:
            raise not_found("API key", key_id)
        if row.revoked_at is not None:
            return
        if ADMIN in row.scopes and await self._live_admin_keys() <= 1:
            raise Conflict(
                ErrorCode.INVALID_REQUEST,
                "This is the organization's last admin key: create another admin key "
                "before revoking it.",
                param="id",
            )
        row.revoked_at = utcnow()
        await self.ctx.commit()

    async def _live_admin_keys(self) -> int:
        t = self.repo.table.c
        stmt = select(t.scopes).where(t.org_id == self.ctx.org_id, t.revoked_at.is_(None))
        # Scopes are a JSON list, queried alike on both databases by reading them: an
        # organization has a handful of keys.
        return sum(ADMIN in scopes for scopes in (await self.ctx.session.scalars(stmt)))
