"""`apf agent scan`: find printers on serial ports and say how to configure them.

Each port is opened at each candidate baud; ``M115`` is sent and the answer searched for
``FIRMWARE_NAME:`` (Marlin, Prusa, Klipper, RepRapFirmware, Smoothieware and Repetier all
answer M115 this way, field notes §1.1). Opening the port pulses DTR, which resets most
AVR boards: the firmware then prints its banner for a second or two before it reads
commands, so M115 is sent again while we wait. Ports are probed in parallel (one thread
per port; the CLI is not async), bauds one after the other.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.serial.profiles import ProfileError, detect_profile
from agent.serial.responses import parse_firmware_info

DEFAULT_BAUDS = (115200, 250000, 57600)
# Re-send M115 this often while waiting: the first may arrive while the board boots.
RESEND_EVERY_S = 1.0
BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True, slots=True)
class PortInfo:
    device: str
    stable_path: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ScanResult:
    port: PortInfo
    baud: int | None
    firmware: str | None
    profile: str | None
    machine: str | None
    error: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _stable_paths() -> dict[str, str]:
    """/dev/ttyACM0 -> /dev/serial/by-id/usb-… (stable across reboots and re-plugging)."""
    paths: dict[str, str] = {}
    if BY_ID_DIR.is_dir():
        for link in BY_ID_DIR.iterdir():
            paths[os.path.realpath(link)] = str(link)
    return paths


def list_ports(extra: list[str]) -> list[PortInfo]:
    from serial.tools import list_ports as pyserial_ports

    stable = _stable_paths()
    found = [
        PortInfo(
            device=p.device,
            stable_path=stable.get(os.path.realpath(p.device)),
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            description=p.description if p.description != "n/a" else None,
        )
        for p in pyserial_ports.comports()
        # Onboard UARTs without a USB id are listed too; keep only USB devices unless asked.
        if p.vid is not None
    ]
    known = {p.device for p in found}
    found += [PortInfo(device=d) for d in extra if d not in known]
    return found


def probe(device: str, baud: int, timeout_s: float) -> tuple[str | None, str | None]:
    """(M115 FIRMWARE_NAME line, error) for one port at one baud."""
    import serial

    try:
        port = serial.Serial(device, baud, timeout=0.2, write_timeout=1.0)
    except (serial.SerialException, OSError) as exc:
        return None, f"cannot open: {exc}"
    try:
        buffer = b""
        deadline = time.monotonic() + timeout_s
        next_send = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                port.write(b"\nM115\n")
                next_send = time.monotonic() + RESEND_EVERY_S
            buffer += port.read(4096)
            for raw in buffer.split(b"\n"):
                line = raw.decode("ascii", errors="replace").strip()
                if "FIRMWARE_NAME" in line:
                    return line[line.find("FIRMWARE_NAME") :], None
            buffer = buffer[-4096:]
        return None, "no M115 answer"
    except (serial.SerialException, OSError) as exc:
        return None, f"i/o error: {exc}"
    finally:
        port.close()


def _scan_one(port: PortInfo, bauds: list[int], timeout_s: float) -> ScanResult:
    error = None
    for baud in bauds:
        line, error = probe(port.device, baud, timeout_s)
        if line is None:
            if error is not None and error.startswith("cannot open"):
                break
            continue
        info = parse_firmware_info(line)
        try:
            profile: str | None = detect_profile(info.name).name
        except ProfileError:
            profile = None
        return ScanResult(
            port=port,
            baud=baud,
            firmware=info.name or line,
            profile=profile,
            machine=info.fields.get("MACHINE_TYPE"),
            error=None,
        )
    return ScanResult(port, None, None, None, None, error)


def scan_ports(*, extra_ports: list[str], bauds: list[int], timeout_s: float) -> list[ScanResult]:
    ports = list_ports(extra_ports)
    if not ports:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(ports))) as pool:
        return list(pool.map(lambda p: _scan_one(p, bauds, timeout_s), ports))


def config_snippet(results: list[ScanResult]) -> str:
    blocks = []
    for index, r in enumerate((r for r in results if r.baud is not None), start=1):
        name = r.machine or (r.firmware or "printer").split(" ")[0]
        blocks.append(
            "[[printers]]\n"
            f'printer_id = "prt_{index}"  # the id the cloud gave this printer\n'
            f'name = "{name}"\n'
            f'connection = {{ kind = "serial", port = "{r.port.stable_path or r.port.device}", '
            f'baud = {r.baud}, profile = "{r.profile or "auto"}" }}\n'
        )
    return "\n".join(blocks)
