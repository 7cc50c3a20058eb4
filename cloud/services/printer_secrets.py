"""Printer connection secrets at rest: what they are sealed for, and sealing those an
earlier version kept in plain text.

A printer's secret (its OctoPrint API key today) is sealed with `cloud.sealing` for
``printer:{id}:secret``. Before migration 0008 it was kept in plain text in
``printers.octoprint_api_key``; `seal_legacy_printer_secrets` moves every such value into
the sealed column and empties the old one. It runs when the service starts and in
`apf cloud rotate-secrets`, and is safe to run from several processes at once (each row is
moved by a conditional update).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Printer
from cloud.orchestration.db import writing

log = logging.getLogger(__name__)

_PRINTERS: Any = table_of(Printer).c


def printer_secret_purpose(printer_id: str) -> str:
    return f"printer:{printer_id}:secret"


async def seal_legacy_printer_secrets(app: CloudContext) -> int:
    box = app.secrets
    sealed = 0
    async with writing(app) as session:
        rows = (
            await session.execute(
                select(_PRINTERS.id, _PRINTERS.octoprint_api_key).where(
                    _PRINTERS.octoprint_api_key.is_not(None)
                )
            )
        ).all()
        for printer_id, plain in rows:
            result = await session.execute(
                update(_PRINTERS.id.table)
                .where(_PRINTERS.id == printer_id, _PRINTERS.octoprint_api_key == plain)
                .values(
                    connection_secret_sealed=box.seal(plain, printer_secret_purpose(printer_id)),
                    octoprint_api_key=None,
                )
            )
            sealed += result.rowcount  # type: ignore[attr-defined]
        await session.commit()
    if sealed:
        log.info("sealed %d printer keys kept in plain text by an earlier version", sealed)
    return sealed
