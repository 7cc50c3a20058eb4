"""The OpenAPI document states what request validation enforces (cloud/api/strict_schema.py)."""

from __future__ import annotations

import re
from typing import Any

from cloud.services.connections import parse_connection
from tests.cloud.test_openapi_conformance import _openapi_document

DOCUMENT = _openapi_document()


def component(name: str) -> dict[str, Any]:
    schemas: dict[str, Any] = DOCUMENT["components"]["schemas"]
    found: list[dict[str, Any]] = [s for key, s in schemas.items() if key.endswith(name)]
    assert len(found) == 1, name
    return found[0]


def test_request_bodies_refuse_unknown_fields_and_responses_do_not_say_so() -> None:
    for body in ("PrinterCreate", "PrinterPatch", "MaterialPatch", "WebhookCreate", "JobPatch"):
        assert component(body)["additionalProperties"] is False, body
    assert "additionalProperties" not in component("PrinterOut")


def test_constraints_of_optional_fields_and_of_list_items_are_kept() -> None:
    spool = component("MaterialPatch")["properties"]["spool_weight"]
    assert spool["exclusiveMinimum"] == 0 and spool["maximum"] == 1_000_000
    tag = component("PrinterCreate")["properties"]["tags"]["items"]
    assert tag["minLength"] == 1 and tag["maxLength"] == 64
    events = component("WebhookCreate")["properties"]["events"]
    assert events["minItems"] == 1  # checked in code, stated beside the type


def test_text_is_documented_without_nul() -> None:
    name = component("PrinterCreate")["properties"]["name"]
    assert re.fullmatch(name["pattern"], "Prusa MK4 #2")
    assert not re.fullmatch(name["pattern"], "a\x00b")
    tag = component("PrinterCreate")["properties"]["tags"]["items"]["pattern"]
    assert re.fullmatch(tag, "enclosed") and not re.fullmatch(tag, "a\x00")


def test_sort_and_fields_name_what_each_list_accepts() -> None:
    parameters = {p["name"]: p for p in DOCUMENT["paths"]["/v1/printers"]["get"]["parameters"]}
    sort = parameters["sort"]["schema"]["pattern"]
    assert re.fullmatch(sort, "-created_at,name") and not re.fullmatch(sort, "password")
    fields = parameters["fields"]["schema"]["pattern"]
    assert re.fullmatch(fields, "id,name") and not re.fullmatch(fields, "id,secret")


def test_the_connection_url_pattern_states_forms_the_service_accepts() -> None:
    pattern = component("PrinterCreate")["properties"]["connection_url"]["pattern"]
    for url in (
        "http://192.168.1.105",
        "moonraker://voron.local:7125",
        "prusalink://192.168.1.30",
        "bambu://192.168.1.40?serial=01S00A123456789",
        "bambu://x1c.local:18883?serial=01S00A123456789&ftps_port=10990&fingerprint=" + "ab" * 32,
        "serial:///dev/ttyACM0",
    ):
        assert re.fullmatch(pattern, url), url
        parse_connection(url)
    assert not re.fullmatch(pattern, "bambu://192.168.1.40")
    assert not re.fullmatch(pattern, "bambu://192.168.1.40?serial=01S00A123456789&pin=1")
