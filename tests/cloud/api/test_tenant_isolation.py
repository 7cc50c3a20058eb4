"""A second organization's key sees none of the first's resources, by any verb or route."""

from __future__ import annotations

from typing import Any

from tests.cloud.api.test_jobs import make_job
from tests.cloud.api.test_printers import make_agent, make_printer
from tests.cloud.conftest import OrgClient, assert_error


async def _resources(owner: OrgClient) -> dict[str, Any]:
    agent_id = await make_agent(owner)
    printer = await make_printer(owner, agent_id=agent_id)
    job = await make_job(owner, printer_id=printer["id"])
    material = (
        await owner.post("/v1/materials", json={"type": "PLA", "spool_weight": 1000})
    ).json()
    return {
        "agent": agent_id,
        "printer": printer["id"],
        "job": job["id"],
        "job_file_url": job["file_url"],
        "material": material["id"],
        "user": owner.org.user_id,
    }


async def test_isolation_matrix(owner: OrgClient, other: OrgClient) -> None:
    ids = await _resources(owner)
    base = "http://testserver.local"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/v1/printers/{ids['printer']}", {}),
        ("PATCH", f"/v1/printers/{ids['printer']}", {"json": {"name": "stolen"}}),
        ("DELETE", f"/v1/printers/{ids['printer']}", {}),
        ("POST", f"/v1/printers/{ids['printer']}/actions", {"json": {"action": "home"}}),
        ("POST", f"/v1/printers/{ids['printer']}/gcode", {"json": {"lines": ["M105"]}}),
        ("GET", f"/dashboard/api/printers/{ids['printer']}/temperatures", {}),
        ("GET", f"/v1/jobs/{ids['job']}", {}),
        ("PATCH", f"/v1/jobs/{ids['job']}", {"json": {"name": "stolen"}}),
        ("DELETE", f"/v1/jobs/{ids['job']}", {}),
        ("GET", f"/v1/materials/{ids['material']}", {}),
        ("PATCH", f"/v1/materials/{ids['material']}", {"json": {"color": "Red"}}),
        ("DELETE", f"/v1/materials/{ids['material']}", {}),
        ("GET", f"/v1/users/{ids['user']}", {}),
        ("GET", f"/v1/agents/{ids['agent']}", {}),
        ("POST", f"/v1/agents/{ids['agent']}/revoke", {}),
        ("GET", ids["job_file_url"].removeprefix(base), {}),
        # References to the first organization's resources inside the second's requests.
        ("POST", "/v1/jobs", {"json": {"file_url": ids["job_file_url"]}}),
        (
            "POST",
            "/v1/jobs",
            {"files": {"file": ("a.gcode", b"G28\n")}, "data": {"printer_id": ids["printer"]}},
        ),
        (
            "POST",
            "/v1/materials",
            {"json": {"type": "PLA", "spool_weight": 1, "printer_id": ids["printer"]}},
        ),
        (
            "POST",
            "/v1/printers",
            {"json": {"name": "p", "connection_url": "serial:///dev/x", "agent_id": ids["agent"]}},
        ),
    ]
    for method, path, kw in calls:
        r = await other.request(method, path, **kw)
        assert r.status_code == 404, (method, path, r.text)
        assert_error(r, 404, "resource_not_found")
    # Lists and the organization are the caller's own.
    for path in ("/v1/printers", "/v1/jobs", "/v1/materials", "/v1/agents"):
        body = (await other.get(path)).json()
        assert body["data"] == [] and body["pagination"]["total"] == 0, path
    users = (await other.get("/v1/users")).json()["data"]
    assert [u["id"] for u in users] == [other.org.user_id]
    assert (await other.get("/v1/organization")).json()["id"] == other.org.org_id
    r = await other.get("/v1/jobs", params={"printer_id": ids["printer"]})
    assert r.json()["data"] == []
    # Nothing the second key tried changed the first organization's resources.
    assert (await owner.get(f"/v1/printers/{ids['printer']}")).json()["name"] != "stolen"
    job = (await owner.get(f"/v1/jobs/{ids['job']}")).json()
    assert (job["name"], job["status"]) != ("stolen", "cancelled")
    assert (await owner.get(f"/v1/agents/{ids['agent']}")).json()["revoked"] is False
    assert (await owner.get(f"/v1/materials/{ids['material']}")).status_code == 200
