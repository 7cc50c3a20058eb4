"""`GET /dashboard/api/printers/{id}/temperatures`: the process's history of one printer of
the caller's organization, for `printers:read`. (Recorded by the live feed from a real broker
in test_live_http.py; filled directly here.)"""

from __future__ import annotations

import time

from cloud.live.history import TemperatureHistory
from cloud.live.temperatures import HISTORY_STATE_KEY
from cloud.orchestration.db import writing
from cloud.services.admin import add_api_key
from shared import wire
from tests.cloud.api.test_printers import make_printer
from tests.cloud.conftest import OrgClient, assert_error

FIELDS = ["ts", "hotend", "hotend_target", "bed", "bed_target", "chamber"]


def path(printer_id: str) -> str:
    return f"/dashboard/api/printers/{printer_id}/temperatures"


async def test_the_last_minutes_of_a_printer_oldest_first(owner: OrgClient) -> None:
    printer = await make_printer(owner)
    history: TemperatureHistory = owner.api.app.state[HISTORY_STATE_KEY]
    now = time.time()
    for ago_s in (40 * 60, 20 * 60, 90, 30):
        temps = wire.Temperatures(hotend=200.0 + ago_s / 60, hotend_target=215.0, bed=60.04)
        history.record(owner.org.org_id, printer["id"], now - ago_s, temps)

    r = await owner.get(path(printer["id"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["fields"] == FIELDS
    # 30 minutes by default: the sample of 40 minutes ago is out of the window.
    assert [round(now - s[0]) for s in body["samples"]] == [20 * 60, 90, 30]
    assert body["samples"][-1][1:] == [200.5, 215.0, 60.0, None, None]
    two = await owner.get(path(printer["id"]), params={"minutes": 2})
    assert [round(now - s[0]) for s in two.json()["samples"]] == [90, 30]

    # A printer nothing was recorded for yet has no samples.
    quiet = await make_printer(owner, name="quiet")
    assert (await owner.get(path(quiet["id"]))).json() == {"fields": FIELDS, "samples": []}


async def test_only_the_callers_printers_and_only_with_printers_read(
    owner: OrgClient, other: OrgClient
) -> None:
    printer = await make_printer(owner)
    history: TemperatureHistory = owner.api.app.state[HISTORY_STATE_KEY]
    history.record(owner.org.org_id, printer["id"], time.time(), wire.Temperatures(hotend=20.0))
    # Another organization's printer is a missing one, its samples never shown.
    assert_error(await other.get(path(printer["id"])), 404, "resource_not_found")
    assert_error(await owner.get(path("prt_nope")), 404, "resource_not_found")
    for minutes in ("0", "31", "x"):
        r = await owner.get(path(printer["id"]), params={"minutes": minutes})
        assert_error(r, 400, "invalid_request")

    async with writing(owner.api.app.state["ctx"]) as session:
        viewer = await add_api_key(session, owner.org, name="v", scopes=["printers:read"])
        jobs_only = await add_api_key(session, owner.org, name="j", scopes=["jobs:read"])
    seen = await owner.get(path(printer["id"]), headers={"Authorization": f"Bearer {viewer}"})
    assert len(seen.json()["samples"]) == 1
    denied = await owner.get(path(printer["id"]), headers={"Authorization": f"Bearer {jobs_only}"})
    assert_error(denied, 403, "insufficient_permissions")
    assert_error(await owner.api.client.get(path(printer["id"])), 401, "invalid_api_key")
