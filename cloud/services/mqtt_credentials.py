"""Dashboard MQTT credentials: create (shown once), list, get, revoke.

Each is a broker login (`broker_logins`, kind "dashboard") holding the organization's
dashboard role (cloud/mqttauth/roles.py): it may subscribe to the organization's status,
printer state, telemetry and events, and nothing else, and publish nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from cloud.api.listing import PageRequest
from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.ids import IdPrefix, new_id
from cloud.mqttauth.roles import dashboard_topics
from cloud.mqttauth.tables import KIND_DASHBOARD, BrokerLogin
from cloud.problems import not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.mqtt_credentials import (
    MqttCredentialCreate,
    MqttCredentialCreated,
    MqttCredentialOut,
)
from cloud.services import broker_logins, quotas
from cloud.services.context import ServiceContext

SORTABLE = ("name", "created_at")


def credential_out(row: Any) -> MqttCredentialOut:
    return MqttCredentialOut(
        id=row.id,
        name=row.name,
        username=row.id,
        topics=list(dashboard_topics(row.org_id)),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        revoked=row.revoked_at is not None,
    )


class MqttCredentialService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(BrokerLogin).c
        self.repo = OrgRepository(
            BrokerLogin, ctx.session, ctx.org_id, {k: t[k] for k in SORTABLE}, reader=ctx.reader
        )
        self._dashboards = t.kind == KIND_DASHBOARD

    async def _row(self, credential_id: str) -> BrokerLogin:
        row = await self.repo.get(credential_id)
        if row is None or row.kind != KIND_DASHBOARD:
            raise not_found("MQTT credential", credential_id)
        return row

    async def get(self, credential_id: str) -> MqttCredentialOut:
        return credential_out(await self._row(credential_id))

    async def list(
        self, req: PageRequest, *, revoked: bool | None
    ) -> tuple[list[MqttCredentialOut], int]:
        t = self.repo.table.c
        filters: list[ColumnElement[bool]] = [self._dashboards]
        if revoked is not None:
            filters.append(t.revoked_at.is_not(None) if revoked else t.revoked_at.is_(None))
        rows, total = await self.repo.page(filters, req)
        return [credential_out(r) for r in rows], total

    async def create(self, data: MqttCredentialCreate, app: CloudContext) -> MqttCredentialCreated:
        org = await self.ctx.organization()
        t = self.repo.table.c
        active = await self.repo.count(self._dashboards, t.revoked_at.is_(None))
        limit = quotas.plan_for(org.plan).dashboards
        quotas.check(active, 1, limit, "dashboard MQTT credentials", org.plan)
        login, password = broker_logins.new_login(
            self.ctx.box,
            username=new_id(IdPrefix.MQTT_CREDENTIAL),
            org_id=self.ctx.org_id,
            kind=KIND_DASHBOARD,
            name=data.name,
        )
        self.repo.add(login)
        await self.ctx.commit()
        provisioned = await broker_logins.apply_now(app)
        out = credential_out(login)
        return MqttCredentialCreated(
            **{f: getattr(out, f) for f in out.__struct_fields__},
            password=password,
            url=broker_logins.broker_url(app.settings),
            provisioned=provisioned,
        )

    async def revoke(self, credential_id: str, app: CloudContext) -> None:
        """Remove the login from the broker and close its connections. Idempotent."""
        row = await self._row(credential_id)
        if broker_logins.revoke(row):
            await self.ctx.commit()
            await broker_logins.apply_now(app)
