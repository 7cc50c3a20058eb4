"""`/v1/materials`: CRUD, stock status, and the events stock changes record."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from cloud.db.models import Event
from tests.cloud.api.test_printers import make_printer
from tests.cloud.conftest import SQLITE_ONLY, OrgClient, SessionRunner, assert_error

SPOOL = {
    "type": "PLA",
    "brand": "Hatchbox",
    "color": "Black",
    "spool_weight": 1000,
    "remaining_weight": 650,
    "cost_per_kg": 20.0,
    "reorder_threshold": 100,
}


async def test_crud(owner: OrgClient) -> None:
    printer = await make_printer(owner)
    r = await owner.post("/v1/materials", json={**SPOOL, "printer_id": printer["id"]})
    assert r.status_code == 201, r.text
    mat = r.json()
    assert mat["id"].startswith("mat_")
    for key in (
        "type",
        "brand",
        "color",
        "spool_weight",
        "remaining_weight",
        "cost_per_kg",
        "reorder_threshold",
    ):
        assert mat[key] == SPOOL[key]
    assert (mat["status"], mat["printer_id"]) == ("active", printer["id"])
    assert (await owner.get(f"/v1/materials/{mat['id']}")).json() == mat
    r = await owner.patch(f"/v1/materials/{mat['id']}", json={"color": "Red", "printer_id": None})
    assert (r.json()["color"], r.json()["printer_id"]) == ("Red", None)
    r = await owner.get("/v1/materials", params={"type": "PLA", "fields": "id,color"})
    assert r.json()["data"] == [{"id": mat["id"], "color": "Red"}]
    assert (await owner.delete(f"/v1/materials/{mat['id']}")).status_code == 204
    assert_error(await owner.get(f"/v1/materials/{mat['id']}"), 404, "resource_not_found")


async def test_stock_status_and_events(owner: OrgClient, in_db: SessionRunner) -> None:
    r = await owner.post(
        "/v1/materials", json={"type": "PETG", "spool_weight": 1000, "reorder_threshold": 100}
    )
    mat = r.json()
    assert (mat["remaining_weight"], mat["status"]) == (1000, "active")
    r = await owner.patch(f"/v1/materials/{mat['id']}", json={"remaining_weight": 80})
    assert r.json()["status"] == "low"
    r = await owner.patch(f"/v1/materials/{mat['id']}", json={"remaining_weight": 50})
    assert r.json()["status"] == "low"
    r = await owner.patch(f"/v1/materials/{mat['id']}", json={"remaining_weight": 0})
    assert r.json()["status"] == "empty"
    r = await owner.patch(f"/v1/materials/{mat['id']}", json={"archived": True})
    assert r.json()["status"] == "archived"
    r = await owner.get("/v1/materials", params={"status": "archived"})
    assert [m["id"] for m in r.json()["data"]] == [mat["id"]]

    async def events(session: Any) -> list[tuple[str, str | None]]:
        rows = await session.execute(select(Event).order_by(col(Event.created_at)))
        return [(e.type, e.resource_id) for e in rows.scalars()]

    # One event per crossing, not per change.
    assert await in_db(events) == [("material.low", mat["id"]), ("material.empty", mat["id"])]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "body,param",
    [
        ({"spool_weight": 1}, "type"),
        ({"type": "PLA"}, "spool_weight"),
        ({"type": "PLA", "spool_weight": 0}, "spool_weight"),
        ({"type": "PLA", "spool_weight": 10, "remaining_weight": 11}, "remaining_weight"),
        ({"type": "PLA", "spool_weight": 10, "remaining_weight": -1}, "remaining_weight"),
        ({"type": "PLA", "spool_weight": 10, "status": "active"}, "status"),
    ],
)
async def test_create_errors(owner: OrgClient, body: dict[str, Any], param: str) -> None:
    assert_error(await owner.post("/v1/materials", json=body), 400, "invalid_request", param)


async def test_unknown_printer(owner: OrgClient) -> None:
    r = await owner.post("/v1/materials", json={**SPOOL, "printer_id": "prt_nope"})
    assert_error(r, 404, "resource_not_found", "printer_id")
