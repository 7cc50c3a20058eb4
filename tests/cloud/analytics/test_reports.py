"""`GET /v1/analytics/jobs` and `/materials` against the seeded history (farm.py)."""

from __future__ import annotations

from typing import Any

from tests.cloud.analytics.farm import PERIOD
from tests.cloud.conftest import OrgClient

NO_STATUS = {
    "queued": 0,
    "assigned": 0,
    "printing": 0,
    "paused": 0,
    "completed": 0,
    "failed": 0,
    "cancelled": 0,
}


async def report(client: OrgClient, name: str, **params: str) -> dict[str, Any]:
    r = await client.get(f"/v1/analytics/{name}", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_jobs_report(farm: OrgClient) -> None:
    body = await report(farm, "jobs")
    assert body["period"] == {"from": "2025-10-02T00:00:00Z", "to": "2025-10-03T23:59:59Z"}
    metrics = body["metrics"]
    # Created in the period: jA2, jA3, jA4, jA5, jA7, jA8, jA10, jA11 (jA1, jA6 before).
    assert metrics["total"] == 8
    assert metrics["by_status"] == {
        **NO_STATUS,
        "queued": 2,
        "printing": 1,
        "completed": 2,
        "failed": 2,
        "cancelled": 1,
    }
    assert metrics["by_priority"] == {"low": 1, "normal": 4, "high": 2, "urgent": 1}
    # created → started: jA2 35 h, jA3/jA4/jA5 30 min, jA7/jA10 1 h (jA8, jA11 never ran).
    assert metrics["mean_wait"] == (126_000 + 3 * 1800 + 2 * 3600) / 6
    # created → first assignment (5 min before each start; jA8's refused one after 1 h).
    assert metrics["mean_assign_wait"] == round((125_700 + 3 * 1500 + 2 * 3300 + 3600) / 7, 1)
    # Completed in the period, start → completion: jA1 4 h, jA3 2 h, jA10 1 h.
    assert metrics["mean_duration"] == 8400.0
    assert body["data"] == [
        # jA1 (created the day before) completed on Oct 2 too.
        {"date": "2025-10-02", "created": 6, "completed": 3, "failed": 1, "cancelled": 1},
        # jA2 failed on Oct 4, after the period.
        {"date": "2025-10-03", "created": 2, "completed": 0, "failed": 0, "cancelled": 0},
    ]


async def test_jobs_report_filters(farm: OrgClient, other: OrgClient) -> None:
    east = (await report(farm, "jobs", group="east"))["metrics"]
    assert east["total"] == 4  # jA2 (p1), jA3, jA4, jA5 (p2)
    assert east["by_priority"] == {"low": 1, "normal": 1, "high": 1, "urgent": 1}
    on_p2 = await report(farm, "jobs", printer_id="p2")
    assert on_p2["metrics"]["by_status"] == {
        **NO_STATUS,
        "completed": 1,
        "failed": 1,
        "cancelled": 1,
    }
    assert on_p2["metrics"]["mean_duration"] == 7200.0
    assert [d["created"] for d in on_p2["data"]] == [3, 0]
    # Organization B's job on its own "east" printer, never A's.
    theirs = (await report(other, "jobs", group="east"))["metrics"]
    assert theirs["total"] == 1 and theirs["by_status"]["completed"] == 1
    assert (await report(other, "jobs", printer_id="p2"))["metrics"]["total"] == 0


async def test_jobs_report_empty_period(farm: OrgClient) -> None:
    body = await report(farm, "jobs", **{"from": "2024-01-01", "to": "2024-01-03"})
    assert body["metrics"] == {
        "total": 0,
        "by_status": NO_STATUS,
        "by_priority": {"low": 0, "normal": 0, "high": 0, "urgent": 0},
        "mean_wait": None,
        "mean_assign_wait": None,
        "mean_duration": None,
    }
    assert [d["date"] for d in body["data"]] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert all(d["created"] == d["completed"] == 0 for d in body["data"])


async def test_materials_report(farm: OrgClient) -> None:
    body = await report(farm, "materials")
    # Ended in the period, by the job's material, else the loaded spool's when it fits:
    # r1 PLA/black 100 g at 20/kg, r10 PLA/black 40 g (printer gone: mean PLA 22/kg),
    # r3 + r5 PETG/white 60 g at 30/kg, r4 "pla"/"Red" 20 g at the mean PLA price.
    assert body["data"] == [
        {
            "type": "PETG",
            "color": "blue",
            "consumed": 0.0,
            "estimated_cost": 0.0,
            "prints": 0,
            "remaining": 0.0,
            "spools": 1,
        },
        {
            "type": "PETG",
            "color": "white",
            "consumed": 60.0,
            "estimated_cost": 1.8,
            "prints": 2,
            "remaining": 50.0,
            "spools": 1,
        },
        {
            "type": "PLA",
            "color": "black",
            "consumed": 140.0,
            "estimated_cost": 2.88,
            "prints": 2,
            "remaining": 800.0,
            "spools": 1,
        },
        {
            "type": "PLA",
            "color": "red",  # the spool's spelling; the job said "Red"
            "consumed": 20.0,
            "estimated_cost": 0.44,
            "prints": 1,
            "remaining": 1000.0,
            "spools": 1,
        },
    ]
    assert body["metrics"] == {
        "material_consumed": 220.0,
        "estimated_cost": 5.12,
        "remaining": 1850.0,  # the archived spool left out
        "spools_low": 2,
    }
    assert [(s["id"], s["remaining_weight"], s["status"]) for s in body["low_stock"]] == [
        ("sA4", 0.0, "empty"),  # no threshold, but empty
        ("sA2", 50.0, "active"),  # 50 g at or below its 100 g threshold
    ]
    assert body["low_stock"][1] == {
        "id": "sA2",
        "type": "PETG",
        "color": "white",
        "remaining_weight": 50.0,
        "reorder_threshold": 100.0,
        "status": "active",
        "printer_id": "p2",
    }


async def test_materials_report_by_group(farm: OrgClient, other: OrgClient) -> None:
    east = await report(farm, "materials", group="east")
    kinds = {(k["type"], k["color"]): (k["consumed"], k["remaining"]) for k in east["data"]}
    # Only spools loaded on p1/p2 and prints on them; r4's kind has no such spool.
    assert kinds == {
        ("PETG", "white"): (60.0, 50.0),
        ("PLA", "black"): (100.0, 800.0),
        ("pla", "Red"): (20.0, 0.0),
    }
    assert [s["id"] for s in east["low_stock"]] == ["sA2"]
    theirs = await report(other, "materials")
    assert theirs["metrics"] == {
        "material_consumed": 900.0,
        "estimated_cost": 81.0,
        "remaining": 10.0,
        "spools_low": 1,
    }
    assert [s["id"] for s in theirs["low_stock"]] == ["sB1"]


async def test_materials_report_empty_period(farm: OrgClient) -> None:
    body = await report(farm, "materials", **{"from": "2024-01-01", "to": "2024-01-01"})
    assert body["metrics"]["material_consumed"] == 0.0
    assert body["metrics"]["estimated_cost"] == 0.0
    # Stock is as of now, whatever the period.
    assert body["metrics"]["remaining"] == 1850.0
    assert all(k["consumed"] == 0.0 and k["prints"] == 0 for k in body["data"])
