"""Byte-level checks that tell a G-code text file from everything else, with actionable reasons."""

from __future__ import annotations

from shared.gcode.errors import GcodeInvalidError

# Longest line accepted. Commands are short (Marlin's MAX_CMD_SIZE is 96 bytes), but slicers
# store their whole configuration as comments and a start-G-code value can run to tens of kB
# on one line (Bambu Studio, OrcaSlicer); a "line" far beyond that is binary data, a
# minified blob or CR-only line endings.
MAX_LINE_BYTES = 256 * 1024

# Bytes that never occur in G-code text: C0 controls other than tab, LF, CR, form feed,
# and the DOS end-of-file mark 0x1A that old tools append; and DEL.
_ALLOWED_CONTROLS = b"\t\n\r\x0c\x1a"
_TEXT_BYTES = bytes(b for b in range(256) if (b >= 0x20 and b != 0x7F) or b in _ALLOWED_CONTROLS)

# Prusa binary G-code (.bgcode) starts with the magic "GCDE"
# (prusa3d/libbgcode src/LibBGCode/core/core.hpp: `MAGIC{ 'G', 'C', 'D', 'E' }`).
_BGCODE_MAGIC = b"GCDE"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_start(head: bytes) -> None:
    """Checks on the first bytes of the file (at least 4 if the file has them)."""
    if head.startswith(_BGCODE_MAGIC):
        raise GcodeInvalidError(
            "this is binary G-code (Prusa .bgcode), which cannot be streamed as text: export "
            "plain-text G-code (in PrusaSlicer untick Printer Settings > General > Firmware > "
            "'Supports binary G-code')"
        )
    if head.startswith(_UTF16_BOMS):
        raise GcodeInvalidError("the file is UTF-16 text: save it as UTF-8 or ASCII")


def check_text(block: bytes, offset: int) -> None:
    """Raise if `block` (starting at file `offset`) holds bytes that text never has."""
    bad = block.translate(None, _TEXT_BYTES)
    if not bad:
        return
    position = block.index(bad[:1])
    if bad[0] == 0:
        raise GcodeInvalidError(
            f"the file contains a NUL byte at offset {offset + position}: it is a binary "
            "file, not G-code text"
        )
    raise GcodeInvalidError(
        f"the file contains binary data (byte 0x{bad[0]:02x} at offset {offset + position}): "
        "it is not G-code text"
    )


def check_line_lengths(block: bytes, first_line_number: int) -> None:
    """Raise if a line of `block` is longer than MAX_LINE_BYTES (1-based line numbers).

    A too-long line is a run of more than MAX_LINE_BYTES bytes without a line end, so it is
    enough to look, from each line start, for the last line end within that distance: a few
    C-speed `rfind` calls per block instead of splitting it into lines.
    """
    start = 0
    while len(block) - start > MAX_LINE_BYTES:
        line_end = block.rfind(b"\n", start, start + MAX_LINE_BYTES + 1)
        if line_end < 0:
            line_number = first_line_number + block.count(b"\n", 0, start)
            raise too_long(line_number, block[start : start + MAX_LINE_BYTES + 1])
        start = line_end + 1


def too_long(line_number: int, sample: bytes) -> GcodeInvalidError:
    hint = ""
    if b"\r" in sample and b"\n" not in sample:
        hint = " (the file seems to use old Mac CR-only line endings: convert them to LF)"
    return GcodeInvalidError(
        f"line {line_number} is longer than {MAX_LINE_BYTES} bytes: this is not G-code text{hint}"
    )


def over_limit(max_bytes: int) -> GcodeInvalidError:
    return GcodeInvalidError(f"the file is larger than the limit of {max_bytes} bytes")
