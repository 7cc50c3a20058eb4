"""Both ends wired together with no I/O: the protocol against an in-memory firmware.

Noise in both directions, lost oks and each dialect's resend style; the firmware must execute
exactly the file, in order, once, and its receive buffer must never overflow.
"""

from __future__ import annotations

import random

import pytest

from agent.serial.events import NEED_DATA
from agent.serial.profiles import get_profile
from agent.serial.protocol import HostProtocol
from tests.agent.serial.firmware_model import FirmwareModel

HOST_COMMANDS = ("M110", "M105")


def make_file(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"G1 X{rng.uniform(0, 200):.3f} Y{rng.uniform(0, 200):.3f} E{rng.uniform(0, 9):.5f}"
        for _ in range(count)
    ]


def run_link(protocol: HostProtocol, firmware: FirmwareModel, lines: list[str]) -> float:
    for index, line in enumerate(lines):
        protocol.queue_file_line(line.encode(), index + 1)
    now_s = 0.0
    for _ in range(500_000):
        if protocol.file_offset_acked == len(lines) and protocol.idle:
            return now_s
        out = protocol.data_to_send(now_s)
        if out:
            firmware.feed(out)
        back = firmware.process(1)
        if back:
            protocol.receive_data(back, now_s)
            while protocol.next_event() is not NEED_DATA:
                pass
        now_s += 0.001 if (out or back) else 0.01
        protocol.on_timeout(now_s)
    raise AssertionError("the link stalled")


def executed_file_lines(firmware: FirmwareModel) -> list[str]:
    return [c for c in firmware.executed if not c.startswith(HOST_COMMANDS)]


@pytest.mark.parametrize(
    "profile", ["marlin", "prusa", "repetier", "smoothieware", "klipper", "reprapfirmware"]
)
def test_clean_link_streams_without_overflow(profile: str) -> None:
    protocol = HostProtocol(get_profile(profile))
    firmware = FirmwareModel(profile, rx_buffer_bytes=get_profile(profile).link.rx_buffer_bytes)
    lines = make_file(500, seed=3)
    run_link(protocol, firmware, lines)
    assert executed_file_lines(firmware) == lines
    assert firmware.overflowed_bytes == 0
    assert protocol.resends == 0


@pytest.mark.parametrize(
    ("profile", "dialect"),
    [
        ("marlin", "marlin"),
        ("marlin", "marlin-no-ok"),
        ("prusa", "prusa"),
        ("smoothieware", "smoothieware"),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_both_ways_loses_and_repeats_nothing(profile: str, dialect: str, seed: int) -> None:
    protocol = HostProtocol(get_profile(profile), probe_s=0.05)
    firmware = FirmwareModel(
        dialect, corrupt_rx_share=0.02, corrupt_tx_share=0.02, drop_ok_share=0.005, seed=seed
    )
    lines = make_file(3000, seed=seed)
    run_link(protocol, firmware, lines)
    assert executed_file_lines(firmware) == lines
    assert protocol.resends > 0


def test_advanced_ok_link_with_noise() -> None:
    protocol = HostProtocol(get_profile("marlin"), probe_s=0.05)
    firmware = FirmwareModel(
        "marlin",
        queue_depth=8,
        advanced_ok=True,
        corrupt_rx_share=0.02,
        corrupt_tx_share=0.02,
        seed=9,
    )
    lines = make_file(2000, seed=9)
    run_link(protocol, firmware, lines)
    assert executed_file_lines(firmware) == lines


def test_silent_drop_dialect_recovers_by_timeout() -> None:
    # RepRapFirmware: a corrupted line vanishes; only the missing ok shows it.
    protocol = HostProtocol(get_profile("reprapfirmware"), probe_s=0.05)
    firmware = FirmwareModel("reprapfirmware", corrupt_rx_share=0.02, seed=4)
    lines = make_file(1000, seed=4)
    run_link(protocol, firmware, lines)
    assert executed_file_lines(firmware) == lines
    assert protocol.resends > 0
