"""Every series the cloud exports: the contract dashboards and alert rules read.

The names are fixed (a Grafana dashboard and alert rules outside this module use them): add
a series here and to docs/monitoring.md, never rename one. Two kinds:

- counted by each process (HTTP, bridge, webhooks, the connection pool): the
  prometheus-client metrics below. With several workers (multiprocess mode,
  cloud.metrics.multiproc) each process writes its values to files in a shared directory and
  every scrape sums them, so totals never depend on which worker answers;
- read from the database when scraped (printers, jobs, the queue, webhook retries): the
  same whichever process asks, so they are never summed over processes. `SCRAPED` names
  them; cloud.metrics.domain computes them.

Instrumented code calls the small functions at the end (one line at each place).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

from cloud.metrics.multiproc import MULTIPROC_ENV
from shared.enums import JobStatus, PrinterStatus

# prometheus-client picks per-process files or in-memory values when it is first imported.
# Imported before `apf cloud serve` set the directory, every value would stay in this
# process and a scrape would report one worker's share: refuse to start instead.
if os.environ.get(MULTIPROC_ENV) and values.ValueClass is values.MutexValue:
    raise RuntimeError(
        f"prometheus_client was imported before {MULTIPROC_ENV} was set: "
        "metrics of several worker processes would not add up"
    )

# Without multiprocess mode (tests, an app served by other means) the values live here, not
# in prometheus-client's global registry: its default process and GC collectors are not part
# of the contract, and other parts (the agent) may use the global one in the same process.
REGISTRY: Final = CollectorRegistry(auto_describe=True)

# --- HTTP (cloud.metrics.http) -------------------------------------------------------------

HTTP_REQUESTS: Final = Counter(
    "apf_http_requests_total",
    "HTTP requests answered, by method, route template and status code. "
    'route="unmatched": no route matched (404, 405 on a known path).',
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION: Final = Histogram(
    "apf_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
# The label of a request no route matched (ids in unknown paths must not become labels).
UNMATCHED_ROUTE: Final = "unmatched"
# Methods named as they are; anything else (a client can send any token) is "other".
HTTP_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD: Final = "other"

# --- the MQTT bridge ------------------------------------------------------------------------


class BridgeKind(StrEnum):
    """The `kind` label: what an agent message was (cloud.bridge.inbound)."""

    STATUS = "status"
    STATE = "state"
    TELEMETRY = "telemetry"
    EVENT = "event"
    REPLY = "reply"
    # Undecodable, or on a topic the cloud does not consume: logged and skipped.
    REFUSED = "refused"


BRIDGE_MESSAGES: Final = Counter(
    "apf_bridge_messages_total",
    "Messages from agents the bridge received, by kind (refused: logged and skipped).",
    ["kind"],
    registry=REGISTRY,
)
# An agent's outbox replays hours of events after an outage: the top buckets show it.
BRIDGE_APPLY_LAG: Final = Histogram(
    "apf_bridge_apply_lag_seconds",
    "Time from a message's own timestamp (the agent's clock) to its being applied.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
    registry=REGISTRY,
)
EVENTS_APPLIED: Final = Counter(
    "apf_events_applied_total",
    "Agent events applied to the database (each event exactly once).",
    registry=REGISTRY,
)
EVENTS_DUPLICATES: Final = Counter(
    "apf_events_duplicates_total",
    "Agent events received again after they were applied, and dropped.",
    registry=REGISTRY,
)

# --- webhook delivery -----------------------------------------------------------------------

# The `outcome` label: the attempt's outcome as the delivery log records it
# (cloud.webhooks.store, `webhook_attempts.outcome`).
WEBHOOK_OUTCOMES: Final = ("succeeded", "retrying", "failed")
WEBHOOK_DELIVERIES: Final = Counter(
    "apf_webhook_deliveries_total",
    "Webhook delivery attempts recorded, by outcome: succeeded, retrying (failed, another "
    "attempt is scheduled) or failed (failed for good).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERY_SECONDS: Final = Histogram(
    "apf_webhook_delivery_seconds",
    "Duration of one webhook delivery attempt (resolve, connect, send, read the answer).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)

# --- the database pool (cloud.metrics.pool) -------------------------------------------------

# "livesum": summed over the worker processes alive now; a process that exits takes its
# share with it (cloud.metrics.multiproc).
DB_POOL_CHECKED_OUT: Final = Gauge(
    "apf_db_pool_checked_out",
    "Connections of the request engine's pool in use, summed over live worker processes.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
DB_POOL_SIZE: Final = Gauge(
    "apf_db_pool_size",
    "Size of the request engine's pool (db_pool_size), summed over live worker processes.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

# --- read from the database at scrape time (cloud.metrics.domain) ---------------------------


@dataclass(frozen=True, slots=True)
class ScrapedGauge:
    name: str
    documentation: str
    label: str | None = None
    # Label values always exported (0 when none), so a status appears before its first row.
    known: tuple[str, ...] = ()


PRINTERS: Final = ScrapedGauge(
    "apf_printers",
    "Printers registered, by status, over the whole installation.",
    "status",
    tuple(s.value for s in PrinterStatus),
)
JOBS: Final = ScrapedGauge(
    "apf_jobs",
    "Jobs, by status, over the whole installation.",
    "status",
    tuple(s.value for s in JobStatus),
)
QUEUE_DEPTH: Final = ScrapedGauge("apf_queue_depth", "Jobs queued (waiting for a printer).")
QUEUE_OLDEST_AGE: Final = ScrapedGauge(
    "apf_queue_oldest_age_seconds",
    "Age of the oldest queued job (since it was created); 0 when none is queued.",
)
WEBHOOK_RETRY_QUEUE_DEPTH: Final = ScrapedGauge(
    "apf_webhook_retry_queue_depth",
    "Webhook deliveries waiting for a retry (pending after at least one failed attempt).",
)
SCRAPED: Final = (PRINTERS, JOBS, QUEUE_DEPTH, QUEUE_OLDEST_AGE, WEBHOOK_RETRY_QUEUE_DEPTH)

# Every labelled series exists from the start at 0: `rate()` then sees the first increment.
for _kind in BridgeKind:
    BRIDGE_MESSAGES.labels(_kind.value)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(_outcome)


# --- the calls instrumented code makes ------------------------------------------------------


def bridge_received(kind: BridgeKind) -> None:
    BRIDGE_MESSAGES.labels(kind.value).inc()


def bridge_applied(timestamps: Iterable[datetime]) -> None:
    """Messages applied now, by their own timestamps. An agent's clock ahead of ours would
    give a negative lag: counted as 0."""
    now = datetime.now(UTC)
    for ts in timestamps:
        BRIDGE_APPLY_LAG.observe(max(0.0, (now - ts).total_seconds()))


def webhook_attempt_took(latency_ms: float) -> None:
    WEBHOOK_DELIVERY_SECONDS.observe(latency_ms / 1000.0)


def webhook_outcomes(outcomes: Iterable[str]) -> None:
    """Attempts whose results were committed to the delivery log."""
    for outcome in outcomes:
        WEBHOOK_DELIVERIES.labels(outcome).inc()
