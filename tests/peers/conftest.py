"""Suites against real third-party peers that must not reach the network.

Klipper and Moonraker look up names and announce themselves when left alone, so they run
only in a network namespace with loopback alone: `scripts/test-peers` runs this folder
that way (and `scripts/test` runs it beside the main suite). Anywhere else every test here
is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.klipper_stack import KlipperStack, prepare, unavailable_reason
from tests.support.ports import free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
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
