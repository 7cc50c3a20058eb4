"""`apf print FILE --port PATH` (or `--octoprint URL`, `--moonraker URL`, `--prusalink URL`,
`--bambu HOST --serial SN --access-code CODE`):
print one G-code file with a progress bar and ETA.

Ctrl-C asks whether to pause or cancel. The exit status is 0 only when the printer
acknowledged the whole file. `print_with_progress` takes any `Driver`, so other connection
kinds reuse the same progress and Ctrl-C handling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from apf.help import add_command
from shared import event_loop
from shared.logs import log_context

if TYPE_CHECKING:
    from agent.drivers.base import Driver, DriverEvent

EXIT_PRINTED = 0
EXIT_NOT_PRINTED = 1  # failed or cancelled: the reason is printed
EXIT_NO_PRINTER = 3


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "print",
        summary="stream a G-code file to a printer",
        description="Print FILE on one printer (over USB serial, or through OctoPrint, "
        "Moonraker, PrusaLink or a Bambu Lab printer's LAN mode) with a progress bar, ETA and "
        "temperatures; Ctrl-C offers pause or cancel. Exit status 0 only when the whole file "
        "was printed, 1 when it failed or was cancelled, 3 when the printer cannot be used.",
        examples=[
            "apf print part.gcode --port /dev/ttyACM0",
            "apf print part.gcode --moonraker http://voron.local:7125",
            "apf print part.gcode --bambu 192.168.1.40 --serial SN --access-code CODE",
        ],
    )
    parser.add_argument("file", help="G-code file")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--port", help="serial port, e.g. /dev/ttyACM0")
    target.add_argument("--octoprint", metavar="URL", help="print through OctoPrint at URL")
    target.add_argument(
        "--moonraker",
        metavar="URL",
        help="print on a Klipper printer through Moonraker at URL, e.g. http://voron.local:7125",
    )
    target.add_argument(
        "--prusalink",
        metavar="URL",
        help="print on a Prusa printer through PrusaLink at URL, e.g. http://prusa-mk4.local",
    )
    target.add_argument(
        "--bambu",
        metavar="HOST",
        help="print on a Bambu Lab printer in LAN mode at HOST (with --serial and --access-code)",
    )
    parser.add_argument(
        "--api-key",
        help="OctoPrint API key (with --octoprint); Moonraker's or PrusaLink's, if it uses one",
    )
    parser.add_argument(
        "--user", help="PrusaLink's username (HTTP Digest, on the printer's screen)"
    )
    parser.add_argument("--password", help="PrusaLink's password (with --user)")
    bambu = parser.add_argument_group("Bambu Lab (with --bambu)")
    bambu.add_argument("--serial", help="the printer's serial number")
    bambu.add_argument("--access-code", help="the LAN access code from the printer's screen")
    bambu.add_argument("--fingerprint", help="pin the printer's TLS certificate (SHA-256)")
    bambu.add_argument("--mqtt-port", type=int, default=8883, help=argparse.SUPPRESS)
    bambu.add_argument("--ftps-port", type=int, default=990, help=argparse.SUPPRESS)
    parser.add_argument("--baud", type=int, help="baud rate (default: the profile's)")
    parser.add_argument(
        "--profile",
        default="auto",
        help="firmware profile: auto (detect with M115), marlin, prusa, klipper, "
        "reprapfirmware, smoothieware, repetier",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from agent.drivers.serial import SerialDriver
    from agent.serial.profiles import ProfileError

    path = Path(args.file)
    if not path.is_file():
        print(f"apf print: {path}: no such file", file=sys.stderr)
        return 2
    monitor = PrintMonitor()
    if args.octoprint:
        return _run_octoprint(args, monitor, path)
    if args.moonraker:
        return _run_moonraker(args, monitor, path)
    if args.prusalink:
        return _run_prusalink(args, monitor, path)
    if args.bambu:
        return _run_bambu(args, monitor, path)
    try:
        driver = SerialDriver(args.port, monitor, baud=args.baud, profile=args.profile)
    except ProfileError as exc:
        print(f"apf print: {exc}", file=sys.stderr)
        return 2
    return event_loop.run(print_with_progress(driver, monitor, path))


def _run_octoprint(args: argparse.Namespace, monitor: PrintMonitor, path: Path) -> int:
    from agent.drivers.octoprint import OctoPrintConfig, OctoPrintDriver

    try:
        config = OctoPrintConfig(url=args.octoprint, api_key=args.api_key or "")
    except ValueError as exc:
        print(f"apf print: {exc}", file=sys.stderr)
        return 2
    return event_loop.run(print_with_progress(OctoPrintDriver(config, monitor), monitor, path))


def _run_moonraker(args: argparse.Namespace, monitor: PrintMonitor, path: Path) -> int:
    from agent.drivers.moonraker import MoonrakerConfig, MoonrakerDriver

    try:
        config = MoonrakerConfig(url=args.moonraker, api_key=args.api_key)
    except ValueError as exc:
        print(f"apf print: {exc}", file=sys.stderr)
        return 2
    return event_loop.run(print_with_progress(MoonrakerDriver(config, monitor), monitor, path))


def _run_prusalink(args: argparse.Namespace, monitor: PrintMonitor, path: Path) -> int:
    from agent.drivers.prusalink import PrusaLinkConfig, PrusaLinkDriver

    try:
        config = PrusaLinkConfig(
            url=args.prusalink, username=args.user, password=args.password, api_key=args.api_key
        )
    except ValueError as exc:
        print(f"apf print: {exc}", file=sys.stderr)
        return 2
    return event_loop.run(print_with_progress(PrusaLinkDriver(config, monitor), monitor, path))


def _run_bambu(args: argparse.Namespace, monitor: PrintMonitor, path: Path) -> int:
    from agent.drivers.bambu import BambuConfig, BambuDriver

    if not args.serial or not args.access_code:
        print("apf print: --bambu needs --serial and --access-code", file=sys.stderr)
        return 2
    try:
        config = BambuConfig(
            host=args.bambu,
            serial=args.serial,
            access_code=args.access_code,
            mqtt_port=args.mqtt_port,
            ftps_port=args.ftps_port,
            fingerprint=args.fingerprint,
        )
    except ValueError as exc:
        print(f"apf print: {exc}", file=sys.stderr)
        return 2
    return event_loop.run(print_with_progress(BambuDriver(config, monitor), monitor, path))


class PrintMonitor:
    """The listener to give a driver: keeps its events for `print_with_progress`."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._changed: asyncio.Event | None = None

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)
        if self._changed is not None:
            self._changed.set()

    async def next_change(self, timeout_s: float) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        self._changed.clear()

    def job_end(self, job_id: str) -> DriverEvent | None:
        from agent.drivers.base import JobCancelled, JobCompleted, JobFailed

        ends = (JobCompleted, JobFailed, JobCancelled)
        for event in self.events:
            if isinstance(event, ends) and event.job_id == job_id:
                return event
        return None


