"""Validate a G-code file and analyse it in one streaming pass with constant memory.

Memory is bounded by BLOCK_BYTES of text being worked on, the unfinished last line
(at most MAX_LINE_BYTES) and, for streams, the last TAIL_BYTES kept for the footer.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from shared.gcode import validate
from shared.gcode.bulk import feed_block
from shared.gcode.errors import GcodeInvalidError
from shared.gcode.materials import density_for, length_to_cm3
from shared.gcode.metadata import SlicerMetadata
from shared.gcode.motion import MotionModel
from shared.gcode.result import GcodeAnalysis, Source

BLOCK_BYTES = 1024 * 1024
# Metadata windows, as Moonraker reads them (the first and last 1 MiB, metadata.py
# `READ_SIZE`): headers (thumbnails included) and the PrusaSlicer config footer fit.
HEAD_BYTES = 1024 * 1024
TAIL_BYTES = 1024 * 1024
# Layer-change comments the slicers write in the body: PrusaSlicer/SuperSlicer/OrcaSlicer
# `;LAYER_CHANGE`, Bambu Studio `; CHANGE_LAYER`, Cura `;LAYER:<n>`. Counted with
# bytes.count, so they cost a C-speed pass per block.
_LAYER_MARKERS = (b"\n;LAYER_CHANGE", b"\n; CHANGE_LAYER", b"\n;LAYER:")


class GcodeAnalyzer:
    """Incremental analysis: `feed()` chunks of any size in file order, then `finish()`.

    For a caller that receives a file piece by piece (an upload, a download); `analyze_file`
    and `analyze_stream` wrap it. Raises GcodeInvalidError as soon as the file is known bad.
    `keep_tail=False` saves keeping the last TAIL_BYTES, for a caller that reads the end of
    the file itself and passes it to `finish(tail)`.
    """

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        material_density_g_cm3: float | None = None,
        filament_diameter_mm: float = 1.75,
        keep_tail: bool = True,
    ) -> None:
        self._max_bytes = max_bytes
        self._density_g_cm3 = material_density_g_cm3
        self._diameter_mm = filament_diameter_mm
        self._keep_tail = keep_tail
        self._model = MotionModel()
        self._meta = SlicerMetadata()
        self._parts: list[bytes] = []
        self._parts_len = 0
        self._size = 0
        self._offset = 0  # file offset of the first byte not yet processed
        self._lines = 0
        self._has_content = False
        self._layer_markers = [0] * len(_LAYER_MARKERS)
        self._tail: deque[bytes] = deque()
        self._tail_len = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._size += len(chunk)
        if self._max_bytes is not None and self._size > self._max_bytes:
            raise validate.over_limit(self._max_bytes)
        self._parts.append(chunk)
        self._parts_len += len(chunk)
        if self._parts_len >= BLOCK_BYTES:
            self._flush(final=False)

    def finish(self, tail: bytes | None = None) -> GcodeAnalysis:
        """Process the rest and build the result. `tail` is the file's last bytes if the
        caller read them itself (by seeking); otherwise the kept tail is used."""
        self._flush(final=True)
        if not self._has_content:
            reason = "the file is empty" if self._size == 0 else "the file has only blank lines"
            raise GcodeInvalidError(reason)
        if self._model.motion_lines == 0:
            raise GcodeInvalidError(
                "the file has no motion commands (G0/G1/G2/G3): it is not a print file"
            )
        if tail is None:
            tail = b"".join(self._tail)
        self._read_tail(tail)
        self._meta.finish()
        markers = next((count for count in self._layer_markers if count), None)
        return _result(
            self._model,
            self._meta,
            size_bytes=self._size,
            line_count=self._lines,
            options=self._options(),
            layer_markers=markers,
        )

    def _flush(self, *, final: bool) -> None:
        data = b"".join(self._parts)
        self._parts.clear()
        self._parts_len = 0
        if self._offset == 0 and data:
            validate.check_start(data[:4])
        start = 0
        # Work in slices of about BLOCK_BYTES even if a caller hands over a huge chunk.
        while len(data) - start >= BLOCK_BYTES:
            cut = data.rfind(b"\n", start, start + BLOCK_BYTES) + 1
            if cut <= start:
                cut = data.find(b"\n", start + BLOCK_BYTES) + 1
                if cut <= start:
                    break
            self._process(data[start:cut])
            start = cut
        rest = data[start:]
        if final:
            if rest:
                self._process(rest)
            return
        cut = rest.rfind(b"\n") + 1
        if cut:
            self._process(rest[:cut])
            rest = rest[cut:]
        if len(rest) > validate.MAX_LINE_BYTES:
            raise validate.too_long(self._lines + 1, rest)
        if rest:
            self._parts.append(rest)
            self._parts_len = len(rest)

    def _process(self, block: bytes) -> None:
        validate.check_text(block, self._offset)
        validate.check_line_lengths(block, self._lines + 1)
        newlines = block.count(b"\n")
        # A last line without a line end still counts as a line.
        self._lines += newlines + (0 if block.endswith(b"\n") else 1)
        if not self._has_content:
            self._has_content = not block.isspace()
        if self._offset < HEAD_BYTES:
            head = block[: HEAD_BYTES - self._offset]
            if len(head) < len(block):
                head = head[: head.rfind(b"\n") + 1]  # whole lines only
            self._meta.feed_lines(head.decode("utf-8", "replace").split("\n"))
        feed_block(self._model, block)
        for i, marker in enumerate(_LAYER_MARKERS):
            # A block starts at a line start, so its first line has no "\n" before it.
            self._layer_markers[i] += block.count(marker) + block.startswith(marker[1:])
        self._offset += len(block)
        if self._keep_tail:
            self._tail.append(block)
            self._tail_len += len(block)
            while self._tail_len - len(self._tail[0]) >= TAIL_BYTES:
                self._tail_len -= len(self._tail.popleft())

    def _read_tail(self, tail: bytes) -> None:
        if len(tail) > TAIL_BYTES:
            tail = tail[-TAIL_BYTES:]
        if len(tail) < self._size:
            # The window may start inside a line: drop that (partial) first line.
            tail = tail[tail.find(b"\n") + 1 :]
        self._meta.feed_lines(tail.decode("utf-8", "replace").split("\n"))

    def _options(self) -> tuple[float | None, float]:
        return self._density_g_cm3, self._diameter_mm


def analyze_stream(
    chunks: Iterable[bytes],
    *,
    max_bytes: int | None = None,
    material_density_g_cm3: float | None = None,
    filament_diameter_mm: float = 1.75,
) -> GcodeAnalysis:
    """Analyse a file arriving as chunks (any sizes, in order) with constant memory."""
    analyzer = GcodeAnalyzer(
        max_bytes=max_bytes,
        material_density_g_cm3=material_density_g_cm3,
        filament_diameter_mm=filament_diameter_mm,
    )
    for chunk in chunks:
        analyzer.feed(chunk)
    return analyzer.finish()


def analyze_file(
    path: Path,
    *,
    max_bytes: int | None = None,
    material_density_g_cm3: float | None = None,
    filament_diameter_mm: float = 1.75,
) -> GcodeAnalysis:
    """Analyse a file on disk. The footer is read by seeking to the end, so the whole-file
    pass keeps no tail. Raises GcodeInvalidError, or OSError if the file cannot be read."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if max_bytes is not None and size > max_bytes:
            raise validate.over_limit(max_bytes)
        file.seek(max(0, size - TAIL_BYTES))
        tail = file.read(TAIL_BYTES)
        file.seek(0)
        analyzer = GcodeAnalyzer(
            max_bytes=max_bytes,
            material_density_g_cm3=material_density_g_cm3,
            filament_diameter_mm=filament_diameter_mm,
            keep_tail=False,
        )
        while chunk := file.read(BLOCK_BYTES):
            analyzer.feed(chunk)
        return analyzer.finish(tail)


