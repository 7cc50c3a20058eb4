"""Webhook secrets are sealed at rest and opened only to sign; plain ones of an earlier
version are sealed at start-up; `rotate-secrets` re-seals them (test_broker_cli.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from cloud.webhooks.secrets import seal_legacy_webhook_secrets, webhook_secret_purpose
from cloud.webhooks.tables import WebhookEndpoint
from shared.enums import EventType
from tests.cloud.conftest import Api, OrgClient, SessionRunner
from tests.cloud.webhooks.conftest import WorkerFactory, create_hook, emit
from tests.cloud.webhooks.receiver import WebhookReceiver
from tests.cloud.webhooks.test_delivery import verified

SECRET = "webhook_secret_key"


async def stored(in_db: SessionRunner, webhook_id: str) -> Any:
    async def run(session: Any) -> Any:
        row = await session.get(WebhookEndpoint, webhook_id)
        return (row.secret, row.secret_sealed)

    return await in_db(run)


async def test_a_secret_is_stored_sealed_and_still_signs(
    api: Api, owner: OrgClient, in_db: SessionRunner, receiver: WebhookReceiver,
    run_worker: WorkerFactory,
) -> None:  # fmt: skip
    hook = await create_hook(owner, receiver.url(), ["job.*"], secret=SECRET)
    plain, sealed = await stored(in_db, hook["id"])
    assert plain is None and sealed is not None and SECRET not in sealed
    # Sealed for this endpoint: it does not open as another's.
    ctx = api.app.state["ctx"]
    assert ctx.secrets.open(sealed, webhook_secret_purpose(hook["id"])) == SECRET
    async with run_worker():
        await emit(api, owner.org.org_id, EventType.JOB_COMPLETED)
        await receiver.wait_for(lambda: len(receiver.received) == 1)
    assert verified(SECRET.encode(), receiver.received[0])["type"].startswith("job.")
    # A new secret through PATCH is sealed too.
    r = await owner.patch(f"/v1/webhooks/{hook['id']}", json={"secret": "another_secret_1"})
    assert r.status_code == 200, r.text
    plain, resealed = await stored(in_db, hook["id"])
    assert plain is None and resealed != sealed
    assert ctx.secrets.open(resealed, webhook_secret_purpose(hook["id"])) == "another_secret_1"


async def test_plain_secrets_of_an_earlier_version_are_sealed_once(
    api: Api, owner: OrgClient, in_db: SessionRunner, receiver: WebhookReceiver
) -> None:
    hook = await create_hook(owner, receiver.url(), ["job.*"], secret=SECRET)

    async def as_before(session: Any) -> None:
        # What a row of version 0009 looks like: the secret in plain text.
        table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
        await session.execute(
            update(table).where(table.c.id == hook["id"]).values(secret=SECRET, secret_sealed=None)
        )

    await in_db(as_before)
    ctx = api.app.state["ctx"]
    assert await seal_legacy_webhook_secrets(ctx) == 1
    assert await seal_legacy_webhook_secrets(ctx) == 0  # once
    plain, sealed = await stored(in_db, hook["id"])
    assert plain is None and ctx.secrets.open(sealed, webhook_secret_purpose(hook["id"])) == SECRET
