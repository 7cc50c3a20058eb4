"""Delivery to a real receiver on loopback: routing, signatures, body, retries, restarts."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from standardwebhooks import Webhook

from cloud.webhooks.tables import PENDING, SUCCEEDED
from shared.enums import EventType
from tests.cloud.conftest import Api, OrgClient
from tests.cloud.net.httpserver import LoopbackHTTPServer, Route
from tests.cloud.webhooks.conftest import (
    WorkerFactory,
    attempts_of,
    create_hook,
    deliveries_of,
    emit,
    eventually,
    fast_config,
)
from tests.cloud.webhooks.receiver import Received, WebhookReceiver


def verified(secret: str | bytes, seen: Received) -> Any:
    """The body as the reference Standard Webhooks library verifies it (not our code)."""
    key = secret if isinstance(secret, bytes) or secret.startswith("whsec_") else secret.encode()
    return Webhook(key).verify(seen.body, seen.headers)


async def test_every_event_reaches_matching_subscriptions_and_only_those(
    api: Api,
    owner: OrgClient,
    other: OrgClient,
    receiver: WebhookReceiver,
    run_worker: WorkerFactory,
) -> None:
    subscriptions = {
        "/jobs": ["job.*"],
        "/printers": ["printer.*"],
        "/materials": ["material.*"],
        "/exact": ["job.completed", "printer.error", "material.low"],
        "/all": ["job.*", "printer.*", "material.*"],
    }
    hooks = {
        path: await create_hook(owner, receiver.url(path), events)
        for path, events in subscriptions.items()
    }
    await create_hook(owner, receiver.url("/disabled"), ["job.*"], enabled=False)
    await create_hook(other, receiver.url("/rival"), ["job.*", "printer.*", "material.*"])
    expected: dict[str, set[str]] = {path: set() for path in subscriptions}
    async with run_worker():
        for event_type in EventType:
            event_id = await emit(api, owner.org.org_id, event_type)
            family = event_type.value.split(".")[0]
            for path, events in subscriptions.items():
                if event_type.value in events or f"{family}.*" in events:
                    expected[path].add(event_id)
        total = sum(len(ids) for ids in expected.values())
        await receiver.wait_for(lambda: len(receiver.received) >= total)
    assert {r.path for r in receiver.received} <= set(subscriptions)
    for path, ids in expected.items():
        seen = receiver.at(path)
        bodies = [verified(hooks[path]["secret"], r) for r in seen]
        assert sorted(b["id"] for b in bodies) == sorted(ids), path
        for r, body in zip(seen, bodies, strict=True):
            assert r.headers["webhook-id"] == body["id"]
            assert set(body) == {"id", "type", "created_at", "timestamp", "data"}
            family = body["type"].split(".")[0]
            assert body["data"] == {family: {"id": "res_1", "kind": family}}
            assert r.headers["content-type"] == "application/json"
    assert len(expected["/all"]) == len(EventType)


async def test_a_real_material_low_event_is_delivered_signed_with_a_raw_secret(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    hook = await create_hook(owner, receiver.url(), ["material.low"], secret="webhook_secret_key")
    spool = (
        await owner.post(
            "/v1/materials", json={"type": "PLA", "spool_weight": 1000, "reorder_threshold": 200}
        )
    ).json()
    async with run_worker():
        await owner.patch(f"/v1/materials/{spool['id']}", json={"remaining_weight": 150})
        await receiver.wait_for(lambda: len(receiver.received) == 1)
    body = verified(b"webhook_secret_key", receiver.received[0])
    assert body["type"] == "material.low"
    assert body["data"]["material"]["id"] == spool["id"]
    assert body["data"]["material"]["remaining_weight"] == 150
    log = (await owner.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
    assert [(a["event"], a["status_code"], a["outcome"]) for a in log["data"]] == [
        ("material.low", 200, "succeeded")
    ]


async def test_receiver_down_for_a_while_gets_everything_once_and_every_attempt_is_logged(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    up = False
    receiver.status_for = lambda _path: 200 if up else 503
    hook = await create_hook(owner, receiver.url(), ["job.*"])
    config = fast_config(delays_s=(0.05,) * 30)
    async with run_worker(config):
        ids = [
            await emit(api, owner.org.org_id, EventType.JOB_COMPLETED, f"job_{i}") for i in range(5)
        ]
        # Down twice over: 503 answers, then no listener at all (connection refused).
        await receiver.wait_for(
            lambda: all(
                sum(r.headers["webhook-id"] == i for r in receiver.received) >= 2 for i in ids
            )
        )
        await receiver.stop()

        async def refused_logged() -> bool:
            return sum(a.status_code is None for a in await attempts_of(api, hook["id"])) >= 5

        await eventually(refused_logged, what="attempts while refused")
        up = True
        await receiver.start()
        await receiver.wait_for(lambda: sum(r.status == 200 for r in receiver.received) >= 5)

        async def all_succeeded() -> bool:
            rows = await deliveries_of(api, hook["id"])
            return len(rows) == 5 and all(d.status == SUCCEEDED for d in rows)

        await eventually(all_succeeded, what="deliveries recorded as succeeded")
    successes = Counter(r.headers["webhook-id"] for r in receiver.received if r.status == 200)
    assert successes == Counter(dict.fromkeys(ids, 1))
    await _check_history(api, owner, hook["id"], ids, receiver)


async def _check_history(
    api: Api, owner: OrgClient, webhook_id: str, ids: list[str], receiver: WebhookReceiver
) -> None:
    """Every attempt logged, in order, with outcomes, errors and next retries; the API agrees."""
    attempts = await attempts_of(api, webhook_id)
    sent_503 = sum(r.status == 503 for r in receiver.received)
    assert len(attempts) == len(receiver.received) + sum(a.status_code is None for a in attempts)
    assert sum(a.status_code == 503 for a in attempts) == sent_503
    for event_id in ids:
        mine = sorted((a for a in attempts if a.event_id == event_id), key=lambda a: a.attempt)
        assert [a.attempt for a in mine] == list(range(1, len(mine) + 1))
        assert [a.outcome for a in mine] == ["retrying"] * (len(mine) - 1) + ["succeeded"]
        assert all(a.next_retry_at is not None and a.error for a in mine[:-1])
        assert mine[-1].next_retry_at is None and mine[-1].error is None
    # The API's log says the same: every attempt, newest first, paginated.
    page = (await owner.get(f"/v1/webhooks/{webhook_id}/deliveries?per_page=100")).json()
    assert page["pagination"]["total"] == len(attempts)
    times = [a["attempted_at"] for a in page["data"]]
    assert times == sorted(times, reverse=True)
    refused = [a for a in page["data"] if a["status_code"] is None]
    assert refused and all(a["error"] == "connection failed" for a in refused)
    failed_only = (await owner.get(f"/v1/webhooks/{webhook_id}/deliveries?success=false")).json()
    assert failed_only["pagination"]["total"] == len(attempts) - 5
    # Same webhook-id on every retry of one message, a fresh timestamp per attempt.
    for event_id in ids:
        seen = [r for r in receiver.received if r.headers["webhook-id"] == event_id]
        assert len({r.body for r in seen}) == 1
        stamps = [int(r.headers["webhook-timestamp"]) for r in seen]
        assert stamps == sorted(stamps) and abs(stamps[-1] - time.time()) < 60


async def test_a_cloud_restart_mid_backoff_loses_nothing_and_repeats_nothing(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    up = False
    receiver.status_for = lambda _path: 200 if up else 500
    hook = await create_hook(owner, receiver.url(), ["printer.*"])
    # The first retry is due 1.5 s after the failure: the first process is gone by then.
    config = fast_config(delays_s=(1.5, 0.05))
    async with run_worker(config):
        ids = {
            await emit(api, owner.org.org_id, EventType.PRINTER_OFFLINE, f"prt_{i}")
            for i in range(4)
        }

        async def first_attempts_logged() -> bool:
            return len(await attempts_of(api, hook["id"])) == 4

        await eventually(first_attempts_logged, what="first attempts")
    pending = await deliveries_of(api, hook["id"])
    assert {d.status for d in pending} == {PENDING}
    assert all(d.lease_owner is None and d.attempts == 1 for d in pending)
    up = True
    async with run_worker(config):
        await receiver.wait_for(lambda: sum(r.status == 200 for r in receiver.received) == 4)

        async def recorded() -> bool:
            return all(d.status == SUCCEEDED for d in await deliveries_of(api, hook["id"]))

        await eventually(recorded, what="successes recorded")
    assert Counter(r.headers["webhook-id"] for r in receiver.received) == Counter(
        dict.fromkeys(ids, 2)
    )
    assert sorted(a.attempt for a in await attempts_of(api, hook["id"])) == [1] * 4 + [2] * 4


async def test_two_workers_on_one_database_deliver_each_message_once(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    hooks = [await create_hook(owner, receiver.url(f"/h{i}"), ["job.*"]) for i in range(3)]
    async with run_worker(fast_config(max_in_flight=4)), run_worker(fast_config(max_in_flight=4)):
        ids = [
            await emit(api, owner.org.org_id, EventType.JOB_CREATED, f"job_{i}") for i in range(20)
        ]
        await receiver.wait_for(lambda: len(receiver.received) >= 60)
    pairs = Counter((r.path, r.headers["webhook-id"]) for r in receiver.received)
    assert pairs == Counter({(f"/h{i}", e): 1 for i in range(3) for e in ids})
    for hook in hooks:
        assert len(await attempts_of(api, hook["id"])) == 20


async def test_redirects_are_failures_and_not_followed(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    receiver.status_for = lambda path: 302 if path == "/moved" else 200
    receiver.extra_headers = {"Location": receiver.url("/elsewhere")}
    hook = await create_hook(owner, receiver.url("/moved"), ["job.*"])
    async with run_worker(fast_config(delays_s=(0.05,))):
        await emit(api, owner.org.org_id, EventType.JOB_FAILED)

        async def exhausted() -> bool:
            rows = await deliveries_of(api, hook["id"])
            return bool(rows) and rows[0].status == "failed"

        await eventually(exhausted, what="two failed attempts")
    assert [r.path for r in receiver.received] == ["/moved", "/moved"]
    assert {a.error for a in await attempts_of(api, hook["id"])} == {"HTTP 302"}


async def test_a_hanging_endpoint_cannot_hold_every_slot(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    hanging = LoopbackHTTPServer({"/hook": Route(hang=True)})
    async with hanging:
        await create_hook(owner, f"{hanging.base}/hook", ["job.*"])
        for i in range(6):  # queued first, so they are the oldest due when claims start
            await emit(api, owner.org.org_id, EventType.JOB_CREATED, f"job_a{i}")
        config = fast_config(
            max_in_flight=4,
            max_in_flight_per_endpoint=2,
            request_timeout_s=30.0,
            shutdown_timeout_s=0.2,
        )
        async with run_worker(config):
            await hanging.request_seen.wait()
            await create_hook(owner, receiver.url(), ["job.*"])
            for i in range(6):
                await emit(api, owner.org.org_id, EventType.JOB_STARTED, f"job_b{i}")
            # Far less than the 30 s the hanging receiver holds each of its attempts.
            await receiver.wait_for(lambda: len(receiver.received) == 6, timeout_s=10)
            assert len(hanging.requests) == 2
