"""Every way a file is refused, with its reason; streaming in any chunk size; strip_line."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.gcode import (
    GcodeAnalyzer,
    GcodeInvalidError,
    analyze_file,
    analyze_stream,
    strip_line,
)
from shared.gcode.validate import MAX_LINE_BYTES

SAMPLES = Path(__file__).parent / "gcode_samples"
MOVES = b"G28\nG1 X10 Y10 F600\n"


def refused(data: bytes, tmp_path: Path, **options: int) -> str:
    """Both entry points refuse `data` with the same reason; return it."""
    path = tmp_path / "input.gcode"
    path.write_bytes(data)
    with pytest.raises(GcodeInvalidError) as from_file:
        analyze_file(path, **options)
    with pytest.raises(GcodeInvalidError) as from_stream:
        analyze_stream([data[i : i + 4096] for i in range(0, len(data), 4096)], **options)
    assert from_file.value.reason == from_stream.value.reason
    assert str(from_file.value) == from_file.value.reason
    return from_file.value.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\n \r\n\t\n", "only blank lines"),
        (b"; only comments\nM104 S200\nG28\n", "no motion commands"),
        (MOVES + b"G1 X5\x00\n", "NUL byte at offset 25"),
        (MOVES + b"G1 X5\x03\n", "binary data (byte 0x03 at offset 25)"),
        (b"\x7fELF\x02\x01\x01" + bytes(64), "byte 0x7f at offset 0"),
        (b"GCDE\x01\x00\x00\x00" + MOVES, "binary G-code (Prusa .bgcode)"),
        (b"\xff\xfe" + "G1 X1\n".encode("utf-16-le"), "UTF-16"),
        (b"G28\nG1 X1\n" + b"x" * 300_000, "line 3 is longer"),  # unfinished last line
        (MOVES + b"; " + b"x" * MAX_LINE_BYTES + b"\n", f"line 3 is longer than {MAX_LINE_BYTES}"),
        (b"G1 X1\r" * 50_000, "CR-only line endings"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_reason(data: bytes, reason: str, tmp_path: Path) -> None:
    assert reason in refused(data, tmp_path)


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    noise = random.Random(20261127).randbytes(1 << 20)
    assert "binary" in refused(noise, tmp_path)


def test_size_limit(tmp_path: Path) -> None:
    data = MOVES * 1000
    reason = refused(data, tmp_path, max_bytes=len(data) - 1)
    assert reason == f"the file is larger than the limit of {len(data) - 1} bytes"
    path = tmp_path / "ok.gcode"
    path.write_bytes(data)
    assert analyze_file(path, max_bytes=len(data)).size_bytes == len(data)


def test_the_stream_stops_reading_at_the_size_limit() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield MOVES * 100

    with pytest.raises(GcodeInvalidError, match="larger than the limit"):
        analyze_stream(endless(), max_bytes=100_000)
    assert pulled == 100_000 // len(MOVES * 100) + 1


def test_binary_data_is_refused_before_the_stream_ends() -> None:
    pulled = 0

    def upload() -> Iterator[bytes]:
        nonlocal pulled
        yield MOVES + b"\x00" + b"G1 X1\n" * 200_000  # about 1.2 MiB
        while True:
            pulled += 1
            yield MOVES * 1000

    with pytest.raises(GcodeInvalidError, match="NUL byte at offset 20"):
        analyze_stream(upload())
    assert pulled == 0


def test_incremental_analyzer_matches_the_file(tmp_path: Path) -> None:
    path = SAMPLES / "simplify3d.gcode"
    analyzer = GcodeAnalyzer(material_density_g_cm3=1.1)
    for line in path.read_bytes().splitlines(keepends=True):
        analyzer.feed(line)
    assert analyzer.finish() == analyze_file(path, material_density_g_cm3=1.1)


def test_text_that_is_not_utf8_is_accepted() -> None:
    # Latin-1 in a comment (an old Windows tool) is still G-code.
    result = analyze_stream([b"; Temp\xe9rature\nG1 X10 F600\n"])
    assert result.computed_time_s == pytest.approx(1.0)


def test_crlf_and_a_missing_last_newline() -> None:
    result = analyze_stream([b"G1 X10 F600\r\n; c\r\nG1 X20"])
    assert result.line_count == 3
    assert result.computed_time_s == pytest.approx(2.0)


@pytest.mark.parametrize("chunk_size", [1, 3, 64, 4096, 1 << 20])
def test_any_chunking_gives_the_same_result(chunk_size: int) -> None:
    data = (SAMPLES / "prusaslicer.gcode").read_bytes() + (b"G1 X1 Y1 E.1\nG1 X2 Y2 E.1\n" * 60_000)
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    if chunk_size == 1:
        chunks = [*chunks[:50_000], data[50_000:]]  # keep the test fast
    assert analyze_stream(chunks) == analyze_stream([data])


# ---- strip_line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stripped"),
    [
        ("G1 X10 Y20", "G1 X10 Y20"),
        ("  G1   X10\tY20  \r\n", "G1 X10 Y20"),
        ("G1 X10 ; move", "G1 X10"),
        ("; only a comment", ""),
        (";", ""),
        ("", ""),
        ("   \t", ""),
        ("G1 (paren comment) X10", "G1 X10"),
        ("G1(c)X10", "G1 X10"),
        ("(whole line)", ""),
        ("G1 X10 (unclosed", "G1 X10"),
        ("G1 X5 (a;b) Y6", "G1 X5 Y6"),  # ; inside parentheses is not a comment
        ("G1 X5 ; a (b) c", "G1 X5"),
        ("N12 G1 X5*34", "N12 G1 X5*34"),  # the checksum is not a comment
        ("M117 Hello  (world)  ; note", "M117 Hello  (world)"),  # free text kept as written
        ("M117 50\\; done", "M117 50\\; done"),  # escaped semicolon
        ("N3 M118 A (b)", "N3 M118 A (b)"),
        ("M23 my (file).gco", "M23 my (file).gco"),
        ("m117 lower (case)", "m117 lower (case)"),
        ("M1170 (x)", "M1170"),  # not M117
    ],
)
def test_strip_line(raw: str, stripped: str) -> None:
    assert strip_line(raw) == stripped
