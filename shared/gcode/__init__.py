"""G-code analysis: validation, slicer metadata and a time/filament estimate from the moves.

Used by the cloud on upload (chunk by chunk, `analyze_stream` / `GcodeAnalyzer`), by the
agent and by `apf gcode analyze` (`analyze_file`). See docs/gcode.md.
"""

from shared.gcode.analyze import GcodeAnalyzer, analyze_file, analyze_stream
from shared.gcode.errors import GcodeInvalidError
from shared.gcode.materials import DENSITY_G_CM3, density_for
from shared.gcode.result import GcodeAnalysis, SlicerInfo
from shared.gcode.words import strip_line

__all__ = [
    "DENSITY_G_CM3",
    "GcodeAnalysis",
    "GcodeAnalyzer",
    "GcodeInvalidError",
    "SlicerInfo",
    "analyze_file",
    "analyze_stream",
    "density_for",
    "strip_line",
]
