"""The agent's Prometheus metrics, read from its live objects when Prometheus scrapes.

Contract (docs/monitoring.md, "Agent"; the Grafana dashboard and the alert rules there use
these names, and tests/shared/test_monitoring_doc.py checks them against `SERIES`):

- ``apf_agent_lines_sent_total{printer}``, ``apf_agent_resends_total{printer}``,
  ``apf_agent_timeouts_total{printer}``: counters of each serial printer's link, kept by the
  host protocol (`agent.serial.protocol.HostProtocol`) and summed over reconnects by the
  supervisor. Printers whose host streams the G-code (OctoPrint, Klipper, PrusaLink, Bambu
  Lab) have none.
- ``apf_agent_printer_status{printer,status}``: 1 for the printer's current status, 0 for
  every other `PrinterStatus`, for every printer the agent supervises.
- ``apf_agent_outbox_depth``, ``apf_agent_outbox_oldest_age_seconds``: rows the outbox
  still holds and the age of the oldest (0 when empty), counted in the database.
- ``apf_agent_mqtt_connected``: 1 while the MQTT link is up.
- ``process_*`` from prometheus_client's process collector (CPU seconds, resident memory).

Nothing is kept between scrapes: each one takes a `Reading` of the agent (one query for the
outbox, the rest from memory, in one turn of the event loop) and renders it, so a series can
never disagree with the state it describes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from agent.drivers.base import LinkCounts
from agent.sync.outbox import Backlog
from shared.enums import PrinterStatus

# The text format `generate_latest` writes (prometheus_client names the constant only from
# 0.22 on, and there CONTENT_TYPE_LATEST means another version of the format).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Every series this module exposes (the agent's own; ``process_*`` come from the library).
SERIES = (
    "apf_agent_lines_sent_total",
    "apf_agent_resends_total",
    "apf_agent_timeouts_total",
    "apf_agent_printer_status",
    "apf_agent_outbox_depth",
    "apf_agent_outbox_oldest_age_seconds",
    "apf_agent_mqtt_connected",
)


class PrinterView(Protocol):
    """What the metrics read of a printer (a `PrinterSupervisor`)."""

    @property
    def printer_id(self) -> str: ...

    @property
    def status(self) -> PrinterStatus: ...

    @property
    def link_counts(self) -> LinkCounts | None: ...


class BacklogSource(Protocol):
    async def backlog(self) -> Backlog: ...


@dataclass(frozen=True, slots=True)
class PrinterReading:
    printer_id: str
    status: PrinterStatus
    link: LinkCounts | None  # None: not a serial printer


@dataclass(frozen=True, slots=True)
class Reading:
    """The agent as one scrape sees it."""

    printers: Sequence[PrinterReading]
    mqtt_connected: bool
    outbox: Backlog
    now_s: float  # wall clock, the outbox's `created_at` clock


class _ReadingCollector:
    def __init__(self, reading: Reading) -> None:
        self._reading = reading

    def collect(self) -> Iterator[Metric]:
        reading = self._reading
        yield from _link_metrics(reading.printers)
        status = GaugeMetricFamily(
            "apf_agent_printer_status",
            "1 for the printer's current status, 0 for the others.",
            labels=["printer", "status"],
        )
        for printer in reading.printers:
            for candidate in PrinterStatus:
                is_it = 1.0 if candidate is printer.status else 0.0
                status.add_metric([printer.printer_id, candidate.value], is_it)
        yield status
        backlog = reading.outbox
        yield GaugeMetricFamily(
            "apf_agent_outbox_depth",
            "Rows in the outbox not yet delivered (events: not yet applied by the cloud).",
            value=backlog.rows,
        )
        oldest = backlog.oldest_created_at
        # A clock stepped back (NTP on a Pi without an RTC) must not give a negative age.
        age_s = 0.0 if oldest is None else max(0.0, reading.now_s - oldest)
        yield GaugeMetricFamily(
            "apf_agent_outbox_oldest_age_seconds",
            "Age of the oldest row in the outbox; 0 when it is empty.",
            value=age_s,
        )
        yield GaugeMetricFamily(
            "apf_agent_mqtt_connected",
            "1 while the agent's MQTT link to the broker is up.",
            value=1.0 if reading.mqtt_connected else 0.0,
        )


def _link_metrics(printers: Iterable[PrinterReading]) -> Iterator[Metric]:
    lines = CounterMetricFamily(
        "apf_agent_lines_sent",
        "G-code lines sent to a serial printer (new lines; resent ones are not counted).",
        labels=["printer"],
    )
    resends = CounterMetricFamily(
        "apf_agent_resends",
        "Resend requests from a serial printer that the agent acted on.",
        labels=["printer"],
    )
    timeouts = CounterMetricFamily(
        "apf_agent_timeouts",
        "Waits for a serial printer's ok that ran out (each probed, resent or failed).",
        labels=["printer"],
    )
    for printer in printers:
        if printer.link is None:
            continue
        lines.add_metric([printer.printer_id], printer.link.lines_sent)
        resends.add_metric([printer.printer_id], printer.link.resends)
        timeouts.add_metric([printer.printer_id], printer.link.timeouts)
    yield from (lines, resends, timeouts)


# One for the agent's life: it only reads /proc/self when collected.
_PROCESS = ProcessCollector(registry=None)


def render(reading: Reading) -> bytes:
    """The exposition text of one reading, with the process's CPU and memory."""
    registry = CollectorRegistry()
    registry.register(_ReadingCollector(reading))
    registry.register(_PROCESS)
    return generate_latest(registry)


class AgentMetrics:
    """Takes a `Reading` of the live agent on each scrape; holds no state of its own."""

    def __init__(
        self,
        *,
        printers: Callable[[], Iterable[PrinterView]],
        mqtt_connected: Callable[[], bool],
        outbox: BacklogSource,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._printers = printers
        self._mqtt_connected = mqtt_connected
        self._outbox = outbox
        self._clock = clock

    async def read(self) -> Reading:
        backlog = await self._outbox.backlog()
        # From here on nothing awaits: the printers and the link are read in one step.
        return Reading(
            printers=[
                PrinterReading(p.printer_id, p.status, p.link_counts) for p in self._printers()
            ],
            mqtt_connected=self._mqtt_connected(),
            outbox=backlog,
            now_s=self._clock(),
        )

    async def render(self) -> bytes:
        return render(await self.read())
