"""`apf serial probe PORT`: identify the printer on a serial port; `apf serial profiles`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from typing import Any

from apf.help import add_command
from shared import event_loop


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "serial",
        summary="serial printer tools: identify a printer, list the firmware profiles",
        examples=["apf serial probe /dev/ttyACM0", "apf serial profiles"],
    )
    sub = parser.add_subparsers(dest="serial_command", metavar="COMMAND", required=True)
    probe = add_command(
        sub,
        "probe",
        summary="print the detected firmware and its capabilities",
        description="Open PORT, ask the firmware who it is (M115) and print its name, the "
        "profile that drives it, its temperatures and the capabilities it reports. Exit "
        "status 1 when nothing answers.",
        examples=["apf serial probe /dev/ttyACM0", "apf serial probe /dev/ttyUSB0 --baud 250000"],
    )
    probe.add_argument("port", help="serial port, e.g. /dev/ttyUSB0")
    probe.add_argument("--baud", type=int, help="baud rate (default 115200)")
    probe.add_argument("--profile", default="auto", help="firmware profile (default: auto)")
    probe.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (10)")
    probe.set_defaults(handler=_probe)
    profiles = add_command(
        sub,
        "profiles",
        summary="list the firmware profiles (firmware-profiles/*.toml)",
        examples=["apf serial profiles"],
    )
    profiles.set_defaults(handler=_profiles)


def _probe(args: argparse.Namespace) -> int:
    from agent.serial.profiles import ProfileError

    try:
        return event_loop.run(_probe_async(args))
    except ProfileError as exc:
        print(f"apf serial probe: {exc}", file=sys.stderr)
        return 2


async def _probe_async(args: argparse.Namespace) -> int:
    from agent.drivers.base import ConnectionLostError, DriverEvent
    from agent.drivers.serial import SerialDriver
    from shared.enums import PrinterStatus

    changed = asyncio.Event()

    def listener(event: DriverEvent) -> None:
        changed.set()

    driver = SerialDriver(
        args.port, listener, baud=args.baud, profile=args.profile, detect_timeout_s=args.timeout
    )
    runner = asyncio.create_task(driver.run(), name="apf-serial-probe")
    deadline_s = time.monotonic() + args.timeout + 1.0
    try:
        while (
            driver.snapshot.status is not PrinterStatus.IDLE
            or driver.snapshot.temperatures.hotend_c is None
        ):
            if runner.done() or time.monotonic() > deadline_s:
                if driver.snapshot.status is PrinterStatus.IDLE:
                    break  # identified; temperatures just did not come in time
                print(
                    f"apf serial probe: {driver.snapshot.message or 'no answer'}", file=sys.stderr
                )
                return 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await changed.wait()
            changed.clear()
        _print_probe(driver, args.port)
        return 0
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionLostError):
            await runner


def _print_probe(driver: Any, port: str) -> None:
    from apf.console import key_value_table, show

    snapshot = driver.snapshot
    profile = driver.profile
    rows = [
        ("port", port),
        ("firmware", snapshot.firmware or "unknown (no FIRMWARE_NAME in the M115 reply)"),
    ]
    if profile is not None:
        rows.append(("profile", f"{profile.name} ({profile.display_name})"))
        rows.append(
            (
                "window",
                f"{profile.rx_budget_bytes} bytes, "
                f"{profile.link.command_queue_depth} lines in flight",
            )
        )
    temps = snapshot.temperatures
    if temps.hotend_c is not None:
        rows.append(
            ("hotend", f"{temps.hotend_c:.1f} °C (target {temps.hotend_target_c or 0:.0f})")
        )
    if temps.bed_c is not None:
        rows.append(("bed", f"{temps.bed_c:.1f} °C (target {temps.bed_target_c or 0:.0f})"))
    capabilities = driver.capabilities
    if capabilities:
        enabled = sorted(name for name, on in capabilities.items() if on)
        disabled = sorted(name for name, on in capabilities.items() if not on)
        rows.append(("capabilities on", ", ".join(enabled) or "-"))
        rows.append(("capabilities off", ", ".join(disabled) or "-"))
    show(key_value_table(rows), sys.stdout)


def _profiles(args: argparse.Namespace) -> int:
    from agent.serial.profiles import load_profiles
    from apf.console import show, table

    profiles = table(["profile", "firmware", "resend style", "rx buffer", "in flight", "baud"])
    for profile in load_profiles().values():
        link = profile.link
        profiles.add_row(
            profile.name,
            profile.display_name,
            profile.resend.style,
            f"{link.rx_buffer_bytes} B",
            f"{link.command_queue_depth} lines",
            str(link.default_baud),
        )
    show(profiles, sys.stdout)
    return 0
