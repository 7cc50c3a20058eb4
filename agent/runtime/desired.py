"""The cloud's retained desired config: which printers this agent should drive.

A copy is kept in the ledger so a restart without the broker still drives the cloud's
printers. A printer this version cannot read (a newer cloud's connection kind) is left out,
and its id and reason are kept so the agent can say so in that printer's retained state.
"""

from __future__ import annotations

import logging

from agent.runtime.ledger import Ledger
from shared.version import __version__
from shared.wire import DesiredConfig, PrinterConfig, WireDecodeError, decode_config_leniently

log = logging.getLogger(__name__)


class DesiredPrinters:
    def __init__(self, agent_id: str, ledger: Ledger) -> None:
        self._agent_id = agent_id
        self._ledger = ledger
        self.config: DesiredConfig | None = None
        #: Printers of the config this version cannot read: id -> why.
        self.unreadable: dict[str, str] = {}

    @property
    def event_acks(self) -> bool:
        return self.config is not None and self.config.event_acks

    def printers(self) -> dict[str, PrinterConfig]:
        if self.config is None:
            return {}
        return {p.printer_id: p for p in self.config.printers}

    async def load(self) -> None:
        """The copy saved when the last config came in."""
        raw = await self._ledger.desired_config()
        if not raw:
            return
        try:
            self.config, unreadable = decode_config_leniently(raw)  # logged on arrival
        except WireDecodeError as exc:
            log.warning("the saved desired config is unreadable: %s", exc.reason)
            return
        self.unreadable = {p.printer_id: p.reason for p in unreadable if p.printer_id}

    async def offer(self, payload: bytes) -> bool:
        """Take a config from the broker; True when the printers to drive may have changed."""
        if not payload:
            log.info("the retained desired config was cleared; keeping the current printers")
            return False
        try:
            desired, unreadable = decode_config_leniently(payload)
        except WireDecodeError as exc:
            log.warning("ignored a malformed desired config: %s", exc.reason)
            return False
        if desired.agent_id != self._agent_id:
            log.warning("ignored a desired config for agent %s", desired.agent_id)
            return False
        current = self.config
        if current is not None and desired.revision < current.revision:
            log.info("ignored stale desired config revision %d", desired.revision)
            return False
        self.unreadable = {p.printer_id: p.reason for p in unreadable if p.printer_id}
        for printer in unreadable:
            # Most likely a newer cloud naming what this agent version does not know.
            log.error(
                "desired config revision %d: printer %s left out (agent %s cannot read it; "
                "a newer agent may): %s",
                desired.revision,
                printer.printer_id or "without an id",
                __version__,
                printer.reason,
            )
        if current == desired:
            return bool(unreadable)  # only which printers are unreadable may have changed
        await self._ledger.save_desired_config(payload)
        self.config = desired
        log.info(
            "desired config revision %d: %d printer(s)", desired.revision, len(desired.printers)
        )
        return True
