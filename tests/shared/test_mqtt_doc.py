"""docs/mqtt.md stays true to the code: every example there decodes with its decoder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared import wire

DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
_EXAMPLE = re.compile(r"<!-- decode: (\w+) -->\n```json\n(.*?)\n```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _EXAMPLE.finditer(DOC.read_text())]


def test_the_doc_has_an_example_for_every_topic_payload() -> None:
    kinds = {kind for kind, _ in _examples()}
    assert kinds == {
        "agent_status",
        "printer_state",
        "telemetry",
        "event",
        "config",
        "command",
        "reply",
        "ack",
    }


@pytest.mark.parametrize(("kind", "payload"), _examples())
def test_every_doc_example_decodes(kind: str, payload: str) -> None:
    decode = getattr(wire, f"decode_{kind}")
    message = decode(payload.encode())
    assert message.schema_version == wire.SCHEMA_VERSION


def test_the_documented_dashboard_topics_are_what_the_dashboard_role_grants() -> None:
    from cloud.mqttauth.roles import dashboard_topics

    after = DOC.read_text().split("<!-- dashboard topics -->\n", 1)[1]
    listed = after.split("\n\n", 1)[0]
    documented = re.findall(r"^- `([^`]+)`$", listed, re.M)
    assert documented == [t.replace("ORG", "{org_id}") for t in dashboard_topics("ORG")]
