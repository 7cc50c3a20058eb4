"""`apf cloud check-broker` and `apf cloud rotate-secrets`, as an operator runs them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from cloud.app import build_context
from cloud.db.models import Printer
from cloud.sealing import SecretBox, new_key_hex
from cloud.services.admin import create_org
from cloud.services.printer_secrets import printer_secret_purpose
from cloud.settings import Settings
from cloud.webhooks.secrets import webhook_secret_purpose
from cloud.webhooks.tables import WebhookEndpoint
from tests.cloud.server import clean_env, cli
from tests.support.broker import BrokerOptions, TestBroker


def test_check_broker_says_yes_for_an_administrator(mqtt_broker: TestBroker) -> None:
    done = cli("check-broker", env=clean_env(APF_MQTT_URL=mqtt_broker.url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK:" in done.stdout and "holds the role apf-cloud" in done.stdout


def test_check_broker_names_a_refused_login(mqtt_broker: TestBroker) -> None:
    url = f"mqtt://apf-admin:wrong-password@{mqtt_broker.host}:{mqtt_broker.port}"
    done = cli("check-broker", env=clean_env(APF_MQTT_URL=url))
    assert done.returncode == 1
    assert "refused user 'apf-admin'" in done.stderr
    assert "wrong-password" not in done.stdout + done.stderr


def test_check_broker_says_what_a_broker_without_dynamic_security_lacks(
    make_mqtt_broker: Callable[[BrokerOptions | None], TestBroker],
) -> None:
    broker = make_mqtt_broker(BrokerOptions(users={"cloud": "cloud-password"}))
    url = f"mqtt://cloud:cloud-password@{broker.host}:{broker.port}"
    done = cli("check-broker", env=clean_env(APF_MQTT_URL=url))
    assert done.returncode == 1
    assert "FAIL: no answer" in done.stdout and "mosquitto_dynamic_security.so" in done.stdout


def test_rotate_secrets_reseals_under_the_new_key(tmp_path: Path) -> None:
    old_key, new_key = new_key_hex(), new_key_hex()
    assert cli("migrate", "--data-dir", str(tmp_path), env=clean_env()).returncode == 0

    async def add_sealed_printer() -> None:
        ctx = build_context(Settings(data_dir=str(tmp_path), secrets_key=old_key))
        try:
            async with ctx.sessions() as session:
                org = await create_org(session, "Farm", owner_email="o@x.invalid")
                session.add(
                    Printer(
                        id="prt_1",
                        org_id=org.org_id,
                        name="p",
                        connection_kind="octoprint",
                        connection_url="http://op",
                        connection_secret_sealed=ctx.secrets.seal(
                            "KEY-1", printer_secret_purpose("prt_1")
                        ),
                    )
                )
                session.add(
                    WebhookEndpoint(
                        id="whk_1",
                        org_id=org.org_id,
                        url="https://example.com/h",
                        events=["job.*"],
                        secret_sealed=ctx.secrets.seal("HOOK-1", webhook_secret_purpose("whk_1")),
                    )
                )
                await session.commit()
        finally:
            await ctx.engine.dispose()

    asyncio.run(add_sealed_printer())
    done = cli(
        "rotate-secrets",
        "--data-dir",
        str(tmp_path),
        env=clean_env(APF_SECRETS_KEY=new_key, APF_SECRETS_OLD_KEYS=old_key),
    )
    assert done.returncode == 0, done.stderr
    assert "printer secrets: 1 re-sealed" in done.stdout
    assert "webhook secrets: 1 re-sealed" in done.stdout
    with sqlite3.connect(tmp_path / "apf.sqlite3") as db:
        (sealed,) = db.execute("SELECT connection_secret_sealed FROM printers").fetchone()
        (hook,) = db.execute("SELECT secret_sealed FROM webhooks").fetchone()
    only_new = SecretBox(bytes.fromhex(new_key))
    assert only_new.open(sealed, printer_secret_purpose("prt_1")) == "KEY-1"
    assert only_new.open(hook, webhook_secret_purpose("whk_1")) == "HOOK-1"
    again = cli(
        "rotate-secrets", "--data-dir", str(tmp_path), env=clean_env(APF_SECRETS_KEY=new_key)
    )
    assert again.returncode == 0 and "printer secrets: 0 re-sealed" in again.stdout
