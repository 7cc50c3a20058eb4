"""Fixtures for the metrics tests: the app with a metrics token, and reading a scrape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloud.settings import Settings
from tests.cloud.conftest import Api

# The webhook fixtures (a receiver, a worker on the app's database), for the counter tests.
from tests.cloud.webhooks.conftest import receiver, run_worker  # noqa: F401

TOKEN = "metrics-token-for-the-tests-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# The contract (cloud/metrics/series.py, docs/monitoring.md): every family, nothing else.
FAMILIES = {
    "apf_http_requests": "counter",
    "apf_http_request_duration_seconds": "histogram",
    "apf_printers": "gauge",
    "apf_jobs": "gauge",
    "apf_queue_depth": "gauge",
    "apf_queue_oldest_age_seconds": "gauge",
    "apf_bridge_messages": "counter",
    "apf_bridge_apply_lag_seconds": "histogram",
    "apf_events_applied": "counter",
    "apf_events_duplicates": "counter",
    "apf_webhook_deliveries": "counter",
    "apf_webhook_delivery_seconds": "histogram",
    "apf_webhook_retry_queue_depth": "gauge",
    "apf_db_pool_checked_out": "gauge",
    "apf_db_pool_size": "gauge",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The cloud package's app fixtures, with /metrics switched on."""
    return msgspec.structs.replace(settings, metrics_token=TOKEN)


@dataclass(frozen=True)
class Scrape:
    """One scrape, parsed by prometheus-client's own parser (not ours)."""

    families: dict[str, str]  # name -> type
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        families: dict[str, str] = {}
        samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return cls(families, samples)

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a series not exported (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def labels_of(self, name: str) -> list[Mapping[str, str]]:
        return [dict(ls) for (n, ls) in self.samples if n == name]


async def scrape(api: Api) -> Scrape:
    response = await api.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)
