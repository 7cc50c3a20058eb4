"""`/v1/mqtt-credentials`: read-only MQTT logins for dashboards (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.api.deps import Svc, app_context
from cloud.api.listing import (
    DEFAULT_PER_PAGE,
    page_of,
    page_request,
    parse_fields,
    reject_unknown_query,
)
from cloud.api.openapi import IDEMPOTENCY_ERRORS, errors
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    fields_query,
    sort_query,
)
from cloud.schemas.mqtt_credentials import (
    MQTT_CREDENTIAL_FIELDS,
    MqttCredentialCreate,
    MqttCredentialCreated,
    MqttCredentialOut,
    MqttCredentialPage,
)
from cloud.services.mqtt_credentials import SORTABLE, MqttCredentialService

_LIST_QUERY = ("revoked", "page", "per_page", "sort", "fields")


class MqttCredentialController(Controller):
    path = "/v1/mqtt-credentials"
    tags = ["mqtt-credentials"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "admin"}, responses=errors())
    async def list_mqtt_credentials(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        revoked: FromQuery[bool | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(MQTT_CREDENTIAL_FIELDS)] = None,
    ) -> MqttCredentialPage:
        """List dashboard MQTT credentials. Sortable: name, created_at."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, MQTT_CREDENTIAL_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")
        items, total = await MqttCredentialService(svc).list(req, revoked=revoked)
        return page_of(MqttCredentialPage, items, wanted, req, total)

    @get("/{credential_id:str}", opt={"scope": "admin"}, responses=errors())
    async def get_mqtt_credential(
        self, svc: Svc, credential_id: FromPath[str]
    ) -> MqttCredentialOut:
        return await MqttCredentialService(svc).get(credential_id)

    @post("/", opt={"scope": "admin"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def create_mqtt_credential(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        data: JSONBody[MqttCredentialCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> MqttCredentialCreated:
        """Create an MQTT login for a dashboard: it may subscribe to this organization's
        agent status, printer state, telemetry and events, and publish nothing an agent
        reads (only Home Assistant's birth message and this organization's Home Assistant
        button presses, docs/home-assistant.md). The password is in this response only."""
        return await MqttCredentialService(svc).create(data, app_context(request))

    @delete("/{credential_id:str}", opt={"scope": "admin"}, responses=errors())
    async def delete_mqtt_credential(
        self, request: Request[Any, Any, Any], svc: Svc, credential_id: FromPath[str]
    ) -> None:
        """Revoke a dashboard credential: its broker login is removed and its connections
        closed. Idempotent."""
        await MqttCredentialService(svc).revoke(credential_id, app_context(request))
