"""`GET /v1/analytics/fleet` and `/printers/:id` against a seeded history (farm.py),
every figure computed by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cloud.analytics.farm import PERIOD, PERIOD_S, J, P, at, printer, stored_file
from tests.cloud.conftest import OrgClient, SessionRunner, assert_error


async def fleet(client: OrgClient, **params: str) -> dict[str, Any]:
    r = await client.get("/v1/analytics/fleet", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_fleet_figures(farm: OrgClient) -> None:
    body = await fleet(farm)
    assert body["period"] == {"from": "2025-10-02T00:00:00Z", "to": "2025-10-03T23:59:59Z"}
    # r1 2 h (clipped at the start) + r2 4 h (clipped at the end) + r3 2 h + r4 1 h
    # + r5 0.5 h + r7 1 h (still printing, clipped at the end) = 10.5 h.
    print_time_s = 37_800
    assert body["metrics"] == {
        "total_printers": 4,
        "active_printers": 3,  # p4 never printed
        "utilization_rate": round(100 * print_time_s / (4 * PERIOD_S), 1),  # 5.5
        "jobs_completed": 2,  # jA1, jA3 (jA10's printer is gone, jA6 ended before)
        # Ended inside: r1, r3 completed; r4 failed (r2 failed after the end; r5 cancelled
        # and r8 refused are left out): 2 / 3.
        "success_rate": 66.7,
        "total_print_time": print_time_s,
        "material_consumed": 180.0,  # r1 100 + r3 50 + r4 20 + r5 10
        # r1 PLA on p1's PLA spool at 20/kg: 2.00; r3 no type, p2's PETG at 30: 1.50;
        # r4 "pla" while p2 holds PETG: the mean PLA price (20, 24, 22) = 22: 0.44;
        # r5 PETG on p2's PETG at 30: 0.30.
        "estimated_cost": 4.24,
    }
    assert body["metrics"]["utilization_rate"] == 5.5


async def test_fleet_by_group(farm: OrgClient) -> None:
    east = (await fleet(farm, group="east"))["metrics"]
    assert east == {
        "total_printers": 2,
        "active_printers": 2,
        "utilization_rate": round(100 * 34_200 / (2 * PERIOD_S), 1),  # 9.9
        "jobs_completed": 2,
        "success_rate": 66.7,
        "total_print_time": 34_200,
        "material_consumed": 180.0,
        "estimated_cost": 4.24,
    }
    west = (await fleet(farm, group="west"))["metrics"]
    assert west == {
        "total_printers": 1,
        "active_printers": 1,
        "utilization_rate": 2.1,  # 3,600 / 172,800
        "jobs_completed": 0,
        "success_rate": 0.0,  # only a refused print ended: nothing to rate
        "total_print_time": 3600,
        "material_consumed": 0.0,
        "estimated_cost": 0.0,
    }
    nobody = (await fleet(farm, group="nope"))["metrics"]
    assert nobody == dict.fromkeys(nobody, 0) and set(nobody) == set(east)


async def test_other_organization_sees_only_its_own(farm: OrgClient, other: OrgClient) -> None:
    metrics = (await fleet(other, group="east"))["metrics"]
    # q1 printed 18 h of the 48 h, 900 g at its spool's 90/kg.
    assert metrics == {
        "total_printers": 1,
        "active_printers": 1,
        "utilization_rate": 37.5,
        "jobs_completed": 1,
        "success_rate": 100.0,
        "total_print_time": 18 * 3600,
        "material_consumed": 900.0,
        "estimated_cost": 81.0,
    }
    r = await other.get("/v1/analytics/printers/p1", params=PERIOD)
    assert_error(r, 404, "resource_not_found")


async def test_empty_period_is_all_zero(farm: OrgClient) -> None:
    body = await fleet(farm, **{"from": "2024-01-01", "to": "2024-01-02"})
    # The printers were registered in September 2025: none existed yet.
    assert body["metrics"] == {
        "total_printers": 0,
        "active_printers": 0,
        "utilization_rate": 0.0,
        "jobs_completed": 0,
        "success_rate": 0.0,
        "total_print_time": 0,
        "material_consumed": 0.0,
        "estimated_cost": 0.0,
    }
    # A quiet day after the printers existed: they count, with nothing printed.
    quiet = (await fleet(farm, **{"from": "2025-09-10", "to": "2025-09-10"}))["metrics"]
    assert quiet["total_printers"] == 4
    assert quiet["utilization_rate"] == 0.0 and quiet["success_rate"] == 0.0


async def test_datetime_bounds_clip_to_the_second(farm: OrgClient) -> None:
    # 10:00-11:00Z lies inside r3 (p2, 10:00-12:00): p2 busy the whole hour.
    params = {"from": "2025-10-02T12:00:00+02:00", "to": "2025-10-02T11:00:00Z"}
    r = await farm.get("/v1/analytics/printers/p2", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2025-10-02T10:00:00Z", "to": "2025-10-02T11:00:00Z"}
    assert body["metrics"]["utilization_rate"] == 100.0
    assert body["metrics"]["total_print_time"] == 3600
    # Nothing ended within the hour.
    assert body["metrics"]["prints"] == {"completed": 0, "failed": 0, "cancelled": 0, "refused": 0}
    fleet_hour = (await fleet(farm, **params))["metrics"]
    assert fleet_hour["active_printers"] == 1
    assert fleet_hour["utilization_rate"] == 25.0  # 1 of 4 printers for the hour


async def test_printer_report(farm: OrgClient) -> None:
    r = await farm.get("/v1/analytics/printers/p2", params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["printer_id"] == "p2"
    assert body["metrics"] == {
        "utilization_rate": round(100 * 12_600 / PERIOD_S, 1),  # 7.3
        "jobs_completed": 1,
        "success_rate": 50.0,
        "total_print_time": 12_600,
        "material_consumed": 80.0,
        "estimated_cost": 2.24,
        "mean_print_duration": 7000.0,  # r3, as the agent reported it
        "prints": {"completed": 1, "failed": 1, "cancelled": 1, "refused": 0},
    }
    p1 = (await farm.get("/v1/analytics/printers/p1", params=PERIOD)).json()["metrics"]
    assert p1["mean_print_duration"] == 4 * 3600.0  # r1: no agent duration, wall time
    assert p1["total_print_time"] == 6 * 3600
    p3 = (await farm.get("/v1/analytics/printers/p3", params=PERIOD)).json()["metrics"]
    assert p3["prints"] == {"completed": 0, "failed": 0, "cancelled": 0, "refused": 1}
    assert p3["mean_print_duration"] is None and p3["success_rate"] == 0.0
    assert_error(await farm.get("/v1/analytics/printers/gone"), 404, "resource_not_found")


async def test_printer_registered_mid_period(owner: OrgClient, in_db: SessionRunner) -> None:
    org = owner.org.org_id

    async def seed(session: Any) -> None:
        session.add(stored_file(org))
        session.add(printer(org, "m1", None, created_at=at(2, 12)))
        session.add(printer(org, "later", None, created_at=at(5)))
        await session.flush()
        session.add(J("jm", at(2, 12), "completed", "normal", "m1", at(2, 18), at(3, 0)).row(org))
        await session.flush()
        session.add(P("rm", "jm", "m1", "completed", at(2, 18), at(3, 0)).row(org))

    await in_db(seed)
    metrics = (await fleet(owner))["metrics"]
    # m1 existed for 36 of the 48 h and printed 6 h of them; "later" came after the period.
    assert metrics["total_printers"] == 1
    assert metrics["utilization_rate"] == round(100 * 6 / 36, 1)


async def test_time_still_to_come_is_not_available_time(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    """A period ending tomorrow: utilisation is over the elapsed part only, and a print
    still running counts until now."""
    org = owner.org.org_id
    now = datetime.now(UTC)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=1)
    running_since = now - timedelta(hours=1)

    async def seed(session: Any) -> None:
        session.add(stored_file(org))
        session.add(printer(org, "n1", None, created_at=start - timedelta(days=30)))
        await session.flush()
        session.add(J("jn", start, "printing", "normal", "n1", running_since).row(org))
        await session.flush()
        session.add(P("rn", "jn", "n1", "printing", running_since, None).row(org))

    await in_db(seed)
    period = {
        "from": start.date().isoformat(),
        "to": (start + timedelta(days=2)).date().isoformat(),
    }
    before = datetime.now(UTC)
    metrics = (await fleet(owner, **period))["metrics"]
    after = datetime.now(UTC)
    assert metrics["active_printers"] == 1
    # About an hour printed, up to the moment of the request.
    printed_s = metrics["total_print_time"]
    assert 3600 <= printed_s <= (after - running_since).total_seconds() + 1
    # Over the elapsed part (1 to 2 days), not the whole 2 days.
    low = 100 * 3600 / (after - start).total_seconds()
    high = 100 * (printed_s + 1) / (before - start).total_seconds()
    assert round(low, 1) - 0.1 <= metrics["utilization_rate"] <= round(high, 1) + 0.1
