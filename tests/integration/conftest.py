"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerOptions, TestBroker, make_broker

SECURED_KINDS = ["mosquitto", "embedded"] if shutil.which("mosquitto") else ["embedded"]


@pytest.fixture(params=SECURED_KINDS)
def secured_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestBroker]:
    """Each broker kind in turn, set up as docs/deploy.md says (Mosquitto: a LAN listener
    where client ids are the user names)."""
    options = BrokerOptions(lan_listener=True) if request.param == "mosquitto" else None
    (tmp_path / "broker").mkdir()
    broker = make_broker(tmp_path / "broker", options, kind=request.param)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
