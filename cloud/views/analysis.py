"""A G-code file's analysis as `POST /v1/jobs/analyze` answers it, with its warnings."""

from __future__ import annotations

from cloud.schemas.jobs import JobFileAnalysis, JobFileSlicer, JobMaterial
from cloud.views.numbers import tenth
from shared.gcode import GcodeAnalysis


def analysis_out(analysis: GcodeAnalysis, filename: str) -> JobFileAnalysis:
    """Rounded as a job created from the file shows the same figures (JobService._new_job)."""
    slicer = analysis.slicer
    return JobFileAnalysis(
        filename=filename,
        size_bytes=analysis.size_bytes,
        estimated_duration=round(analysis.estimated_time_s),
        estimated_duration_source=analysis.estimated_time_source,
        material=JobMaterial(
            type=analysis.filament_type,
            color=None,
            estimated_usage=tenth(analysis.filament_used_g),
        ),
        filament_used_mm=round(analysis.filament_used_mm, 1),
        layer_count=analysis.layer_count,
        layer_height_mm=analysis.layer_height_mm,
        nozzle_diameter_mm=analysis.nozzle_diameter_mm,
        first_layer_hotend_c=tenth(analysis.first_layer_hotend_c),
        first_layer_bed_c=tenth(analysis.first_layer_bed_c),
        slicer=JobFileSlicer(name=slicer.name, version=slicer.version) if slicer else None,
        warnings=warnings_of(analysis),
    )


def warnings_of(analysis: GcodeAnalysis) -> list[str]:
    """What a person should know before queueing the file: each a sentence to act on."""
    found: list[str] = []
    material = analysis.filament_type
    if material is None:
        found.append(
            "The file names no filament type: without a material the job may go to any "
            "printer, whatever it has loaded."
        )
    elif ";" in material:
        found.append(
            f"The file names several filament types ({material}): give the job the one "
            "material to match, or it waits for a printer reporting that exact text."
        )
    if analysis.filament_used_g is None:
        found.append(
            "The filament weight is unknown: the file gives no density and names no "
            "material with a known one."
        )
    if analysis.estimated_time_source == "computed":
        found.append(
            "The slicer wrote no time estimate: the time is computed from the moves alone "
            "(no acceleration, no heating waits) and is likely short."
        )
    if analysis.first_layer_hotend_c is None:
        found.append("The file sets no hotend temperature: the printer prints it as it is.")
    return found
