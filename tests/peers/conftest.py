"""Suites against real third-party peers that must not reach the network.

Klipper, Moonraker and PrusaLink look up names and announce themselves when left alone, so
they run only in a network namespace with loopback alone: `scripts/test-peers` runs this folder
that way (and `scripts/test` runs it beside the main suite). Anywhere else every test here
is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.klipper_stack import KlipperStack, prepare
from tests.support.klipper_stack import unavailable_reason as klipper_unavailable
from tests.support.ports import free_port
from tests.support.prusalink_peer import PrusaLinkPeer
from tests.support.prusalink_peer import unavailable_reason as prusalink_unavailable


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test here skips, saying why, where its peer cannot run."""
    reasons = {
        "test_moonraker": klipper_unavailable(),
        "test_prusalink": prusalink_unavailable(),
    }
    here = Path(__file__).parent
    for item in items:
        if here not in Path(item.path).parents:
            continue
        for prefix, reason in reasons.items():
            if Path(item.path).name.startswith(prefix) and reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def klipper_prepared() -> None:
    prepare()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short data directory: Moonraker's and Klippy's unix sockets live in it, and a
    socket path is limited to 107 bytes (pytest's tmp_path can be longer)."""
    path = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def klipper(klipper_prepared: None, short_dir: Path) -> Iterator[KlipperStack]:
    """A fresh Klipper + Moonraker, ready, for one test."""
    stack = KlipperStack(short_dir, free_port())
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def prusalink() -> Iterator[PrusaLinkPeer]:
    """PrusaLink on a fresh simulated MK3S, IDLE, for one test. Its data dir is not under
    /tmp: PrusaLink refuses storage there."""
    path = Path(tempfile.mkdtemp(prefix="apf-prusalink-", dir="/var/tmp"))
    peer = PrusaLinkPeer(path, free_port())
    try:
        peer.start()
        yield peer
    finally:
        peer.stop()
        shutil.rmtree(path, ignore_errors=True)
