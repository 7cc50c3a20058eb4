"""docs/monitoring.md's alert rules and the Grafana dashboard only use series that exist.

Every `apf_*` name in an alert expression or a dashboard query must be one the agent
(agent/runtime/metrics.py) or the cloud (cloud/metrics/series.py) exports; a renamed series
would otherwise leave a rule that never fires and a panel that stays empty. The YAML block
is read with a regex (PyYAML is not a dependency).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.drivers.base import LinkCounts
from agent.runtime.metrics import SERIES, PrinterReading, Reading, render
from agent.sync.outbox import Backlog
from shared.enums import PrinterStatus

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = DOCS / "monitoring.md"
DASHBOARD = DOCS / "grafana" / "autoprintfarm.json"

_NAME = re.compile(r"\b(?:apf|process)_[a-z0-9_]+")
# A histogram is queried through its parts.
_HISTOGRAM_PART = re.compile(r"_(?:bucket|sum|count)$")


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def alert_rules_yaml() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", _section("Alert rules"), re.DOTALL)
    assert len(blocks) == 1, "one YAML block of rules under ## Alert rules"
    return str(blocks[0])


def alert_expressions() -> list[str]:
    """Each rule's `expr:`, one-line or a `|` block (the lines indented deeper than it)."""
    lines = alert_rules_yaml().splitlines()
    expressions: list[str] = []
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if match is None:
            continue
        indent, value = len(match.group(1)), match.group(2)
        if value not in ("|", ">"):
            expressions.append(value)
            continue
        body = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following.strip())
        expressions.append(" ".join(body))
    return expressions


def dashboard_queries() -> list[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query", "definition") and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(json.loads(DASHBOARD.read_text())))


def agent_names() -> set[str]:
    """What a scrape of an agent with a serial printer shows, the process's series too."""
    reading = Reading(
        printers=[PrinterReading("prt_1", PrinterStatus.IDLE, LinkCounts())],
        mqtt_connected=True,
        outbox=Backlog(rows=0, oldest_created_at=None),
        now_s=0.0,
    )
    text = render(reading).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def cloud_names() -> set[str]:
    """The names a query uses for each family of the cloud's contract."""
    from cloud.metrics.series import REGISTRY, SCRAPED

    names = {gauge.name for gauge in SCRAPED}
    for family in REGISTRY.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def referenced(queries: list[str]) -> set[str]:
    return {_HISTOGRAM_PART.sub("", name) for query in queries for name in _NAME.findall(query)}


def test_the_doc_has_alert_rules_for_what_the_issue_asks() -> None:
    expressions = " ".join(alert_expressions())
    for needed in (
        'apf_printers{status="offline"}',
        'apf_agent_printer_status{status="offline"}',
        "apf_queue_depth",
        "apf_webhook_deliveries_total",
        "apf_agent_outbox_oldest_age_seconds > 600",
        "deriv(apf_agent_outbox_depth",
    ):
        assert needed in expressions


def test_the_dashboard_is_a_grafana_dashboard_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert [t["expr"] for t in panel["targets"]], panel["title"]


@pytest.mark.parametrize(
    ("where", "queries"),
    [("alert rules", alert_expressions()), ("dashboard", dashboard_queries())],
)
def test_every_series_used_exists(where: str, queries: list[str]) -> None:
    known = agent_names() | cloud_names()
    used = referenced(queries)
    assert used, f"no series found in the {where}"
    assert used - known == set(), f"the {where} use series nobody exports"


def test_the_agent_section_lists_every_agent_series() -> None:
    section = _section("Agent")
    assert [name for name in SERIES if f"`{name}`" not in section] == []
