"""`/v1/printers`: happy paths and every error the spec names for them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cloud.db.models import Agent, Printer, PrinterCommand
from tests.cloud.conftest import SQLITE_ONLY, OrgClient, SessionRunner, assert_error

OCTO = {
    "name": "Prusa-B-05",
    "connection_url": "http://192.168.1.105",
    "api_key": "SECRET-KEY",
    "model": "Prusa i3 MK3S+",
    "group": "production",
    "tags": ["enclosed"],
}


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


async def make_agent(owner: OrgClient) -> str:
    r = await owner.post("/v1/agents", json={"name": "pi-1"})
    assert r.status_code == 201, r.text
    return str(r.json()["agent"]["id"])


async def make_printer(owner: OrgClient, **over: Any) -> dict[str, Any]:
    r = await owner.post("/v1/printers", json={**OCTO, **over})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def set_status(in_db: SessionRunner, printer_id: str, status: str, **cols: Any) -> None:
    async def run(session: Any) -> None:
        printer = await session.get(Printer, printer_id)
        printer.status = status
        for k, v in cols.items():
            setattr(printer, k, v)

    await in_db(run)


async def test_create_get_and_secret_is_write_only(owner: OrgClient) -> None:
    created = await make_printer(owner)
    assert created["id"].startswith("prt_")
    assert created["status"] == "offline"
    assert created["temperatures"] == {"hotend": None, "bed": None}
    assert created["connection_type"] == "octoprint"
    assert created["has_api_key"] is True
    assert created["reported_materials"] == []  # until its agent reports some
    assert created["created_at"].endswith("Z")
    r = await owner.get(f"/v1/printers/{created['id']}")
    assert r.status_code == 200
    assert r.json() == created
    assert "SECRET-KEY" not in r.text
    listing = await owner.get("/v1/printers")
    assert "SECRET-KEY" not in listing.text


async def test_serial_printer_needs_agent(owner: OrgClient) -> None:
    url = "serial:///dev/ttyACM0?baud=115200&profile=marlin"
    r = await owner.post("/v1/printers", json={"name": "mk3", "connection_url": url})
    assert_error(r, 400, "invalid_request", "agent_id")
    agent_id = await make_agent(owner)
    r = await owner.post(
        "/v1/printers", json={"name": "mk3", "connection_url": url, "agent_id": agent_id}
    )
    assert r.status_code == 201, r.text
    assert r.json()["connection_type"] == "serial"
    assert r.json()["agent_id"] == agent_id
    assert r.json()["has_api_key"] is False


@SQLITE_ONLY
@pytest.mark.parametrize(
    "body,param",
    [
        ({"name": "x", "connection_url": "ftp://host"}, "connection_url"),
        ({"name": "x", "connection_url": "serial:///dev/ttyACM0?baud=7"}, "connection_url"),
        ({"name": "x", "connection_url": "serial:///dev/ttyACM0?profile=nope"}, "connection_url"),
        ({"name": "x", "connection_url": "serial:///dev/tty0?speed=1"}, "connection_url"),
        ({"name": "x", "connection_url": "http://h"}, "api_key"),
        ({"name": "", "connection_url": "http://h", "api_key": "k"}, "name"),
        ({"connection_url": "http://h", "api_key": "k"}, "name"),
        ({"name": "x", "connection_url": "http://h", "api_key": "k", "colour": "red"}, "colour"),
        ({"name": "x", "connection_url": "http://h", "api_key": "k", "tags": "a"}, "tags"),
    ],
)
async def test_create_rejects_bad_bodies(
    owner: OrgClient, body: dict[str, Any], param: str
) -> None:
    r = await owner.post("/v1/printers", json=body)
    assert_error(r, 400, "invalid_request", param)


@SQLITE_ONLY
@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"\xff\xfe", b'{"name": 1e999}'])
async def test_malformed_json_is_invalid_request(owner: OrgClient, raw: bytes) -> None:
    r = await owner.post("/v1/printers", content=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_request")


async def test_unknown_agent_is_not_found(owner: OrgClient) -> None:
    r = await owner.post("/v1/printers", json={**OCTO, "agent_id": "agt_nope"})
    assert_error(r, 404, "resource_not_found", "agent_id")


async def test_list_filters_sort_fields_pagination(owner: OrgClient, in_db: SessionRunner) -> None:
    a = await make_printer(owner, name="a", group="g1", tags=["red", "big"])
    b = await make_printer(owner, name="b", group="g2", tags=["blue"])
    c = await make_printer(owner, name="c", group="g1", tags=["red"])
    await set_status(in_db, b["id"], "printing")
    r = await owner.get("/v1/printers", params={"status": "printing"})
    assert ids(r) == [b["id"]]
    r = await owner.get("/v1/printers", params={"group": "g1", "sort": "-name"})
    assert ids(r) == [c["id"], a["id"]]
    r = await owner.get("/v1/printers", params={"tag": "red", "sort": "name"})
    assert ids(r) == [a["id"], c["id"]]
    r = await owner.get("/v1/printers", params={"per_page": 2, "page": 2, "sort": "name"})
    assert ids(r) == [c["id"]]
    assert r.json()["pagination"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2}
    r = await owner.get("/v1/printers", params={"fields": "id,name,status", "sort": "name"})
    assert r.json()["data"][1] == {"id": b["id"], "name": "b", "status": "printing"}


@SQLITE_ONLY
@pytest.mark.parametrize(
    "params,param",
    [
        ({"status": "melting"}, "status"),
        ({"sort": "colour"}, "sort"),
        ({"sort": "-name,nope"}, "sort"),
        ({"fields": "id,secret"}, "fields"),
        ({"fields": ","}, "fields"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_list_rejects_unknown_parameters(
    owner: OrgClient, params: dict[str, str], param: str
) -> None:
    r = await owner.get("/v1/printers", params=params)
    assert_error(r, 400, "invalid_request", param)


async def test_patch(owner: OrgClient) -> None:
    p = await make_printer(owner)
    r = await owner.patch(
        f"/v1/printers/{p['id']}", json={"name": "renamed", "tags": ["x", "x", "y"], "group": None}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["tags"], body["group"]) == ("renamed", ["x", "y"], None)
    assert body["model"] == OCTO["model"]
    r = await owner.patch(f"/v1/printers/{p['id']}", json={"api_key": None})
    assert_error(r, 400, "invalid_request", "api_key")
    r = await owner.patch(f"/v1/printers/{p['id']}", json={"status": "idle"})
    assert_error(r, 400, "invalid_request", "status")
    r = await owner.patch("/v1/printers/prt_missing", json={"name": "x"})
    assert_error(r, 404, "resource_not_found")


async def test_delete_refused_while_printing(owner: OrgClient, in_db: SessionRunner) -> None:
    p = await make_printer(owner)
    await set_status(in_db, p["id"], "printing")
    r = await owner.delete(f"/v1/printers/{p['id']}")
    assert_error(r, 409, "printer_busy")
    await set_status(in_db, p["id"], "idle")
    r = await owner.delete(f"/v1/printers/{p['id']}")
    assert r.status_code == 204
    r = await owner.get(f"/v1/printers/{p['id']}")
    assert_error(r, 404, "resource_not_found")


async def test_actions_validated_and_recorded(owner: OrgClient, in_db: SessionRunner) -> None:
    agent_id = await make_agent(owner)
    p = await make_printer(owner, agent_id=agent_id)
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "pause"})
    assert_error(r, 409, "printer_offline")
    await set_status(in_db, p["id"], "printing")
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "dance"})
    assert_error(r, 400, "invalid_request", "action")
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "home"})
    assert_error(r, 409, "printer_busy")
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "pause"})
    assert r.status_code == 202, r.text
    cmd = r.json()
    assert (cmd["action"], cmd["status"], cmd["printer_id"]) == ("pause", "pending", p["id"])

    async def commands(session: Any) -> list[PrinterCommand]:
        rows = await session.execute(select(PrinterCommand))
        return list(rows.scalars())

    rows = await in_db(commands)
    assert [(c.id, c.agent_id, c.status) for c in rows] == [(cmd["id"], agent_id, "pending")]
    await set_status(in_db, p["id"], "idle")
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "resume"})
    assert_error(r, 400, "invalid_request", "action")


async def test_action_on_revoked_agent_printer_is_offline(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    agent_id = await make_agent(owner)
    p = await make_printer(owner, agent_id=agent_id)
    await set_status(in_db, p["id"], "idle")

    async def check(session: Any) -> Agent | None:
        agent: Agent | None = await session.get(Agent, agent_id)
        return agent

    assert (await in_db(check)) is not None
    r = await owner.post(f"/v1/printers/{p['id']}/actions", json={"action": "home"})
    assert r.status_code == 202


@SQLITE_ONLY
async def test_oversized_json_body_is_413(owner: OrgClient) -> None:
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = await owner.post("/v1/printers", content=body, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "invalid_request")


async def test_the_key_is_kept_sealed_for_its_printer(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    p = await make_printer(owner)

    async def stored(session: Any) -> Printer:
        printer: Printer = await session.get(Printer, p["id"])
        return printer

    row = await in_db(stored)
    assert row.octoprint_api_key is None
    assert row.connection_secret_sealed is not None
    assert "SECRET-KEY" not in row.connection_secret_sealed
    assert "SECRET-KEY" not in repr(row)


async def test_moving_an_octoprint_printer_to_another_host_needs_its_key_again(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    p = await make_printer(owner)
    moved = {"connection_url": "http://203.0.113.9"}
    r = await owner.patch(f"/v1/printers/{p['id']}", json=moved)
    assert_error(r, 400, "invalid_request", "api_key")

    async def sealed(session: Any) -> str | None:
        printer: Printer = await session.get(Printer, p["id"])
        return printer.connection_secret_sealed

    before = await in_db(sealed)
    # Same host, another path: the key goes where it was given for.
    r = await owner.patch(
        f"/v1/printers/{p['id']}", json={"connection_url": "http://192.168.1.105/op"}
    )
    assert r.status_code == 200, r.text
    assert await in_db(sealed) == before
    r = await owner.patch(f"/v1/printers/{p['id']}", json={**moved, "api_key": "NEW-KEY"})
    assert r.status_code == 200, r.text
    assert r.json()["connection_url"] == "http://203.0.113.9" and r.json()["has_api_key"]
    assert await in_db(sealed) != before


@SQLITE_ONLY
@pytest.mark.parametrize(
    "url", ["http://pi:raspberry@192.168.1.105", "https://user@op.local", "http://:pw@h"]
)
async def test_credentials_in_a_printer_url_are_refused(owner: OrgClient, url: str) -> None:
    r = await owner.post("/v1/printers", json={**OCTO, "connection_url": url})
    assert_error(r, 400, "invalid_request", "connection_url")
    assert "raspberry" not in r.text


async def test_a_moonraker_printer_takes_an_optional_key_kept_sealed(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    agent_id = await make_agent(owner)
    bare = {"name": "Voron", "connection_url": "moonraker://voron.local:7125", "agent_id": agent_id}
    r = await owner.post("/v1/printers", json=bare)
    assert r.status_code == 201, r.text
    assert (r.json()["connection_type"], r.json()["has_api_key"]) == ("moonraker", False)
    keyed = await make_printer(owner, **bare, api_key="MR-SECRET")
    assert keyed["has_api_key"] is True and "MR-SECRET" not in str(keyed)

    async def sealed(session: Any) -> str | None:
        printer: Printer = await session.get(Printer, keyed["id"])
        return printer.connection_secret_sealed

    assert "MR-SECRET" not in (await in_db(sealed) or "MR-SECRET")
    # A keyless Moonraker moves freely; one with a key needs it again for a new host.
    r = await owner.patch(
        f"/v1/printers/{r.json()['id']}", json={"connection_url": "moonraker://10.0.0.9"}
    )
    assert r.status_code == 200, r.text
    r = await owner.patch(
        f"/v1/printers/{keyed['id']}", json={"connection_url": "moonraker://10.0.0.9"}
    )
    assert_error(r, 400, "invalid_request", "api_key")
    # The default port, named or not, is the same place for the key.
    r = await owner.patch(
        f"/v1/printers/{keyed['id']}", json={"connection_url": "moonraker://voron.local"}
    )
    assert r.status_code == 200, r.text


@SQLITE_ONLY
@pytest.mark.parametrize(
    "url",
    [
        "moonraker://",
        "moonraker://voron.local:99999",
        "moonraker://voron.local/?api_key=x",
        "moonraker://pi:raspberry@voron.local",
        "klipper://voron.local",
    ],
)
async def test_bad_moonraker_urls_are_refused(owner: OrgClient, url: str) -> None:
    body = {"name": "Voron", "connection_url": url}
    r = await owner.post("/v1/printers", json=body)
    assert_error(r, 400, "invalid_request", "connection_url")
    assert "raspberry" not in r.text


BAMBU = {
    "name": "X1C",
    "connection_url": "bambu://192.168.1.40?serial=01S00A123456789",
    "api_key": "ab12CD34",
}


async def test_a_bambu_printer_keeps_its_access_code_sealed_and_its_url_normalised(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    bare = await make_printer(owner, **BAMBU)
    assert (bare["connection_type"], bare["has_api_key"]) == ("bambu", True)
    assert bare["connection_url"] == BAMBU["connection_url"]
    assert "ab12CD34" not in str(bare)
    colons = ":".join(["AB"] * 32)
    url = f"bambu://x1c.local:18883/?serial=00M09A350100123&ftps_port=10990&fingerprint={colons}"
    pinned = await make_printer(owner, **{**BAMBU, "connection_url": url})
    assert pinned["connection_url"] == (
        "bambu://x1c.local:18883?serial=00M09A350100123&ftps_port=10990&fingerprint=" + "ab" * 32
    )

    async def sealed(session: Any) -> str | None:
        printer: Printer = await session.get(Printer, bare["id"])
        return printer.connection_secret_sealed

    assert "ab12CD34" not in (await in_db(sealed) or "ab12CD34")
    r = await owner.get(f"/v1/printers/{bare['id']}")
    assert "ab12CD34" not in r.text


async def test_a_bambu_printer_needs_its_access_code_and_again_for_another_address(
    owner: OrgClient,
) -> None:
    r = await owner.post("/v1/printers", json={**BAMBU, "api_key": None})
    assert_error(r, 400, "invalid_request", "api_key")
    assert "access code" in r.json()["error"]["message"]
    p = await make_printer(owner, **BAMBU)
    # Another serial number at the same address: the code goes where it was given for.
    same = {"connection_url": "bambu://192.168.1.40:8883?serial=01S00A987654321"}
    r = await owner.patch(f"/v1/printers/{p['id']}", json=same)
    assert r.status_code == 200, r.text
    for moved in (
        "bambu://192.168.1.41?serial=01S00A123456789",
        "bambu://192.168.1.40:18883?serial=01S00A123456789",
        "bambu://192.168.1.40?serial=01S00A123456789&ftps_port=10990",
        "http://192.168.1.40",
    ):
        r = await owner.patch(f"/v1/printers/{p['id']}", json={"connection_url": moved})
        assert_error(r, 400, "invalid_request", "api_key")
    moved_with_code = {"connection_url": "bambu://192.168.1.41?serial=ABCD", "api_key": "new"}
    r = await owner.patch(f"/v1/printers/{p['id']}", json=moved_with_code)
    assert r.status_code == 200, r.text
    assert r.json()["connection_url"] == "bambu://192.168.1.41?serial=ABCD"


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("bambu://192.168.1.40", "serial"),
        ("bambu://192.168.1.40?serial=", "serial"),
        ("bambu://192.168.1.40?serial=01S", "serial"),
        ("bambu://192.168.1.40?serial=01S-00A-1234", "serial"),
        ("bambu://192.168.1.40?serial=01S00A123456789&access_code=1234", "access_code"),
        ("bambu://192.168.1.40?serial=01S00A123456789&fingerprint=abc", "fingerprint"),
        ("bambu://192.168.1.40?serial=01S00A123456789&fingerprint=" + "g" * 64, "fingerprint"),
        ("bambu://192.168.1.40?serial=01S00A123456789&ftps_port=70000", "ftps_port"),
        ("bambu://192.168.1.40:99999?serial=01S00A123456789", "port"),
        ("bambu://bblp:raspberry@192.168.1.40?serial=01S00A123456789", "api_key"),
        ("bambu://?serial=01S00A123456789", "host"),
        ("bambu://192.168.1.40/x?serial=01S00A123456789", "path"),
    ],
)
async def test_bad_bambu_urls_are_refused_naming_what_is_wrong(
    owner: OrgClient, url: str, named: str
) -> None:
    r = await owner.post("/v1/printers", json={**BAMBU, "connection_url": url})
    assert_error(r, 400, "invalid_request", "connection_url")
    assert named in r.json()["error"]["message"]
    assert "raspberry" not in r.text
