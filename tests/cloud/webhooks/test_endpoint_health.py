"""The test send, disabling (410 and long failure) with the organization told, the URL
policy at delivery time, and the worker started by the app's lifespan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from cloud.app import build_context, create_app
from cloud.db.models import Event
from cloud.db.types import utcnow
from cloud.orchestration.db import writing
from cloud.webhooks import store
from cloud.webhooks.tables import FAILED, PENDING
from shared.enums import EventType
from tests.cloud.conftest import Api, OrgClient
from tests.cloud.webhooks.conftest import (
    WorkerFactory,
    attempts_of,
    create_hook,
    deliveries_of,
    emit,
    eventually,
    fast_config,
)
from tests.cloud.webhooks.receiver import WebhookReceiver


async def test_test_send_answers_status_and_latency_and_is_logged(
    owner: OrgClient, receiver: WebhookReceiver
) -> None:
    receiver.status_for = lambda path: 202 if path == "/ok" else 500
    ok = await create_hook(owner, receiver.url("/ok"), ["job.*"], enabled=False)
    result = (await owner.post(f"/v1/webhooks/{ok['id']}/test")).json()
    assert result["success"] is True and result["status"] == "succeeded"
    assert result["status_code"] == 202 and result["error"] is None
    assert 0 < result["latency_ms"] < 5000
    (seen,) = receiver.received
    body = Webhook(ok["secret"]).verify(seen.body, seen.headers)
    assert body["type"] == result["event"] == "webhook.test"
    assert seen.headers["webhook-id"] == result["message_id"] == body["id"]
    assert body["data"]["webhook"]["id"] == ok["id"]

    bad = await create_hook(owner, receiver.url("/bad"), ["job.*"])
    failed = (await owner.post(f"/v1/webhooks/{bad['id']}/test")).json()
    assert (failed["success"], failed["status_code"], failed["error"]) == (False, 500, "HTTP 500")
    (attempt,) = (await owner.get(f"/v1/webhooks/{bad['id']}/deliveries")).json()["data"]
    assert attempt["outcome"] == "test" and attempt["status_code"] == 500
    assert attempt["message_id"] == failed["message_id"]
    # A test does not change the endpoint: it failed once, but nothing is disabled.
    assert (await owner.get(f"/v1/webhooks/{bad['id']}")).json()["failing_since"] is None


async def test_test_send_to_a_closed_port_reports_the_error(
    owner: OrgClient, receiver: WebhookReceiver
) -> None:
    hook = await create_hook(owner, receiver.url(), ["job.*"])
    await receiver.stop()
    result = (await owner.post(f"/v1/webhooks/{hook['id']}/test")).json()
    assert (result["success"], result["status_code"]) == (False, None)
    assert result["error"] == "connection failed"


async def _disabled_events(api: Api, webhook_id: str) -> list[Any]:
    async with api.app.state["ctx"].sessions() as session:
        rows = await session.execute(
            select(Event).where(Event.resource_id == webhook_id, Event.type == "webhook.disabled")  # type: ignore[arg-type]
        )
        return list(rows.scalars())


async def test_410_disables_the_endpoint_and_the_organization_is_told(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    receiver.status_for = lambda path: 410 if path == "/gone" else 200
    gone = await create_hook(owner, receiver.url("/gone"), ["job.*"])
    watcher = await create_hook(owner, receiver.url("/watch"), ["webhook.*"])
    async with run_worker():
        first = await emit(api, owner.org.org_id, EventType.JOB_STARTED)
        await receiver.wait_for(lambda: len(receiver.at("/watch")) == 1)
        # Messages that arrive while it is disabled are not fanned out to it.
        await emit(api, owner.org.org_id, EventType.JOB_COMPLETED)
        notice = Webhook(watcher["secret"]).verify(
            receiver.at("/watch")[0].body, receiver.at("/watch")[0].headers
        )
    assert notice["type"] == "webhook.disabled"
    assert notice["data"]["webhook"]["id"] == gone["id"]
    assert notice["data"]["webhook"]["disabled_reason"] == "gone"
    assert "secret" not in notice["data"]["webhook"]
    view = (await owner.get(f"/v1/webhooks/{gone['id']}")).json()
    assert (view["enabled"], view["disabled_reason"]) == (False, "gone")
    assert view["disabled_at"] is not None
    assert [r.headers["webhook-id"] for r in receiver.at("/gone")] == [first]
    (delivery,) = await deliveries_of(api, gone["id"])
    assert (delivery.status, delivery.attempts) == (FAILED, 1)
    assert len(await _disabled_events(api, gone["id"])) == 1
    listed = (await owner.get("/v1/webhooks?enabled=false")).json()["data"]
    assert [w["id"] for w in listed] == [gone["id"]]


async def test_an_endpoint_failing_for_the_whole_schedule_is_disabled_and_resumes_when_enabled(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    healthy = False
    receiver.status_for = lambda _path: 200 if healthy else 500
    hook = await create_hook(owner, receiver.url(), ["material.*"])
    async with run_worker(fast_config(delays_s=(0.02, 0.02))):
        first = await emit(api, owner.org.org_id, EventType.MATERIAL_LOW)

        async def disabled() -> bool:
            return len(await _disabled_events(api, hook["id"])) == 1

        await eventually(disabled, what="the endpoint disabled")
        view = (await owner.get(f"/v1/webhooks/{hook['id']}")).json()
        assert (view["enabled"], view["disabled_reason"]) == (False, "failing")
        assert view["failing_since"] is not None and view["last_success_at"] is None
        attempts = await attempts_of(api, hook["id"])
        assert [a.outcome for a in sorted(attempts, key=lambda a: a.attempt)] == [
            "retrying",
            "retrying",
            "failed",
        ]
        assert all(r.headers["webhook-id"] == first for r in receiver.received)
        healthy = True
        patched = await owner.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True})
        assert patched.json()["disabled_reason"] is None
        second = await emit(api, owner.org.org_id, EventType.MATERIAL_EMPTY)
        await receiver.wait_for(lambda: any(r.status == 200 for r in receiver.received))
    assert [r.headers["webhook-id"] for r in receiver.received if r.status == 200] == [second]


async def test_held_messages_of_a_disabled_endpoint_resume_when_it_is_enabled(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    up = False
    receiver.status_for = lambda _path: 200 if up else 503
    hook = await create_hook(owner, receiver.url(), ["job.*"])
    async with run_worker(fast_config(delays_s=(0.05,) * 50)):
        event_id = await emit(api, owner.org.org_id, EventType.JOB_CREATED)
        await receiver.wait_for(lambda: len(receiver.received) >= 1)
        await owner.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False})

        async def settled_and_due() -> bool:
            (row,) = await deliveries_of(api, hook["id"])
            return row.lease_owner is None and row.next_attempt_at <= utcnow()

        await eventually(settled_and_due, what="the in-flight attempt recorded and due")
        # Due, pending, but held: nobody may claim it while the endpoint is disabled.
        async with writing(api.app.state["ctx"]) as session:
            claimed = await store.claim(session, owner="probe", limit=10, now=utcnow(), lease_s=5)
        assert claimed == []
        (row,) = await deliveries_of(api, hook["id"])
        assert row.status == PENDING
        up = True
        await owner.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True})
        await receiver.wait_for(lambda: any(r.status == 200 for r in receiver.received))
    assert {r.headers["webhook-id"] for r in receiver.received} == {event_id}
    assert [r.status for r in receiver.received].count(200) == 1


async def test_the_url_policy_is_checked_again_at_delivery(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    # Saved while the deployment allowed private targets; the worker's policy now forbids.
    hook = await create_hook(owner, receiver.url(), ["job.*"])
    async with run_worker(fast_config(delays_s=(0.05,), allow_private_urls=False)):
        await emit(api, owner.org.org_id, EventType.JOB_CREATED)

        async def failed() -> bool:
            rows = await deliveries_of(api, hook["id"])
            return bool(rows) and rows[0].status == FAILED

        await eventually(failed, what="refused attempts")
    assert receiver.received == []
    errors = {a.error for a in await attempts_of(api, hook["id"])}
    assert len(errors) == 1 and errors.pop().startswith("URL refused: 127.0.0.1 is a loopback")


async def test_the_app_lifespan_runs_the_worker(
    api: Api, owner: OrgClient, receiver: WebhookReceiver
) -> None:
    hook = await create_hook(owner, receiver.url(), ["printer.*"])
    ctx = build_context(api.settings)
    app = create_app(api.settings, context=ctx, webhooks=fast_config())
    async with app.lifespan():
        event_id = await emit(api, owner.org.org_id, EventType.PRINTER_ERROR)
        await receiver.wait_for(lambda: len(receiver.received) == 1)
    assert receiver.received[0].headers["webhook-id"] == event_id
    (delivery,) = await deliveries_of(api, hook["id"])
    assert delivery.status != PENDING  # recorded before the app finished shutting down


async def test_old_log_rows_are_pruned_but_pending_messages_never(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    receiver.status_for = lambda path: 200 if path == "/ok" else 500
    ok = await create_hook(owner, receiver.url("/ok"), ["job.*"])
    bad = await create_hook(owner, receiver.url("/bad"), ["job.*"])
    async with run_worker(fast_config(delays_s=(3600.0,))):
        await emit(api, owner.org.org_id, EventType.JOB_CREATED)

        async def both_tried() -> bool:
            done = await attempts_of(api, ok["id"]), await attempts_of(api, bad["id"])
            return all(len(rows) == 1 for rows in done)

        await eventually(both_tried, what="one attempt each")
    async with writing(api.app.state["ctx"]) as session:
        pruned = await store.prune(session, before=utcnow() + timedelta(days=1))
    assert pruned == 3  # two attempts and the succeeded delivery
    assert await attempts_of(api, ok["id"]) == [] and await deliveries_of(api, ok["id"]) == []
    (held,) = await deliveries_of(api, bad["id"])
    assert held.status == PENDING and held.attempts == 1
