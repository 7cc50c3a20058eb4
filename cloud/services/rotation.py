"""`apf cloud rotate-secrets`: every sealed value re-sealed under the current key.

After setting a new ``secrets_key`` (and the old one in ``secrets_old_keys``), run it once;
then the old key can be dropped from ``secrets_old_keys``. Values already sealed under the
current key are left alone, so running it again, or on several replicas, does no harm.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Printer
from cloud.mqttauth.tables import BrokerLogin, password_purpose
from cloud.orchestration.db import writing
from cloud.services.printer_secrets import printer_secret_purpose, seal_legacy_printer_secrets
from cloud.webhooks.secrets import seal_legacy_webhook_secrets, webhook_secret_purpose
from cloud.webhooks.tables import WebhookEndpoint

_PRINTERS: Any = table_of(Printer).c
_LOGINS: Any = table_of(BrokerLogin).c
_WEBHOOKS: Any = table_of(WebhookEndpoint).c


async def reseal_all(app: CloudContext) -> dict[str, int]:
    box = app.secrets
    counts = {
        "plain-text printer keys": await seal_legacy_printer_secrets(app),
        "plain-text webhook secrets": await seal_legacy_webhook_secrets(app),
    }
    for label, column, purpose in (
        ("printer secrets", _PRINTERS.connection_secret_sealed, printer_secret_purpose),
        ("MQTT passwords", _LOGINS.password_sealed, password_purpose),
        ("webhook secrets", _WEBHOOKS.secret_sealed, webhook_secret_purpose),
    ):
        table = column.table
        done = 0
        async with writing(app) as session:
            rows = (
                await session.execute(select(table.c.id, column).where(column.is_not(None)))
            ).all()
            for row_id, sealed in rows:
                if box.is_current(sealed):
                    continue
                fresh = box.seal(box.open(sealed, purpose(row_id)), purpose(row_id))
                await session.execute(
                    update(table)
                    .where(table.c.id == row_id, column == sealed)
                    .values({column.name: fresh})
                )
                done += 1
            await session.commit()
        counts[label] = done
    return counts
