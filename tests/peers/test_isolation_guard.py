"""Outside a loopback-only network namespace the peers refuse to start at all, whatever
the conftest's skips do (a test run with them bypassed must still send nothing out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.klipper_stack import KlipperStack, isolated
from tests.support.prusalink_peer import PrusaLinkPeer

pytestmark = pytest.mark.skipif(isolated(), reason="inside the namespace the peers may start")


def test_klippy_and_moonraker_refuse_to_start(tmp_path: Path) -> None:
    stack = KlipperStack(tmp_path, 7125)
    with pytest.raises(RuntimeError, match="loopback-only network namespace"):
        stack.start_moonraker()


def test_prusalink_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="loopback-only network namespace"):
        PrusaLinkPeer(tmp_path, 8080).start_link()
    peer = PrusaLinkPeer(tmp_path, 8080)
    with pytest.raises(RuntimeError, match="loopback-only network namespace"):
        peer.start()
    assert peer.pty == ""  # not even its simulated printer was started
