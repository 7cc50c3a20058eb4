"""Webhook signing secrets at rest: sealed for ``webhook:{id}:secret`` (cloud/sealing.py).

An endpoint's secret signs every message it receives, so whoever reads it can forge them;
it is sealed like printer secrets and MQTT passwords, and opened only to sign. Before
migration 0010 it was kept in plain text in ``webhooks.secret``; `seal_legacy_webhook_secrets`
moves each such value into ``secret_sealed`` and empties the old column, when the service
starts and in `apf cloud rotate-secrets` (a conditional update per row, so several processes
may run it at once).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.orchestration.db import writing
from cloud.sealing import SealError, SecretBox
from cloud.webhooks.tables import WebhookEndpoint

log = logging.getLogger(__name__)

_WEBHOOKS: Any = table_of(WebhookEndpoint).c


def webhook_secret_purpose(webhook_id: str) -> str:
    return f"webhook:{webhook_id}:secret"


def open_secret(box: SecretBox, webhook_id: str, sealed: str | None, legacy: str | None) -> str:
    """The secret to sign with: the sealed one, or one not sealed yet (a row written by an
    earlier version, between its upgrade and the start-up sealing). `SealError` if it
    cannot be opened (sealed under a key that is no longer configured)."""
    if sealed is not None:
        return box.open(sealed, webhook_secret_purpose(webhook_id))
    if legacy is not None:
        return legacy
    raise SealError(f"webhook {webhook_id} has no secret")


async def seal_legacy_webhook_secrets(app: CloudContext) -> int:
    box = app.secrets
    sealed = 0
    async with writing(app) as session:
        rows = (
            await session.execute(
                select(_WEBHOOKS.id, _WEBHOOKS.secret).where(_WEBHOOKS.secret.is_not(None))
            )
        ).all()
        for webhook_id, plain in rows:
            result = await session.execute(
                update(_WEBHOOKS.id.table)
                .where(_WEBHOOKS.id == webhook_id, _WEBHOOKS.secret == plain)
                .values(
                    secret_sealed=box.seal(plain, webhook_secret_purpose(webhook_id)), secret=None
                )
            )
            sealed += result.rowcount  # type: ignore[attr-defined]
        await session.commit()
    if sealed:
        log.info("sealed %d webhook secrets kept in plain text by an earlier version", sealed)
    return sealed