def _result(
    model: MotionModel,
    meta: SlicerMetadata,
    *,
    size_bytes: int,
    line_count: int,
    options: tuple[float | None, float],
    layer_markers: int | None,
) -> GcodeAnalysis:
    density_arg, diameter_arg = options
    n = meta.number
    # The diameter the file was sliced for is what its E values mean.
    diameter_mm = n("diameter_mm") or diameter_arg
    density = density_arg or n("density_g_cm3") or density_for(meta.filament_type)

    computed_mm = max(0.0, model.extruded_mm)
    computed_cm3 = length_to_cm3(computed_mm, diameter_mm)
    slicer_mm = n("filament_mm")
    slicer_cm3 = n("filament_cm3")
    filament_source: Source
    if slicer_mm is not None and slicer_mm > 0.0:
        filament_mm, filament_source = slicer_mm, "slicer"
        filament_cm3 = slicer_cm3 or length_to_cm3(slicer_mm, diameter_mm)
    elif slicer_cm3 is not None and slicer_cm3 > 0.0:
        # Only a volume (Cura's Griffin header): the length follows from the diameter.
        filament_cm3, filament_source = slicer_cm3, "slicer"
        filament_mm = slicer_cm3 / length_to_cm3(1.0, diameter_mm)
    else:
        filament_mm, filament_source = computed_mm, "computed"
        filament_cm3 = computed_cm3
    # A slicer without a density configured writes "0.00" grams: treat as unknown.
    slicer_g = n("filament_total_g") or n("filament_g")
    filament_g = slicer_g if slicer_g else (filament_cm3 * density if density else None)

    slicer_time_s = n("time_s") or n("time_silent_s")
    # The slicer's stated count, else its layer-change comments, else the moves.
    stated_layers = n("layer_count")
    layer_count = int(stated_layers) if stated_layers else layer_markers or model.layer_count
    return GcodeAnalysis(
        size_bytes=size_bytes,
        line_count=line_count,
        motion_line_count=model.motion_lines,
        slicer=meta.slicer,
        estimated_time_s=slicer_time_s if slicer_time_s else model.time_s,
        estimated_time_source="slicer" if slicer_time_s else "computed",
        filament_used_mm=filament_mm,
        filament_used_source=filament_source,
        filament_used_cm3=filament_cm3,
        filament_used_g=filament_g,
        filament_type=meta.filament_type,
        filament_diameter_mm=diameter_mm,
        material_density_g_cm3=density,
        nozzle_diameter_mm=n("nozzle_mm"),
        layer_height_mm=n("layer_height_mm"),
        layer_count=layer_count or None,
        first_layer_hotend_c=_or(n("hotend_c"), model.first_layer_hotend_c),
        first_layer_bed_c=_or(n("bed_c"), model.first_layer_bed_c),
        has_thumbnails=meta.has_thumbnails,
        computed_time_s=model.time_s,
        computed_filament_mm=computed_mm,
        computed_filament_cm3=computed_cm3,
        computed_filament_g=computed_cm3 * density if density else None,
        computed_layer_count=model.layer_count,
        computed_first_layer_hotend_c=model.first_layer_hotend_c,
        computed_first_layer_bed_c=model.first_layer_bed_c,
    )


def _or(first: float | None, second: float | None) -> float | None:
    return first if first is not None else second
