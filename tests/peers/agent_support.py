"""An `apf agent run` config with one network printer, and its state as the cloud sees it."""

from __future__ import annotations

from pathlib import Path

from shared.enums import PrinterStatus
from shared.wire import decode_printer_state
from tests.agent.runtime.cloud import CloudStandIn

ORG = "org_t"


def write_agent_config(
    path: Path, *, broker_url: str, data_dir: Path, agent_id: str, printer_id: str, connection: str
) -> None:
    """`connection` is the printer's inline TOML table, e.g. `{ kind = "moonraker", … }`."""
    path.write_text(
        f'agent_id = "{agent_id}"\norg_id = "{ORG}"\ndata_dir = "{data_dir}"\n'
        'log_level = "INFO"\n\n'
        f'[mqtt]\nurl = "{broker_url}"\n\n'
        f'[[printers]]\nprinter_id = "{printer_id}"\nname = "Printer"\n'
        f"connection = {connection}\n"
    )


def state_is(cloud: CloudStandIn, printer_id: str, status: PrinterStatus) -> bool:
    states = cloud.on(f"printers/{printer_id}/state")
    return bool(states) and decode_printer_state(states[-1].payload).status is status
