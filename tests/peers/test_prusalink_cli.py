"""`apf print --prusalink` as a person runs it, and a full storage, against Prusa's
PrusaLink 0.8.1 on our simulated MK3S (tests/peers/conftest.py)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agent.drivers.base import DriverError, JobStarted
from agent.drivers.prusalink import PrusaLinkConfig, PrusaLinkDriver
from shared.enums import PrinterStatus
from tests.support.drivers import Recorder, supervised
from tests.support.ports import free_port
from tests.support.prusalink_peer import GCODES, PASSWORD, USER, PrusaLinkPeer, dwell_gcode


def apf_print(gcode: Path, url: str, password: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "apf", "print", str(gcode), "--prusalink", url]
    return subprocess.run(
        [*command, "--user", USER, "--password", password],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_apf_print_through_prusalink(prusalink: PrusaLinkPeer, tmp_path: Path) -> None:
    gcode = tmp_path / "cli.gcode"
    gcode.write_text(dwell_gcode(2))
    done = apf_print(gcode, prusalink.url, PASSWORD)
    assert done.returncode == 0, done.stderr
    assert "printer: PrusaLink 0.8.1, firmware 3.14.1" in done.stderr
    assert "printed in" in done.stderr


def test_apf_print_with_a_wrong_password(prusalink: PrusaLinkPeer, tmp_path: Path) -> None:
    gcode = tmp_path / "cli.gcode"
    gcode.write_text(dwell_gcode(1))
    done = apf_print(gcode, prusalink.url, "wrong-password")
    assert done.returncode == 3, done.stderr
    assert "PrusaLink refused the credentials" in done.stderr


async def test_a_full_storage_fails_the_start_with_the_sizes(tmp_path: Path) -> None:
    # PrusaLink's storage on a 256 KiB tmpfs (scripts/test-peers gives this test a mount
    # namespace of its own); PrusaLink refuses data under /tmp, so /var/tmp.
    data = Path(tempfile.mkdtemp(prefix="apf-prusalink-", dir="/var/tmp"))
    gcodes = data / GCODES
    gcodes.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(gcodes)]
    await asyncio.to_thread(subprocess.run, mount, check=True)
    peer = PrusaLinkPeer(data, free_port())
    try:
        await asyncio.to_thread(peer.start)
        recorder = Recorder()
        config = PrusaLinkConfig(url=peer.url, username=USER, password=PASSWORD)
        driver = PrusaLinkDriver(config, recorder)
        big = tmp_path / "big.gcode"
        big.write_text("; padding\n" * 60_000 + dwell_gcode(1))
        async with supervised(driver):
            await recorder.wait_for(
                lambda: driver.snapshot.status is PrinterStatus.IDLE, 30, "idle"
            )
            with pytest.raises(DriverError) as refused:
                await driver.start_job("job_full", big)
            assert driver.snapshot.status is PrinterStatus.IDLE
    finally:
        await asyncio.to_thread(peer.stop)
        await asyncio.to_thread(subprocess.run, ["umount", str(gcodes)], check=False)
        shutil.rmtree(data, ignore_errors=True)
    assert not recorder.of(JobStarted)
    assert str(refused.value).startswith("PrusaLink has no room for this file: 0.6 MiB, with 0.2")
