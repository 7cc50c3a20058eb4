"""`Idempotency-Key` on POSTs: a retry replays the first answer, never runs the action twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from cloud.db.engine import create_engine, session_factory
from cloud.db.types import utcnow
from cloud.idempotency.keys import lookup_hash
from cloud.idempotency.store import IN_FLIGHT_TIMEOUT, IdempotencyStore
from cloud.idempotency.tables import idempotency_keys
from cloud.services.materials import MaterialService
from tests.cloud.api.test_jobs import GCODE
from tests.cloud.api.test_printers import OCTO, make_agent, make_printer, set_status
from tests.cloud.conftest import Api, OrgClient, SessionRunner, assert_error


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def total(owner: OrgClient, path: str) -> int:
    r = await owner.get(path)
    assert r.status_code == 200, r.text
    return int(r.json()["pagination"]["total"])


async def stored_rows(in_db: SessionRunner) -> list[Any]:
    async def run(session: Any) -> list[Any]:
        return list((await session.execute(sa.select(idempotency_keys))).all())

    rows: list[Any] = await in_db(run)
    return rows


async def test_retry_replays_the_first_answer_and_creates_once(owner: OrgClient) -> None:
    # The SDKs send the draft's sf-string form ("…"); a bare token is the same key.
    first = await owner.post("/v1/printers", json=OCTO, headers=keyed('"k-printer-1"'))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await owner.post("/v1/printers", json=OCTO, headers=keyed("k-printer-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/json")
    # A replay is the first request answered again: under its request id.
    assert again.headers["x-request-id"] == first.headers["x-request-id"]
    assert "ratelimit" in again.headers
    assert await total(owner, "/v1/printers") == 1
    # Without a key, or with another one, the request runs again.
    assert (await owner.post("/v1/printers", json=OCTO)).status_code == 201
    assert (await owner.post("/v1/printers", json=OCTO, headers=keyed("k-2"))).status_code == 201
    assert await total(owner, "/v1/printers") == 3


async def test_every_create_and_action_honours_the_key(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    agent_id = await make_agent(owner)
    printer = await make_printer(owner, agent_id=agent_id)
    await set_status(in_db, printer["id"], "printing")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/v1/materials", {"type": "PLA", "spool_weight": 1000, "remaining_weight": 900}),
        ("/v1/users/invite", {"email": "ann@example.com"}),
        ("/v1/agents", {"name": "pi-2"}),
        (f"/v1/printers/{printer['id']}/actions", {"action": "pause"}),
        ("/v1/webhooks", {"url": "http://127.0.0.1:8081/hook", "events": ["job.*"]}),
    ]
    for i, (path, body) in enumerate(calls):
        first = await owner.post(path, json=body, headers=keyed(f"k-{i}"))
        assert first.status_code in (200, 201, 202), (path, first.text)
        again = await owner.post(path, json=body, headers=keyed(f"k-{i}"))
        assert (again.status_code, again.json()) == (first.status_code, first.json()), path
        assert again.headers["idempotent-replayed"] == "true"
    assert await total(owner, "/v1/materials") == 1
    assert await total(owner, "/v1/agents") == 2
    assert await total(owner, "/v1/webhooks") == 1


async def test_upload_retry_matches_despite_a_new_multipart_boundary(owner: OrgClient) -> None:
    # httpx draws a new boundary for every request, as a client rebuilding the upload would.
    first = await owner.post(
        "/v1/jobs",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"priority": "high"},
        headers=keyed("k-upload"),
    )
    assert first.status_code == 201, first.text
    again = await owner.post(
        "/v1/jobs",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"priority": "high"},
        headers=keyed("k-upload"),
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await total(owner, "/v1/jobs") == 1
    other = await owner.post(
        "/v1/jobs",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"priority": "low"},
        headers=keyed("k-upload"),
    )
    assert_error(other, 422, "invalid_request", "Idempotency-Key")


async def test_same_key_for_another_request_is_refused(owner: OrgClient) -> None:
    r = await owner.post("/v1/printers", json=OCTO, headers=keyed("k-1"))
    assert r.status_code == 201
    changed = await owner.post("/v1/printers", json={**OCTO, "name": "other"}, headers=keyed("k-1"))
    assert_error(changed, 422, "invalid_request", "Idempotency-Key")
    elsewhere = await owner.post(
        "/v1/materials",
        json={"type": "PLA", "spool_weight": 1000, "remaining_weight": 1000},
        headers=keyed("k-1"),
    )
    assert_error(elsewhere, 422, "invalid_request", "Idempotency-Key")
    assert await total(owner, "/v1/printers") == 1
    assert await total(owner, "/v1/materials") == 0


async def test_keys_belong_to_one_organization(owner: OrgClient, other: OrgClient) -> None:
    mine = await owner.post("/v1/printers", json=OCTO, headers=keyed("shared-key"))
    theirs = await other.post("/v1/printers", json=OCTO, headers=keyed("shared-key"))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


async def test_request_refusals_are_kept_state_refusals_are_not(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    bad = {**OCTO, "name": ""}
    first = await owner.post("/v1/printers", json=bad, headers=keyed("k-bad"))
    assert_error(first, 400, "invalid_request", "name")
    again = await owner.post("/v1/printers", json=bad, headers=keyed("k-bad"))
    assert_error(again, 400, "invalid_request", "name")
    assert again.headers["idempotent-replayed"] == "true"
    # An offline printer refuses the action; once it prints, the same retry goes through.
    agent_id = await make_agent(owner)
    printer = await make_printer(owner, agent_id=agent_id)
    path = f"/v1/printers/{printer['id']}/actions"
    refused = await owner.post(path, json={"action": "pause"}, headers=keyed("k-pause"))
    assert_error(refused, 409, "printer_offline")
    await set_status(in_db, printer["id"], "printing")
    done = await owner.post(path, json={"action": "pause"}, headers=keyed("k-pause"))
    assert done.status_code == 202, done.text
    assert "idempotent-replayed" not in done.headers


async def test_malformed_keys_are_invalid_request(owner: OrgClient) -> None:
    for value in ('""', "x" * 256, '"unterminated', 'a"b', '"bad \\n escape"'):
        r = await owner.post("/v1/printers", json=OCTO, headers=keyed(value))
        assert_error(r, 400, "invalid_request", "Idempotency-Key")
    r = await owner.api.client.post(
        "/v1/printers",
        json=OCTO,
        headers=[*owner.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert_error(r, 400, "invalid_request", "Idempotency-Key")
    assert await total(owner, "/v1/printers") == 0


async def test_a_retry_while_the_first_runs_is_409_and_runs_nothing(owner: OrgClient) -> None:
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.gcode"\r\n'
        "Content-Type: text/x.gcode\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    gate = asyncio.Event()
    reading = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield head + GCODE[:1000]
        reading.set()
        await gate.wait()  # the first request stays in flight until the retry was answered
        yield GCODE[1000:] + tail

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        **keyed("k-slow"),
    }
    first = asyncio.create_task(owner.post("/v1/jobs", content=slow_body(), headers=headers))
    await reading.wait()
    retry = await owner.post("/v1/jobs", content=head + GCODE + tail, headers=headers)
    assert_error(retry, 409, "invalid_request", "Idempotency-Key")
    assert retry.headers["retry-after"] == "1"
    gate.set()
    created = await first
    assert created.status_code == 201, created.text
    replay = await owner.post("/v1/jobs", content=head + GCODE + tail, headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["id"] == created.json()["id"]
    assert await total(owner, "/v1/jobs") == 1


async def test_an_expired_key_can_be_used_again_and_is_swept(
    api: Api, owner: OrgClient, in_db: SessionRunner
) -> None:
    assert (await owner.post("/v1/printers", json=OCTO, headers=keyed("k-old"))).status_code == 201
    old = utcnow() - timedelta(hours=25)

    async def age(session: Any) -> None:
        await session.execute(
            idempotency_keys.update().values(created_at=old, expires_at=old + timedelta(hours=24))
        )

    await in_db(age)
    reused = await owner.post("/v1/printers", json={**OCTO, "name": "new"}, headers=keyed("k-old"))
    assert reused.status_code == 201, reused.text
    assert reused.json()["name"] == "new"
    await in_db(age)
    ctx = api.app.state["ctx"]
    store = IdempotencyStore(session_factory(ctx.engine), ctx.write_lock)
    assert await store.sweep() == 1
    assert await stored_rows(in_db) == []


async def test_stored_answers_are_sealed(owner: OrgClient, in_db: SessionRunner) -> None:
    r = await owner.post("/v1/agents", json={"name": "pi"}, headers=keyed("k-agent"))
    assert r.status_code == 201
    password = r.json()["mqtt"]["password"]
    [row] = await stored_rows(in_db)
    assert row.status_code == 201
    assert "k-agent" not in row.key_hash
    assert password.encode() not in row.body
    assert r.json()["agent"]["id"].encode() not in row.body


async def test_one_claim_wins_across_processes(api: Api, owner: OrgClient) -> None:
    # Two engines on one database stand for two replicas; the unique key decides.
    url = api.settings.resolved_database_url
    engines = [create_engine(url, pool_size=5) for _ in range(2)]
    try:
        stores = [IdempotencyStore(session_factory(e)) for e in engines]
        results = await asyncio.gather(
            *(
                stores[i % 2].claim(owner.org.org_id, "f" * 64, "POST", "/v1/printers")
                for i in range(8)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(r is None for r in results) == 1
    assert all(r is None or r.status_code is None for r in results)


async def test_a_server_error_is_not_stored(
    owner: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"type": "PLA", "spool_weight": 1000, "remaining_weight": 1000}
    real_create = MaterialService.create
    calls = 0

    async def failing_once(self: MaterialService, data: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        return await real_create(self, data)

    monkeypatch.setattr(MaterialService, "create", failing_once)
    first = await owner.post("/v1/materials", json=body, headers=keyed("k-5xx"))
    assert_error(first, 500, "internal_error")
    retry = await owner.post("/v1/materials", json=body, headers=keyed("k-5xx"))
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert calls == 2


async def test_a_claim_left_in_flight_by_a_dead_process_lapses(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    started = utcnow() - IN_FLIGHT_TIMEOUT - timedelta(seconds=1)

    async def abandoned(session: Any) -> None:
        await session.execute(
            idempotency_keys.insert().values(
                org_id=owner.org.org_id,
                key_hash=lookup_hash(owner.org.org_id, "k-dead"),
                method="POST",
                path="/v1/printers",
                created_at=started,
                expires_at=started + timedelta(hours=24),
            )
        )

    await in_db(abandoned)
    r = await owner.post("/v1/printers", json=OCTO, headers=keyed("k-dead"))
    assert r.status_code == 201, r.text
    again = await owner.post("/v1/printers", json=OCTO, headers=keyed("k-dead"))
    assert again.headers["idempotent-replayed"] == "true"


MATERIAL = {"type": "PLA", "color": "Black", "spool_weight": 1000, "remaining_weight": 800}


async def test_a_hundred_concurrent_keyed_creates_all_succeed_once(owner: OrgClient) -> None:
    """Keyed POSTs at once, more than the connection pool holds: each claim and each write
    takes a connection before the writer lock (cloud/db/writer.py), so none waits for a
    connection that a waiter for the lock holds. Before: 500s ('QueuePool limit … reached')
    and time-outs on SQLite."""

    async def create(i: int) -> Any:
        return await owner.post(
            "/v1/materials", json={**MATERIAL, "brand": f"b{i}"}, headers=keyed(f"k-{i}")
        )

    answers = await asyncio.wait_for(asyncio.gather(*(create(i) for i in range(100))), 60)
    assert [a.status_code for a in answers] == [201] * 100, {a.text for a in answers}
    assert len({a.json()["id"] for a in answers}) == 100
    assert await total(owner, "/v1/materials?per_page=1") == 100
    # Every answer is kept: a retry replays it exactly.
    again = await create(42)
    assert (again.status_code, again.json()) == (201, answers[42].json())
    assert again.headers["idempotent-replayed"] == "true"
