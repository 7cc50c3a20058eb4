"""The pure host protocol, driven with real firmware replies (no I/O, no clock)."""

from __future__ import annotations

import pytest

from agent.serial.encoding import numbered_line
from agent.serial.events import (
    NEED_DATA,
    Event,
    FileProgress,
    FirmwareReset,
    LocalProtocolError,
    Ok,
    RemoteProtocolError,
    Resend,
    Temperature,
)
from agent.serial.profiles import get_profile
from agent.serial.protocol import HostProtocol

HELLO = numbered_line(0, b"M110 N0")


def drain(protocol: HostProtocol) -> list[Event]:
    events: list[Event] = []
    while (event := protocol.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def started(profile: str, lines: list[str], probe_s: float | None = None) -> HostProtocol:
    """A protocol whose hello was acknowledged and with `lines` queued as a file."""
    protocol = HostProtocol(get_profile(profile), probe_s=probe_s)
    if protocol.profile.link.line_numbers:
        assert protocol.data_to_send(0.0) == HELLO
        protocol.receive_data(b"ok\n", 0.0)
    for index, line in enumerate(lines):
        protocol.queue_file_line(line.encode(), index + 1)
    return protocol


def numbers(data: bytes) -> list[int]:
    return [int(line.split(b" ")[0][1:]) for line in data.splitlines()]


def test_hello_is_octoprints_known_line() -> None:
    assert HELLO == b"N0 M110 N0*125\n"


def test_nothing_follows_the_hello_until_its_ok() -> None:
    # Marlin's M110 resets the line number when it runs, after later lines were parsed.
    protocol = HostProtocol(get_profile("marlin"))
    protocol.queue_file_line(b"G28", 1)
    assert protocol.data_to_send(0.0) == HELLO
    assert protocol.data_to_send(0.0) == b""
    protocol.receive_data(b"ok\n", 0.1)
    assert protocol.data_to_send(0.1) == b"N1 G28*18\n"


def test_lines_are_numbered_and_checksummed() -> None:
    protocol = started("marlin", ["G28", "G1 X10 Y10"])
    assert protocol.data_to_send(0.0) == b"N1 G28*18\nN2 G1 X10 Y10*43\n"


def test_klipper_lines_go_plain_and_oks_credit_in_order() -> None:
    protocol = started("klipper", ["G28", "G1 X1"])
    assert protocol.data_to_send(0.0) == b"G28\nG1 X1\n"
    protocol.receive_data(b"ok\nok\n", 0.1)
    assert drain(protocol) == [FileProgress(2, 2)]
    assert protocol.idle


@pytest.mark.parametrize(
    ("profile", "line", "expected_in_flight"),
    [
        # 53-byte lines: the one being processed plus 2 within the 119-byte budget
        # (128 - 1 - 8 reserve) that may sit in the receive buffer.
        ("marlin", "G1 X100.123 Y100.456 Z10.250 E1.23456 F1800", 3),
        # 38-byte lines: 1 + 3 (114 bytes).
        ("marlin", "G1 X100.123 Y100.456 E1.23456", 4),
        # Short lines: the command queue (BUFSIZE 4) is the limit.
        ("marlin", "G1 X1", 4),
        ("repetier", "G1 X1", 2),
        # RepRapFirmware drops bad lines silently: one at a time.
        ("reprapfirmware", "G1 X1", 1),
        ("klipper", "G1 X1", 16),
    ],
)
def test_send_ahead_window(profile: str, line: str, expected_in_flight: int) -> None:
    protocol = started(profile, [line] * 40)
    sent = protocol.data_to_send(0.0)
    assert len(sent.splitlines()) == expected_in_flight
    assert protocol.data_to_send(0.0) == b""
    protocol.receive_data(b"ok\n", 0.1)
    assert len(protocol.data_to_send(0.1).splitlines()) == 1


# Resend replies by dialect: (profile, reply to a corrupted line 3 of 4 sent)
RESEND_REPLIES = [
    ("marlin", b"Error:checksum mismatch, Last Line: 2\nResend: 3\nok\n"),
    ("prusa", b"Error:checksum mismatch, Last Line: 2\nResend: 3\nok\n"),
    ("repetier", b"Resend:3\nok\n"),
    ("smoothieware", b"rs N3\n"),
]


@pytest.mark.parametrize(("profile", "reply"), RESEND_REPLIES)
def test_resend_rewinds_once_per_bad_line(profile: str, reply: bytes) -> None:
    protocol = started(profile, [f"G1 X{i}" for i in range(1, 11)])
    out = numbers(protocol.data_to_send(0.0))
    protocol.receive_data(b"ok\nok\n", 0.1)  # lines 1 and 2 done
    out += numbers(protocol.data_to_send(0.1))
    assert 3 in out
    protocol.receive_data(reply, 0.1)
    assert [e.line for e in drain(protocol) if isinstance(e, Resend)] == [3]
    resent = numbers(protocol.data_to_send(0.1))
    assert resent[0] == 3
    # Every line that was out after 3 earns the same request (Marlin: "Line Number is not
    # Last Line Number+1"); they must not cause a second resend.
    stale = reply.replace(b"checksum mismatch", b"Line Number is not Last Line Number+1")
    for _ in [n for n in out if n > 3]:
        protocol.receive_data(stale, 0.2)
    assert not [e for e in drain(protocol) if isinstance(e, Resend)]
    assert protocol.data_to_send(0.2) == b""
    protocol.receive_data(b"ok\n" * len(resent), 0.3)
    assert numbers(protocol.data_to_send(0.3))[0] == resent[-1] + 1


def test_error_last_line_resends_even_when_the_resend_line_is_lost() -> None:
    protocol = started("marlin", ["G1 X1", "G1 X2", "G1 X3"])
    protocol.data_to_send(0.0)
    protocol.receive_data(b"ok\nError:checksum mismatch, Last Line: 1\nR\x8dsend: 2\nok\n", 0.1)
    assert numbers(protocol.data_to_send(0.1)) == [2, 3]


def test_resend_for_a_line_never_sent_is_ignored() -> None:
    protocol = started("marlin", ["G1 X1"])
    protocol.data_to_send(0.0)
    protocol.receive_data(b"Resend: 900\nok\n", 0.1)
    assert not [e for e in drain(protocol) if isinstance(e, Resend)]
    assert protocol.data_to_send(0.1) == b""


def test_repeated_resends_shrink_the_window_to_one_line() -> None:
    protocol = started("marlin", ["G1 X1"] * 200)
    for _ in range(3):
        sent = numbers(protocol.data_to_send(0.0))
        oks = b"ok\n" * (len(sent) - 1)
        protocol.receive_data(oks + b"Resend: %d\nok\n" % sent[-1], 0.0)
    assert protocol.window_lines == 1
    assert len(protocol.data_to_send(0.0).splitlines()) == 1


def test_same_line_asked_ten_times_fails_the_link() -> None:
    protocol = started("marlin", ["G1 X1"])
    protocol.data_to_send(0.0)
    with pytest.raises(RemoteProtocolError, match="asked for line 1"):
        for _ in range(12):
            protocol.receive_data(b"Error:checksum mismatch, Last Line: 0\nResend: 1\nok\n", 0.0)
            protocol.data_to_send(0.0)
            drain(protocol)


def test_advanced_ok_matches_by_line_number_and_learns_the_queue() -> None:
    protocol = started("marlin", ["G1 X1"] * 20)
    assert len(numbers(protocol.data_to_send(0.0))) == 4
    # "ok N<line> P<planner free> B<queue free>": line 3 done, 7 free slots of BUFSIZE 8.
    protocol.receive_data(b"ok N3 P15 B7\n", 0.1)
    assert drain(protocol) == [FileProgress(3, 3)]
    assert protocol.in_flight == 1
    assert len(numbers(protocol.data_to_send(0.1))) == 7


def test_lost_ok_is_repaired_by_a_probe() -> None:
    protocol = started("marlin", ["G1 X1"] * 8, probe_s=0.5)
    protocol.data_to_send(0.0)  # lines 1-4
    protocol.receive_data(b"ok\n", 0.1)  # three oks lost to noise
    protocol.data_to_send(0.1)  # line 5
    assert protocol.next_deadline_s() == pytest.approx(0.6)
    protocol.on_timeout(0.7)
    assert protocol.timeouts == 1
    probe = protocol.data_to_send(0.7)
    assert probe == numbered_line(6, b"M105")
    # Marlin answers M105 with temperatures on the ok line; every earlier line was accepted.
    protocol.receive_data(b"ok T:21.0 /0.0 B:20.5 /0.0 @:0 B@:0\n", 0.8)
    events = drain(protocol)
    assert FileProgress(5, 5) in events
    assert any(isinstance(e, Temperature) for e in events)
    assert protocol.in_flight == 0


def test_garbled_reply_triggers_an_immediate_probe() -> None:
    protocol = started("marlin", ["G1 X1"] * 8)
    protocol.data_to_send(0.0)
    protocol.receive_data(b"o\xeb\n", 0.1)  # an ok garbled by noise
    protocol.receive_data(b"ok\n", 0.1)
    assert protocol.data_to_send(0.1).startswith(numbered_line(5, b"M105"))


def test_silent_drop_firmware_resends_after_the_timeout() -> None:
    protocol = started("reprapfirmware", ["G1 X1", "G1 X2"], probe_s=1.0)
    assert numbers(protocol.data_to_send(0.0)) == [1]
    protocol.on_timeout(0.5)
    assert protocol.data_to_send(0.5) == b""
    assert protocol.timeouts == 0  # called before the deadline: not a timeout
    protocol.on_timeout(1.1)
    assert numbers(protocol.data_to_send(1.1)) == [1]
    assert (protocol.timeouts, protocol.resends) == (1, 1)


def test_a_printer_that_stops_answering_fails_after_the_probes() -> None:
    protocol = started("marlin", ["G1 X1"], probe_s=1.0)
    protocol.data_to_send(0.0)
    now = 0.0
    with pytest.raises(RemoteProtocolError, match="stopped answering"):
        for _ in range(10):
            now += 1.01
            protocol.on_timeout(now)
            protocol.data_to_send(now)
            drain(protocol)


def test_busy_keeps_a_slow_command_alive() -> None:
    protocol = started("marlin", ["G1 X1"], probe_s=3.0)
    protocol.data_to_send(0.0)
    protocol.receive_data(b"echo:busy: processing\n", 2.0)
    protocol.on_timeout(4.0)
    assert protocol.data_to_send(4.0) == b""


def test_long_running_commands_get_the_long_timeout() -> None:
    protocol = started("marlin", ["M190 S60"], probe_s=1.0)
    protocol.data_to_send(0.0)
    assert protocol.next_deadline_s() == pytest.approx(900.0)


def test_start_mid_print_is_a_reset_and_numbering_starts_over() -> None:
    protocol = started("marlin", ["G1 X1"] * 10)
    protocol.data_to_send(0.0)
    protocol.receive_data(b"start\necho:Marlin 2.1.2.1\n", 0.1)
    assert isinstance(drain(protocol)[0], FirmwareReset)
    assert protocol.in_flight == 0
    assert protocol.data_to_send(0.1).startswith(HELLO)


def test_commands_jump_the_file_and_report_their_ok() -> None:
    protocol = started("marlin", ["G1 X1"] * 10)
    ticket = protocol.send("M114")
    sent = protocol.data_to_send(0.0)
    assert sent.startswith(numbered_line(1, b"M114"))
    protocol.receive_data(b"X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0\nok\n", 0.1)
    assert Ok(ticket, "") in drain(protocol)


def test_out_of_band_emergency_stop_ignores_the_window() -> None:
    protocol = started("marlin", ["G1 X100.123 Y100.456 E1.23456"] * 10)
    protocol.data_to_send(0.0)
    protocol.send_out_of_band("M112")
    assert protocol.data_to_send(0.0) == b"M112\n"


def test_hold_file_pauses_file_lines_but_not_commands() -> None:
    protocol = started("marlin", ["G1 X1"] * 3)
    protocol.hold_file(True)
    protocol.send("M601")
    assert protocol.data_to_send(0.0) == numbered_line(1, b"M601")
    protocol.hold_file(False)
    assert numbers(protocol.data_to_send(0.0)) == [2, 3, 4]


@pytest.mark.parametrize("command", ["G1 X1\nG28", "M117 a*b", "", "M117 caf\u00e9"])
def test_unsendable_commands_are_local_errors(command: str) -> None:
    protocol = started("marlin", [])
    with pytest.raises(LocalProtocolError):
        protocol.send(command)
