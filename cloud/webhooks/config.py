"""Tuning of webhook delivery: one value handed to the worker (tests shrink every number)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from cloud.net import Resolver
from cloud.webhooks.schedule import RetryPolicy


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Whole-exchange budget of one attempt. Standard Webhooks recommends 15-30 s
    #: (field-notes §4.1); GitHub allows 10 s. A slow receiver should answer 2xx at once and
    #: work afterwards.
    request_timeout_s: float = 15.0
    #: Deliveries in flight at once per process (the semaphore of the dispatcher).
    max_in_flight: int = 64
    #: …and per endpoint, so one slow or hanging receiver cannot hold every slot while the
    #: other endpoints wait (head-of-line blocking).
    max_in_flight_per_endpoint: int = 8
    #: How often an idle worker looks for new events and due retries.
    poll_interval_s: float = 0.5
    #: Events fanned out per transaction, and deliveries claimed per claim.
    fanout_batch: int = 200
    #: A claimed delivery whose worker vanished is claimed again after this long.
    lease_s: float = 120.0
    #: How long after its `created_at` an event may still be committed (a transaction's
    #: length). Events this recent are re-scanned, so a slow commit is not skipped.
    commit_grace_s: float = 120.0
    #: On shutdown, in-flight attempts get this long to finish before they are abandoned
    #: (their lease is released, so the next process sends them at once).
    shutdown_timeout_s: float = 10.0
    #: The delivery log and finished deliveries are kept this long (pending ones forever),
    #: and pruned this often.
    retention_s: float = 30 * 24 * 3600.0
    prune_interval_s: float = 3600.0
    allow_private_urls: bool = False
    #: DNS resolver for the URL checks (None = the system's).
    resolver: Resolver | None = None
    #: TLS trust for receivers (None = the system's CA store), e.g. a private CA on-premise.
    ssl_context: ssl.SSLContext | None = None
