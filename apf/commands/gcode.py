"""`apf gcode analyze FILE [--json]`: validate a G-code file and print what it found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apf.help import add_command

if TYPE_CHECKING:
    from shared.gcode import GcodeAnalysis


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "gcode",
        summary="G-code tools: check a file and read what the slicer wrote in it",
        examples=["apf gcode analyze part.gcode"],
    )
    sub = parser.add_subparsers(dest="gcode_command", metavar="COMMAND", required=True)
    analyze = add_command(
        sub,
        "analyze",
        summary="validate a G-code file and print its metadata",
        description="Validate a G-code file and print the slicer's metadata next to an "
        "estimate computed from the moves. Exit status 1 if the file is not valid G-code.",
        examples=[
            "apf gcode analyze part.gcode",
            "apf gcode analyze part.gcode --json --density 1.24   # grams of PLA, as JSON",
        ],
    )
    analyze.add_argument("file", type=Path, help="path of the G-code file")
    analyze.add_argument("--json", action="store_true", help="print the result as JSON")
    analyze.add_argument(
        "--density", type=float, metavar="G_CM3", help="filament density for grams (g/cm³)"
    )
    analyze.add_argument(
        "--diameter",
        type=float,
        default=1.75,
        metavar="MM",
        help="filament diameter if the file does not say (default: 1.75)",
    )
    analyze.add_argument(
        "--max-bytes", type=int, metavar="N", help="reject files larger than N bytes"
    )
    analyze.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    import msgspec

    from shared.gcode import GcodeInvalidError, analyze_file

    try:
        result = analyze_file(
            args.file,
            max_bytes=args.max_bytes,
            material_density_g_cm3=args.density,
            filament_diameter_mm=args.diameter,
        )
    except GcodeInvalidError as exc:
        print(f"apf gcode analyze: {args.file}: invalid G-code: {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"apf gcode analyze: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    else:
        from apf.console import key_value_table, show

        show(key_value_table(summary_rows(args.file, result)), sys.stdout)
    return 0


def summary_rows(path: Path, result: GcodeAnalysis) -> list[tuple[str, str]]:
    """The human-readable report: slicer figures first, our own estimate beside them."""
    r = result
    slicer = "unknown"
    if r.slicer is not None:
        slicer = f"{r.slicer.name} {r.slicer.version}" if r.slicer.version else r.slicer.name
    grams = "? g (unknown density)" if r.filament_used_g is None else f"{r.filament_used_g:.2f} g"
    density = "" if r.material_density_g_cm3 is None else f", {r.material_density_g_cm3} g/cm³"
    computed_g = "" if r.computed_filament_g is None else f", {r.computed_filament_g:.2f} g"
    rows = [
        ("File", f"{path} ({_size(r.size_bytes)}, {r.line_count:,} lines, "
                 f"{r.motion_line_count:,} moves)"),
        ("Slicer", slicer),
        ("Estimated time", f"{_duration(r.estimated_time_s)} ({r.estimated_time_source})"),
        ("  from the moves", _duration(r.computed_time_s)),
        ("Filament", f"{_length(r.filament_used_mm)}, {r.filament_used_cm3:.2f} cm³, "
                     f"{grams} ({r.filament_used_source})"),
        ("  from the moves", f"{_length(r.computed_filament_mm)}, "
                             f"{r.computed_filament_cm3:.2f} cm³{computed_g}"),
        ("Material", f"{r.filament_type or 'unknown'}, {r.filament_diameter_mm} mm{density}"),
        ("Nozzle", _opt(r.nozzle_diameter_mm, " mm")),
        ("Layers", f"{_opt(r.layer_count)} (height {_opt(r.layer_height_mm, ' mm')})"),
        ("First layer", f"hotend {_opt(r.first_layer_hotend_c, ' °C')}, "
                        f"bed {_opt(r.first_layer_bed_c, ' °C')}"),
        ("Thumbnails", "yes" if r.has_thumbnails else "no"),
    ]  # fmt: skip
    return rows


def _opt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "unknown"
    return f"{value:g}{unit}"


def _length(length_mm: float) -> str:
    return f"{length_mm / 1000:.2f} m" if abs(length_mm) >= 1000 else f"{length_mm:.1f} mm"


def _duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"


def _size(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MiB"
    if size_bytes >= 1024:
        return f"{size_bytes / 1024:.1f} KiB"
    return f"{size_bytes} B"
