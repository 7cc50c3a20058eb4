"""A Home Assistant button press, carried out as the API's printer action.

The press goes through `PrinterService.act`, the same rules, lifecycle and command delivery
as `POST /v1/printers/{id}/actions` with a `printers:write` key of the printer's
organization: the organization comes from the topic, which the broker lets only that
organization's logins publish (cloud/mqttauth/roles.py), and the printer must belong to it.
Nothing is done for an organization that has not turned Home Assistant on.
"""

from __future__ import annotations

import logging

from cloud.auth.keys import Principal
from cloud.context import CloudContext
from cloud.homeassistant.discovery import Press
from cloud.problems import Problem
from cloud.schemas.printers import PrinterActionIn
from cloud.services.context import ServiceContext
from cloud.services.printers import PrinterService

log = logging.getLogger(__name__)

# Shown where the API shows a key id: what asked for the action.
PRESS_KEY_ID = "home-assistant"


async def carry_out(app: CloudContext, press: Press) -> bool:
    """True when the action was recorded; a refusal is logged, never raised."""
    principal = Principal(
        org_id=press.org_id,
        key_id=PRESS_KEY_ID,
        user_id=None,
        scopes=frozenset({"printers:write"}),
    )
    svc = ServiceContext(sessions=app.background(), principal=principal, app=app)
    try:
        org = await svc.organization()
        if not org.home_assistant_enabled:
            log.info(
                "Home Assistant %s for printer %s ignored: organization %s has not enabled it",
                press.action.value,
                press.printer_id,
                press.org_id,
            )
            return False
        out = await PrinterService(svc).act(press.printer_id, PrinterActionIn(action=press.action))
    except Problem as exc:
        log.info(
            "Home Assistant %s for printer %s refused: %s (%s)",
            press.action.value,
            press.printer_id,
            exc.message,
            exc.code.value,
        )
        return False
    finally:
        await svc.close()
    log.info(
        "Home Assistant %s for printer %s: command %s", press.action.value, press.printer_id, out.id
    )
    app.kick("home assistant press")  # the command goes out on the bridge's next pass
    return True
