"""The firmware model's clock, driven directly (no pty): one line in flight costs exactly
a round trip, and a host that keeps the receive buffer busy gets the whole wire. These
are the numbers the field notes' emulation gives (§2.4: 246 lines/s at 250000 baud with
1 ms each way, one line in flight)."""

from __future__ import annotations

import pytest

from agent.sim.config import SimConfig
from agent.sim.firmware import Firmware
from agent.sim.lineproto import checksum
from agent.sim.link import TxPath


def _lines(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        body = f"N{i + 1} G1 X{100 + i % 99:06.2f} Y{100 + i % 77:06.2f} E{1 + i % 9:.4f}"
        out.append(f"{body}*{checksum(body)}\n".encode())
    return out


def _stream(baud: int | None, window_bytes: int, lines: list[bytes]) -> float:
    """A host that keeps at most `window_bytes` unacknowledged; returns the sim time."""
    latency_s = 0.001
    fw = Firmware(SimConfig(dialect="marlin", baud=baud, latency_s=latency_s), 0.0)
    tx = TxPath(baud=baud, latency_s=latency_s)
    now_s, sent, acked = 0.0, 0, 0
    in_flight: list[int] = []
    arriving: list[tuple[float, str]] = []
    while acked < len(lines):
        while sent < len(lines) and (
            not in_flight or sum(in_flight) + len(lines[sent]) <= window_bytes
        ):
            fw.receive(lines[sent], now_s)
            in_flight.append(len(lines[sent]))
            sent += 1
        now_s = max(now_s, min([fw.next_deadline_s()] + [t for t, _ in arriving]))
        fw.advance(now_s)
        arriving += [(tx.deliver_at(t, len(text) + 1), text) for t, text in fw.take_output()]
        arriving.sort()
        while arriving and arriving[0][0] <= now_s:
            assert arriving.pop(0)[1] == "ok"
            acked += 1
            in_flight.pop(0)
    return now_s


@pytest.mark.parametrize("baud", [115200, 250000])
def test_one_line_in_flight_costs_a_full_round_trip(baud: int) -> None:
    lines = _lines(300)
    byte_s = 10 / baud
    # Each line: latency, its bytes on the wire, 0.5 ms processing, `ok\n`, latency.
    expected_s = sum(0.001 + len(line) * byte_s + 0.0005 + 3 * byte_s + 0.001 for line in lines)
    assert _stream(baud, 1, lines) == pytest.approx(expected_s, rel=1e-6)


@pytest.mark.parametrize("baud", [115200, 250000])
def test_send_ahead_within_the_buffer_fills_the_wire(baud: int) -> None:
    lines = _lines(1000)
    wire_s = sum(len(line) for line in lines) * 10 / baud
    elapsed_s = _stream(baud, 119, lines)
    # Only the first line's latency and the last ok's trip are not overlapped.
    assert wire_s <= elapsed_s <= wire_s + 0.005
