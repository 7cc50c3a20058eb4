"""The demo's live terminal view: printers and the queue, redrawn in place."""

from __future__ import annotations

from typing import Any

_CLEAR = "\x1b[2J\x1b[H"


def _temps(printer: dict[str, Any]) -> str:
    temps = printer.get("temperatures") or {}
    hotend, bed = temps.get("hotend"), temps.get("bed")
    return f"{hotend or 0:5.1f}/{bed or 0:4.1f}"


def render(header: list[str], printers: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> str:
    rows = [_CLEAR, *header, ""]
    rows.append(f"{'PRINTER':<14}{'STATUS':<10}{'FIRMWARE':<26}{'HOTEND/BED °C':<15}JOB")
    for p in printers:
        job = p.get("current_job") or "-"
        progress = p.get("progress")
        if progress is not None and job != "-":
            job = f"{job} {progress:5.1f}%"
        rows.append(
            f"{p['name']:<14}{p['status']:<10}{(p.get('firmware') or '-')[:25]:<26}"
            f"{_temps(p):<15}{job}"
        )
    rows.append("")
    rows.append(f"{'JOB':<16}{'NAME':<14}{'PRIORITY':<10}{'MATERIAL':<10}{'STATUS':<11}PRINTER")
    names = {p["id"]: p["name"] for p in printers}
    for j in jobs:
        material = (j.get("material") or {}).get("type") or "-"
        rows.append(
            f"{j['id'][:15]:<16}{j['name'][:13]:<14}{j['priority']:<10}{material:<10}"
            f"{j['status']:<11}{names.get(j.get('printer_id') or '', '-')}"
        )
    rows.append("")
    rows.append("Ctrl-C stops the demo.")
    return "\n".join(rows)
