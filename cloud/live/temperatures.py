"""`GET /dashboard/api/printers/{printer_id}/temperatures`: a printer's recent temperatures,
from this process's history (cloud/live/history.py), for the Printer page's chart.

    {"fields": ["ts", "hotend", "hotend_target", "bed", "bed_target", "chamber"],
     "samples": [[1767607800.5, 214.9, 215.0, 60.1, 60.0, null], …]}

Oldest first; `ts` in Unix seconds (when this process received it), temperatures in °C to a
tenth, null where the printer reports none. `minutes` (1–30, default 30) says how far back.
The caller needs `printers:read`, and the printer must be its organization's (404 otherwise,
as for `/v1/printers/{id}`). Not part of `/v1` nor of its OpenAPI document: it serves the
dashboard, and its answer depends on the process that serves it (each replica keeps its own
history, since it started).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, QueryParameter

from cloud.api.deps import Svc
from cloud.live.history import FIELDS, WINDOW_S, Sample, TemperatureHistory
from cloud.services.printers import PrinterService

TEMPERATURES_PATH: Final = "/dashboard/api/printers/{printer_id:str}/temperatures"
# Where create_app keeps the history (app.state).
HISTORY_STATE_KEY: Final = "temperature_history"

Minutes = Annotated[int, QueryParameter(ge=1, le=WINDOW_S // 60)]


class TemperaturesOut(msgspec.Struct, kw_only=True):
    fields: tuple[str, ...]
    samples: list[Sample]


@get(
    TEMPERATURES_PATH,
    opt={"scope": "printers:read"},
    include_in_schema=False,
    name="printer-temperatures",
    cache_control=CacheControlHeader(no_store=True),
)
async def printer_temperatures(
    request: Request[Any, Any, Any], svc: Svc, printer_id: FromPath[str], minutes: Minutes = 30
) -> TemperaturesOut:
    printer = await PrinterService(svc).get_row(printer_id)  # 404 for another organization's
    history: TemperatureHistory = request.app.state[HISTORY_STATE_KEY]
    since = time.time() - minutes * 60
    return TemperaturesOut(fields=FIELDS, samples=history.samples(svc.org_id, printer.id, since))
