"""`apf serial probe PORT`: identify the printer on a serial port; `apf serial profiles`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from typing import Any

from shared import event_loop


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("serial", help="serial printer tools")
    sub = parser.add_subparsers(dest="serial_command", metavar="COMMAND", required=True)
    probe = sub.add_parser("probe", help="print the detected firmware and its capabilities")
    probe.add_argument("port", help="serial port, e.g. /dev/ttyUSB0")
    probe.add_argument("--baud", type=int, help="baud rate (default 115200)")
    probe.add_argument("--profile", default="auto", help="firmware profile (default: auto)")
    probe.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (10)")
    probe.set_defaults(handler=_probe)
    profiles = sub.add_parser("profiles", help="list the firmware profiles")
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
    snapshot = driver.snapshot
    profile = driver.profile
    print(f"port:      {port}")
    print(f"firmware:  {snapshot.firmware or 'unknown (no FIRMWARE_NAME in the M115 reply)'}")
    if profile is not None:
        print(f"profile:   {profile.name} ({profile.display_name})")
        print(
            f"window:    {profile.rx_budget_bytes} bytes, "
            f"{profile.link.command_queue_depth} lines in flight"
        )
    temps = snapshot.temperatures
    if temps.hotend_c is not None:
        print(f"hotend:    {temps.hotend_c:.1f} °C (target {temps.hotend_target_c or 0:.0f})")
    if temps.bed_c is not None:
        print(f"bed:       {temps.bed_c:.1f} °C (target {temps.bed_target_c or 0:.0f})")
    capabilities = driver.capabilities
    if capabilities:
        enabled = sorted(name for name, on in capabilities.items() if on)
        disabled = sorted(name for name, on in capabilities.items() if not on)
        print(f"capabilities on:  {', '.join(enabled) or '-'}")
        print(f"capabilities off: {', '.join(disabled) or '-'}")


def _profiles(args: argparse.Namespace) -> int:
    from agent.serial.profiles import load_profiles

    for profile in load_profiles().values():
        link = profile.link
        print(
            f"{profile.name:15} {profile.display_name:30} resend: {profile.resend.style:12} "
            f"rx {link.rx_buffer_bytes} B, {link.command_queue_depth} lines, "
            f"{link.default_baud} baud"
        )
    return 0
