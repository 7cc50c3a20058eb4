"""Filament a job will use, estimated from the G-code moves (shared/gcode's motion model)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from shared.gcode.errors import GcodeInvalidError
from shared.gcode.motion import MotionModel

log = logging.getLogger(__name__)

ESTIMATE_TIMEOUT_S = 120.0
_CHUNK_CHARS = 1 << 20


def estimate_filament_mm_sync(path: Path) -> float:
    model = MotionModel()
    with path.open(encoding="utf-8", errors="replace") as lines:
        while chunk := lines.readlines(_CHUNK_CHARS):
            model.feed_lines(chunk)
    return max(0.0, model.extruded_mm)


async def estimate_filament_mm(path: Path) -> float | None:
    """Net extruded length in mm, or None when the file cannot be analysed in time."""
    try:
        async with asyncio.timeout(ESTIMATE_TIMEOUT_S):
            return await asyncio.to_thread(estimate_filament_mm_sync, path)
    except (TimeoutError, GcodeInvalidError, OSError) as exc:
        log.warning("no filament estimate for %s: %s", path.name, exc)
        return None
