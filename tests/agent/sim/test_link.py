"""The link and the buffers: overrun loses bytes, `ok` only after processing, baud and
latency cost what they should, a flow-controlled link loses nothing."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref

import pytest

from agent.sim import SimConfig, SimulatedPrinter
from agent.sim.link import RxPath, TxPath
from tests.agent.sim.client import PtyClient, numbered, stream
from tests.agent.sim.conftest import SimFactory

LINE = "G1 X100.125 Y100.125 E1.25"  # numbered and checksummed: 33-35 bytes


async def test_overrunning_the_receive_buffer_corrupts_lines(make_sim: SimFactory) -> None:
    # 14 lines of 33-35 bytes at once into a queue of 4 and a 128-byte ring: the queue
    # takes 4, the ring 127 bytes (3 lines and the head of an 8th), the rest is lost. The next
    # bytes complete that head into a garbled line, whose checksum fails, so the firmware
    # asks for line 8 again, exactly as a real Marlin would.
    async with make_sim(dialect="marlin", processing_s_per_command=0.01) as (sim, client):
        burst = b"".join(numbered(n, LINE) for n in range(1, 15))
        client.write(burst)
        for _ in range(7):
            assert await client.readline() == "ok"
        await sim.wait_executed(7, timeout_s=5)
        client.write(numbered(15, LINE))
        lines = await client.until(r"^Resend:")
    queued = sum(len(numbered(n, LINE)) for n in range(1, 5))
    assert sim.firmware.rx.dropped_bytes == len(burst) - queued - 127
    assert lines == ["Error:checksum mismatch, Last Line: 7", "Resend: 8"]
    # Nothing corrupt was executed: only the clean first seven lines.
    assert sim.executed == [LINE] * 7


async def test_sending_within_the_buffer_loses_nothing(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", processing_s_per_command=0.02) as (sim, client):
        in_flight: list[int] = []
        next_n, acked = 1, 0
        while acked < 12:
            # GRBL-style character counting: unacknowledged bytes stay under 127.
            while next_n <= 12 and sum(in_flight) + len(numbered(next_n, LINE)) <= 127:
                data = numbered(next_n, LINE)
                client.write(data)
                in_flight.append(len(data))
                next_n += 1
            assert await client.readline() == "ok"
            in_flight.pop(0)
            acked += 1
    assert sim.firmware.rx.dropped_bytes == 0
    assert sim.counters.resends_requested == 0
    assert sim.executed == [LINE] * 12


async def test_ok_comes_only_after_processing(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", processing_s_per_command=0.1) as (sim, client):
        sent_at = client.write(b"G1 X1\nG1 X2\nG1 X3\n")
        times = [(await client.readline_timed())[0] - sent_at for _ in range(3)]
    # One command at a time, each answered when done: 0.1, 0.2, 0.3 s.
    for index, elapsed in enumerate(times, start=1):
        assert elapsed >= 0.1 * index - 0.002
    assert times[2] < 0.6
    assert sim.executed == ["G1 X1", "G1 X2", "G1 X3"]


async def test_baud_rate_throttles_both_directions(make_sim: SimFactory) -> None:
    # 9600 baud: 960 bytes/s. 96 bytes out take 0.1 s; the 3-byte ok 3 ms.
    command = "M117 " + "x" * 90  # 95 bytes + LF = 96
    async with make_sim(dialect="marlin", baud=9600, processing_s_per_command=0.0) as (_s, c):
        sent_at = c.write(command + "\n")
        arrived, line = await c.readline_timed()
    assert line == "ok"
    assert arrived - sent_at >= 0.099


async def test_latency_applies_each_way(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", latency_s=0.05, processing_s_per_command=0.0) as (
        _sim,
        client,
    ):
        sent_at = client.write("M400\n")
        arrived, line = await client.readline_timed()
    assert line == "ok"
    assert arrived - sent_at >= 0.099


async def test_flow_controlled_link_loses_nothing(make_sim: SimFactory) -> None:
    # Klipper's pty: klippy stops reading at 20 pending commands; the host's write blocks
    # instead of bytes being lost. 300 lines written at once all execute in order.
    commands = [f"G1 X{i}" for i in range(300)]
    async with make_sim(dialect="klipper", processing_s_per_command=0.0005) as (sim, client):
        data = "".join(f"{c}\n" for c in commands).encode()
        loop = asyncio.get_running_loop()
        written = 0
        while written < len(data):  # the pty takes what fits; wait for room otherwise
            try:
                written += client.write_some(data[written:])
            except BlockingIOError:
                room = loop.create_future()
                loop.add_writer(client.fd, room.set_result, None)
                try:
                    await asyncio.wait_for(room, 5)
                finally:
                    loop.remove_writer(client.fd)
        await sim.wait_executed(300, timeout_s=10)
    assert sim.executed == commands
    assert sim.firmware.rx.dropped_bytes == 0


def test_rx_path_timing_and_ring_arithmetic() -> None:
    rx = RxPath(baud=10000, latency_s=0.01, ring_bytes=8, max_line_bytes=96, terminators=b"\n")
    rx.receive(b"abc\n", 0.0)  # 1 ms per byte after 10 ms of latency
    assert rx.next_line_end_s() == pytest.approx(0.014)
    assert rx.take_line(0.0135) is None  # the LF has not arrived yet
    line, at_s = rx.take_line(0.0140) or (b"", 0.0)
    assert line == b"abc"
    assert at_s == pytest.approx(0.014)
    rx.receive(b"0123456789\n", 0.0)  # queued behind the first bytes on the wire
    arrived = rx.fill_ring(1.0)
    assert arrived == b"0123456789\n"
    assert rx.dropped_bytes == 4  # a ring of 8 holds 7
    assert rx.line_from_ring() is None  # 7 bytes, no line end: kept as a partial line


def test_tx_path_serialises_lines_then_adds_latency() -> None:
    tx = TxPath(baud=10000, latency_s=0.01)
    assert tx.deliver_at(0.0, 3) == pytest.approx(0.013)
    assert tx.deliver_at(0.0, 3) == pytest.approx(0.016)  # waits for the first to leave
    assert tx.deliver_at(1.0, 1) == pytest.approx(1.011)


async def test_planner_back_pressure_and_m400(make_sim: SimFactory) -> None:
    # 16 planner blocks of 20 ms each (a deep lossless queue isolates the planner): the
    # first 15 moves are answered at once with P counting down, the rest one per finished
    # block, and M400 waits until the planner has drained.
    async with make_sim(
        dialect="marlin",
        move_s_per_block=0.02,
        advanced_ok=True,
        processing_s_per_command=0.0,
        flow_control=True,
        command_queue=32,
    ) as (_sim, client):
        started = client.write("".join(f"G1 X{i}\n" for i in range(20)) + "M400\n")
        replies = [await client.readline_timed() for _ in range(21)]
    oks = [text for _, text in replies]
    assert [int(ok.split(" P")[1].split()[0]) for ok in oks[:15]] == list(range(14, -1, -1))
    assert all(" P0 " in ok for ok in oks[15:20])
    assert replies[15][0] - started >= 0.02 - 0.002  # waited for the first block
    assert replies[20][0] - started >= 20 * 0.02 - 0.002  # M400: all 20 moves done


async def test_printers_on_one_loop_share_wake_ups_and_close_independently() -> None:
    # `apf sim --count N` runs N printers on one loop with one shared timer; a printer that
    # closes must not take the others' wake-ups with it, and timed output (an ok that waits
    # for the wire and the latency) must still reach each client.
    config = SimConfig(dialect="marlin", baud=115200, latency_s=0.002)
    async with SimulatedPrinter(config) as first, SimulatedPrinter(config) as second:
        clients = [PtyClient(first.pty_path), PtyClient(second.pty_path)]
        try:
            for client in clients:
                client.write(numbered(1, LINE))
            for client in clients:
                assert await client.readline() == "ok"
            # The second's ok is still on its way (wire and latency) when the first closes.
            clients[1].write(numbered(2, LINE))
            await first.__aexit__(None, None, None)
            assert await clients[1].readline() == "ok"
            assert await stream(clients[1], [LINE] * 4, first_n=3) == []
        finally:
            for client in clients[1:]:
                client.close()
            os.close(clients[0].fd)
    assert second.executed == [LINE] * 6
    assert first.executed == [LINE]


async def test_a_failing_printer_does_not_stop_the_others_on_its_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The shared timer serves every printer on the loop; a bug in one printer's pump (here
    # injected) is logged, and the other printer's timed ok still arrives.
    config = SimConfig(dialect="marlin", baud=115200, latency_s=0.002)
    async with SimulatedPrinter(config) as broken, SimulatedPrinter(config) as healthy:
        clients = [PtyClient(broken.pty_path), PtyClient(healthy.pty_path)]
        try:

            def fail() -> None:
                raise RuntimeError("injected")

            broken._pump = fail  # type: ignore[method-assign]
            for client in clients:
                client.write(numbered(1, LINE))
            assert await clients[1].readline() == "ok"
        finally:
            for client in clients:
                client.close()
    assert "injected" in caplog.text
    assert healthy.executed == [LINE]


def test_the_shared_timer_does_not_keep_a_finished_loop_alive() -> None:
    # One timer per loop, found by the loop: once the loop is gone (each test has its own),
    # nothing of it may stay behind.
    async def run_a_printer() -> weakref.ref[asyncio.AbstractEventLoop]:
        async with SimulatedPrinter(SimConfig(dialect="marlin")) as sim:
            client = PtyClient(sim.pty_path)
            try:
                client.write(numbered(1, LINE))
                assert await client.readline() == "ok"
            finally:
                client.close()
        return weakref.ref(asyncio.get_running_loop())

    loop_ref = asyncio.run(run_a_printer())
    gc.collect()
    assert loop_ref() is None
