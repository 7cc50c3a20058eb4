"""`/v1/materials`: spools (CRUD)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.api.deps import Svc
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
    ShortQuery,
    fields_query,
    sort_query,
)
from cloud.schemas.materials import (
    MATERIAL_FIELDS,
    MaterialCreate,
    MaterialOut,
    MaterialPage,
    MaterialPatch,
)
from cloud.services.materials import SORTABLE, MaterialService
from shared.enums import MaterialStatus

_LIST_QUERY = ("status", "type", "printer_id", "page", "per_page", "sort", "fields")


class MaterialController(Controller):
    path = "/v1/materials"
    tags = ["materials"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "materials:read"}, responses=errors())
    async def list_materials(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        status: FromQuery[MaterialStatus | None] = None,
        type: ShortQuery = None,
        printer_id: ShortQuery = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(MATERIAL_FIELDS)] = None,
    ) -> MaterialPage:
        """List spools. Sortable: type, brand, color, remaining_weight, status, created_at,
        updated_at."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, MATERIAL_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")
        items, total = await MaterialService(svc).list(
            req, status=status, type_=type, printer_id=printer_id
        )
        return page_of(MaterialPage, items, wanted, req, total)

    @get("/{material_id:str}", opt={"scope": "materials:read"}, responses=errors())
    async def get_material(self, svc: Svc, material_id: FromPath[str]) -> MaterialOut:
        return await MaterialService(svc).get(material_id)

    @post("/", opt={"scope": "materials:write"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def create_material(
        self,
        svc: Svc,
        data: JSONBody[MaterialCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> MaterialOut:
        """Add a spool; `remaining_weight` defaults to `spool_weight`. `status` follows the
        stock: `low` at or under `reorder_threshold`, `empty` at 0, or `archived`."""
        return await MaterialService(svc).create(data)

    @patch("/{material_id:str}", opt={"scope": "materials:write"}, responses=errors())
    async def update_material(
        self, svc: Svc, material_id: FromPath[str], data: JSONBody[MaterialPatch]
    ) -> MaterialOut:
        return await MaterialService(svc).patch(material_id, data)

    @delete("/{material_id:str}", opt={"scope": "materials:write"}, responses=errors())
    async def delete_material(self, svc: Svc, material_id: FromPath[str]) -> None:
        await MaterialService(svc).delete(material_id)
