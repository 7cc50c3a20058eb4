"""The temperature history: one sample a second at most, 30 minutes, bounded in printers;
from the agents' states and telemetry as the bridge classifies them. No server, no clock."""

from __future__ import annotations

from datetime import UTC, datetime

from cloud.bridge.inbound import StateIn, StatusIn, TelemetryIn
from cloud.live.history import CAPACITY, MAX_AGE_S, WINDOW_S, TemperatureHistory
from shared import wire
from shared.enums import AgentState, PrinterStatus

ORG, OTHER, AGENT = "org_a", "org_b", "agt_1"
T0 = 1_767_600_000.0  # a whole second
HOT = wire.Temperatures(hotend=214.96, hotend_target=215.0, bed=60.04, bed_target=60.0)


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def telemetry(printer_id: str, ts: float, temps: wire.Temperatures = HOT) -> TelemetryIn:
    message = wire.Telemetry(printer_id=printer_id, ts=at(ts), temperatures=temps)
    return TelemetryIn(org_id=ORG, agent_id=AGENT, telemetry=message)


def state(printer_id: str, ts: float, temps: wire.Temperatures = HOT) -> StateIn:
    message = wire.PrinterState(
        printer_id=printer_id,
        status=PrinterStatus.IDLE,
        connected=True,
        ts=at(ts),
        temperatures=temps,
    )
    return StateIn(org_id=ORG, agent_id=AGENT, state=message)


def test_samples_from_telemetry_and_state_at_most_one_a_second() -> None:
    history = TemperatureHistory()
    assert history.observe(telemetry("prt_1", T0), T0)
    # The same second: the first sample stands, whatever the message.
    assert not history.observe(state("prt_1", T0), T0 + 0.9)
    assert history.observe(state("prt_1", T0 + 1), T0 + 1.2)
    chamber = wire.Temperatures(hotend=20.0, chamber=31.25)
    assert history.observe(telemetry("prt_1", T0 + 2, chamber), T0 + 2.5)
    # Each second counts once however the arrivals jitter around it.
    assert history.samples(ORG, "prt_1", 0) == [
        (T0, 215.0, 215.0, 60.0, 60.0, None),
        (T0 + 1.2, 215.0, 215.0, 60.0, 60.0, None),
        (T0 + 2.5, 20.0, None, None, None, 31.2),
    ]
    # From a time on; another organization's printer of that id is another printer.
    assert [s[0] for s in history.samples(ORG, "prt_1", T0 + 1)] == [T0 + 1.2, T0 + 2.5]
    assert history.samples(OTHER, "prt_1", 0) == []


def test_what_is_not_a_sample_is_skipped() -> None:
    history = TemperatureHistory()
    status = wire.AgentStatus(state=AgentState.ONLINE, session=1, agent_version="t", ts=at(T0))
    assert not history.observe(StatusIn(org_id=ORG, agent_id=AGENT, status=status), T0)
    # An offline printer reports no temperatures: nothing to draw.
    assert not history.observe(telemetry("prt_1", T0, wire.Temperatures()), T0)
    # A retained state the broker replays at (re)connection is from back then, not now.
    assert not history.observe(state("prt_1", T0 - MAX_AGE_S - 1), T0)
    # Telemetry is never retained: an agent whose clock is behind still gets its chart.
    assert history.observe(telemetry("prt_1", T0 - 3600), T0)
    # A clock set back in this process does not put samples out of order.
    assert not history.observe(telemetry("prt_1", T0), T0 - 5)
    # Values no chart can draw are "not reported", not errors.
    odd = wire.Temperatures(hotend=float("nan"), bed=9999.0)
    assert history.record(ORG, "prt_2", T0, odd)
    assert history.samples(ORG, "prt_2", 0) == [(T0, None, None, 3276.7, None, None)]
    assert len(history) == 2


def test_a_ring_keeps_the_newest_capacity_samples_in_order() -> None:
    history = TemperatureHistory(capacity=5)
    for n in range(12):
        temps = wire.Temperatures(hotend=float(n))
        assert history.record(ORG, "prt_1", T0 + n, temps)
    got = history.samples(ORG, "prt_1", 0)
    assert [s[0] for s in got] == [T0 + n for n in range(7, 12)]
    assert [s[1] for s in got] == [7.0, 8.0, 9.0, 10.0, 11.0]
    # The default: 30 minutes at one a second.
    assert CAPACITY == WINDOW_S == 1800


def test_printers_silent_for_the_window_are_forgotten_and_their_number_is_bounded() -> None:
    history = TemperatureHistory(window_s=60, max_printers=3)
    for name in ("prt_1", "prt_2", "prt_3"):
        history.record(ORG, name, T0, HOT)
    history.record(ORG, "prt_1", T0 + 10, HOT)  # prt_1 reported last: prt_2 is the oldest now
    history.record(ORG, "prt_4", T0 + 11, HOT)
    assert len(history) == 3
    assert history.samples(ORG, "prt_2", 0) == []
    assert len(history.samples(ORG, "prt_3", 0)) == 1
    # Past the window every silent printer goes, whoever reports next.
    history.record(ORG, "prt_4", T0 + 71, HOT)
    assert len(history) == 1
    assert [s[0] for s in history.samples(ORG, "prt_4", 0)] == [T0 + 11, T0 + 71]


def test_a_full_ring_takes_18_bytes_a_sample() -> None:
    history = TemperatureHistory()
    for n in range(CAPACITY + 10):
        history.record(ORG, "prt_1", T0 + n, HOT)
    ring = history._rings[(ORG, "prt_1")]
    size = len(ring._ts) * ring._ts.itemsize + len(ring._temps) * ring._temps.itemsize
    assert len(ring) == CAPACITY
    assert size == 18 * CAPACITY  # about 32 KB for 30 minutes
