"""`/v1/printers`: HTTP only; the rules live in `cloud.services.printers`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
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
from cloud.api.page_cache import cached_page
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    ShortQuery,
    fields_query,
    sort_query,
)
from cloud.orchestration.commands import wait_for_command, wait_for_gcode
from cloud.schemas.printers import (
    PRINTER_FIELDS,
    GcodeIn,
    GcodeOut,
    PrinterActionIn,
    PrinterActionOut,
    PrinterCreate,
    PrinterOut,
    PrinterPage,
    PrinterPatch,
)
from cloud.services.printers import SORTABLE, PrinterService
from shared.enums import PrinterStatus

_LIST_QUERY = ("status", "group", "tag", "page", "per_page", "sort", "fields")
ACTION_WAIT_S = 10.0
# Console G-code waits as long as an action; the agent allows a command 120 s (a G28 or an
# M109 takes long), after which the answer is 202 and the printer's reply is not shown.
GCODE_WAIT_S = 10.0


class PrinterController(Controller):
    path = "/v1/printers"
    tags = ["printers"]  # noqa: RUF012  (Litestar reads a plain list)
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "printers:read"}, responses=errors())
    async def list_printers(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        status: FromQuery[PrinterStatus | None] = None,
        group: ShortQuery = None,
        tag: ShortQuery = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(PRINTER_FIELDS)] = None,
    ) -> PrinterPage:
        """List printers, filtered by status, group or tag. Sortable: name, status, group,
        created_at, updated_at (default `created_at`)."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, PRINTER_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")

        async def build() -> PrinterPage:
            items, total = await PrinterService(svc).list(req, status=status, group=group, tag=tag)
            return page_of(PrinterPage, items, wanted, req, total)

        key = ("printers", svc.org_id, status, group, tag, req, wanted)
        return await cached_page(app_context(request).page_cache, key, PrinterPage, build)

    @get("/{printer_id:str}", opt={"scope": "printers:read"}, responses=errors())
    async def get_printer(self, svc: Svc, printer_id: FromPath[str]) -> PrinterOut:
        return await PrinterService(svc).get(printer_id)

    @post("/", opt={"scope": "printers:write"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def create_printer(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        data: JSONBody[PrinterCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> PrinterOut:
        """Add a printer: OctoPrint (`connection_url` http(s)://… + `api_key`) or USB serial
        (`serial:///dev/ttyACM0?baud=115200&profile=marlin` + `agent_id`)."""
        out = await PrinterService(svc).create(data)
        app_context(request).kick("printer added")
        return out

    @patch("/{printer_id:str}", opt={"scope": "printers:write"}, responses=errors())
    async def update_printer(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        printer_id: FromPath[str],
        data: JSONBody[PrinterPatch],
    ) -> PrinterOut:
        out = await PrinterService(svc).patch(printer_id, data)
        app_context(request).kick("printer changed")
        return out

    @delete(
        "/{printer_id:str}",
        opt={"scope": "printers:write"},
        responses=errors((409, "printer_busy: the printer is printing")),
    )
    async def delete_printer(
        self, request: Request[Any, Any, Any], svc: Svc, printer_id: FromPath[str]
    ) -> None:
        await PrinterService(svc).delete(printer_id)
        app_context(request).kick("printer removed")

    @post(
        "/{printer_id:str}/actions",
        opt={"scope": "printers:write"},
        status_code=202,
        responses={
            **errors((409, "printer_busy or printer_offline"), *IDEMPOTENCY_ERRORS),
            # 202 is the declared status; 200 when the agent answered in time.
            200: ResponseSpec(
                data_container=PrinterActionOut,
                description="The agent has done it (`status: ok`)",
                generate_examples=False,
            ),
        },
    )
    async def printer_action(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        printer_id: FromPath[str],
        data: JSONBody[PrinterActionIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PrinterActionOut]:
        """Pause, resume or cancel the printer's job (between two copies too), or home or cool
        down the printer, and wait (up to 10 s) for the agent's answer: 200 with `status: ok`
        once it is done; 409 `printer_busy` or `printer_offline` when the agent refuses or
        cannot be reached; 202 with `status: sent` when no answer came in time (delivery
        goes on until `expires_at`). Between copies the cloud holds, releases or cancels the
        job itself: 200 at once, `id` null."""
        out = await PrinterService(svc).act(printer_id, data)
        app = app_context(request)
        app.kick("printer action")
        if out.id is None or not app.bridge_running:
            return Response(out, status_code=200 if out.status == "ok" else 202)
        status = await wait_for_command(app, out.id, ACTION_WAIT_S)
        out.status = status
        return Response(out, status_code=200 if status == "ok" else 202)

    @post(
        "/{printer_id:str}/gcode",
        opt={"scope": "admin"},
        status_code=202,
        responses={
            **errors((409, "printer_busy or printer_offline"), *IDEMPOTENCY_ERRORS),
            # 202 is the declared status; 200 when the printer answered in time.
            200: ResponseSpec(
                data_container=GcodeOut,
                description="The printer answered (`status: ok`, its lines in `replies`)",
                generate_examples=False,
            ),
        },
    )
    async def send_gcode(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        printer_id: FromPath[str],
        data: JSONBody[GcodeIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[GcodeOut]:
        """Send raw G-code (1–50 lines) to an idle printer and wait (up to 10 s) for what it
        answers: 200 with `status: ok` and the printer's lines in `replies`; 202 with
        `status: sent` when no answer came in time (delivery goes on until `expires_at`,
        60 s); 409 `printer_busy` while the printer prints, is paused or busy, or
        `printer_offline`; the agent's refusal (a command it will not send) is answered with
        its code and message. Admin keys only."""
        out = await PrinterService(svc).send_gcode(printer_id, data)
        app = app_context(request)
        app.kick("printer gcode")
        if not app.bridge_running:
            return Response(out, status_code=202)
        out.status, out.replies = await wait_for_gcode(app, out.id, GCODE_WAIT_S)
        return Response(out, status_code=200 if out.status == "ok" else 202)
