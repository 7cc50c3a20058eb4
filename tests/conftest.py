"""Fixtures every test folder can use: a real MQTT broker and a real PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerOptions, TestBroker, make_broker


@pytest.fixture
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBroker]:
    """A running broker on a free loopback port, private to this test.

    ``broker.url`` is ``mqtt://127.0.0.1:PORT``; ``stop()``/``start()``/``kill()`` let a test
    take the broker away and bring it back on the same port.
    """
    broker = make_broker(tmp_path_factory.mktemp("broker"))
    broker.start()
    try:
        yield broker
    finally:
        if broker.running and broker.supports_restart:
            broker.stop()


@pytest.fixture
def make_mqtt_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[BrokerOptions | None], TestBroker]]:
    """A factory for brokers with Mosquitto-only options (ACL and password files); skips
    where the broker is not Mosquitto."""
    started: list[TestBroker] = []

    def factory(options: BrokerOptions | None = None) -> TestBroker:
        broker = make_broker(tmp_path_factory.mktemp("broker"), options)
        if options is not None and not broker.supports_acl:
            pytest.skip(f"{broker.kind} broker has no ACLs or password files")
        broker.start()
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        if broker.running and broker.supports_restart:
            broker.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A ``postgresql://`` URL of a fresh, empty database, dropped after the test."""
    admin_url = os.environ.get("APF_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests need APF_TEST_DATABASE_URL (CI sets it)")
    from tests.support.postgres import create_database, drop_database

    url = create_database(admin_url)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that use the postgres_url fixture are marked, so `-m postgres` selects them.
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def no_unlocked_sqlite_writes(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A cloud running in the test's process (the demo's, the farm's) logs a write it sent
    to SQLite without the write lock (cloud/db/writer.py); such a write fails the test. The
    cloud of tests/cloud refuses them outright (`sqlite_unlocked_writes = "raise"`)."""
    yield
    unlocked = [r.getMessage() for r in caplog.records if r.name == "cloud.db.writer"]
    assert not unlocked, "\n".join(unlocked)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