async def print_with_progress(
    driver: Driver,
    monitor: PrintMonitor,
    path: Path,
    *,
    connect_timeout_s: float = 30.0,
    out: TextIO = sys.stderr,
) -> int:
    """Connect, print `path`, show progress; the exit status for `apf print`."""
    job_id = f"cli-{uuid.uuid4().hex[:8]}"
    # Before the driver's task starts, so what it logs names the job too.
    with log_context(job_id=job_id):
        return await _print_job(
            driver, monitor, path, job_id=job_id, connect_timeout_s=connect_timeout_s, out=out
        )


async def _print_job(
    driver: Driver,
    monitor: PrintMonitor,
    path: Path,
    *,
    job_id: str,
    connect_timeout_s: float,
    out: TextIO,
) -> int:
    from agent.drivers.base import ConnectionLostError, DriverError
    from apf.commands.print_view import PrintProgress
    from shared.enums import PrinterStatus

    runner = asyncio.create_task(driver.run(), name="apf-print-driver")
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    try:
        deadline_s = time.monotonic() + connect_timeout_s
        while driver.snapshot.status is not PrinterStatus.IDLE:
            if runner.done() or time.monotonic() > deadline_s:
                reason = driver.snapshot.message or "no answer from the printer"
                print(f"apf print: cannot use the printer: {reason}", file=out)
                return EXIT_NO_PRINTER
            await monitor.next_change(0.2)
        view = PrintProgress(out)
        view.say(f"printer: {driver.snapshot.firmware or 'unknown firmware'}")
        try:
            await driver.start_job(job_id, path)
        except DriverError as exc:
            print(f"apf print: {exc}", file=out)
            return EXIT_NOT_PRINTED
        try:
            while (end := monitor.job_end(job_id)) is None:
                if interrupted.is_set():
                    interrupted.clear()
                    view.hide()  # the prompt goes below the bar, not into it
                    await _ask_pause_or_cancel(driver, interrupted, out)
                view.show(driver.snapshot)
                await _wait_either(monitor.next_change(0.5), interrupted)
        finally:
            view.hide()
        return _report_end(end, out)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionLostError):
            await runner


async def _wait_either(change: Any, interrupted: asyncio.Event) -> None:
    tasks = {asyncio.ensure_future(change), asyncio.ensure_future(interrupted.wait())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_answer(interrupted: asyncio.Event) -> str:
    """One line from stdin, or "c" on a second Ctrl-C (no thread left blocked on input)."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def readable() -> None:
        if not line.done():
            line.set_result(sys.stdin.readline())

    try:
        loop.add_reader(sys.stdin.fileno(), readable)
    except (OSError, ValueError):
        return "c"  # no usable stdin: the safe answer
    try:
        await _wait_either(asyncio.shield(line), interrupted)
    finally:
        loop.remove_reader(sys.stdin.fileno())
    return line.result().strip().lower() if line.done() else "c"


async def _ask_pause_or_cancel(driver: Driver, interrupted: asyncio.Event, out: TextIO) -> None:
    """Ctrl-C: pause, then resume or cancel; a second Ctrl-C at the prompt cancels."""
    from agent.drivers.base import DriverError
    from shared.enums import PrinterStatus

    with contextlib.suppress(DriverError):
        if driver.snapshot.status is PrinterStatus.PRINTING:
            await driver.pause()
    print("paused. [r]esume or [c]ancel? ", end="", file=out, flush=True)
    answer = await _read_answer(interrupted)
    interrupted.clear()
    try:
        if answer.startswith("r"):
            await driver.resume()
            print("resumed", file=out)
        else:
            await driver.cancel()
            print("cancelling", file=out)
    except DriverError as exc:
        print(f"apf print: {exc}", file=out)


def _report_end(end: DriverEvent, out: TextIO) -> int:
    from agent.drivers.base import JobCancelled, JobCompleted, JobFailed
    from apf.commands.print_view import clock

    if isinstance(end, JobCompleted):
        print(f"printed in {clock(end.duration_s)}", file=out)
        return EXIT_PRINTED
    if isinstance(end, JobFailed):
        print(f"print failed at {end.progress_pct:.1f} %: {end.reason}", file=out)
    elif isinstance(end, JobCancelled):
        print(f"print cancelled at {end.progress_pct:.1f} %", file=out)
    return EXIT_NOT_PRINTED
