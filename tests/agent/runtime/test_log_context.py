"""What a printer's supervisor logs names the printer (and the agent), in JSON logs too."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

from shared.logs import JsonFormatter
from tests.agent.runtime.harness import agent_config, running_agent, serial_printer
from tests.support.broker import TestBroker


class _Seen(logging.StreamHandler[io.StringIO]):
    """Sets `reconnecting` once the supervisor says it will try the printer again."""

    def __init__(self, out: io.StringIO) -> None:
        super().__init__(out)
        self.reconnecting = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if "reconnecting" in record.getMessage():
            self.reconnecting.set()


async def test_a_printer_s_records_carry_its_id(mqtt_broker: TestBroker, tmp_path: Path) -> None:
    out = io.StringIO()
    handler = _Seen(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("agent")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    printer = serial_printer("prt_logs", "/dev/apf-no-such-port")
    config = agent_config(mqtt_broker.url, tmp_path, agent_id="agt_logs", printers=[printer])
    try:
        async with running_agent(config, connected=False):
            # The port cannot open: the supervisor logs it and schedules a reconnect.
            await asyncio.wait_for(handler.reconnecting.wait(), 20)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    about_printer = [r for r in records if r["logger"] == "agent.runtime.supervisor"]
    assert len(about_printer) >= 2, records  # the port that failed, the reconnect
    for record in about_printer:
        assert record["printer_id"] == "prt_logs", record
        assert record["agent_id"] == "agt_logs" and record["org_id"] == "org_t", record
