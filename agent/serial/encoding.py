"""Outgoing G-code lines: cleaning, numbering and the XOR checksum.

Marlin's rule (queue.cpp get_serial_commands): a line that begins with ``N`` carries
``*<checksum>``, the XOR of every byte before ``*``; N must be the last line + 1 except on M110.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

_SPACE_RUNS = str.maketrans({"\t": " ", "\r": " "})


def clean_line(raw: str) -> str:
    """The command part of one G-code line: ``;`` comment, surplus whitespace removed.

    Returns "" for a line that carries no command (blank, comment-only, thumbnail data).
    """
    cut = raw.find(";")
    if cut >= 0:
        raw = raw[:cut]
    raw = raw.strip()
    if "  " in raw or "\t" in raw or "\r" in raw:
        raw = " ".join(raw.translate(_SPACE_RUNS).split())
    return raw


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def numbered_line(line_number: int, command: bytes) -> bytes:
    """``N<n> <command>*<xor>\\n`` as bytes."""
    body = b"N%d %s" % (line_number, command)
    return b"%s*%d\n" % (body, reduce(xor, body, 0))


def command_problem(command: str) -> str | None:
    """Why a cleaned command cannot be sent, or None.

    ``*`` would be read as the checksum marker and a newline would split the line.
    """
    if not command:
        return "empty command"
    if "\n" in command or "\r" in command:
        return "command contains a line break"
    if "*" in command:
        return "command contains '*', which the firmware reads as a checksum"
    if not command.isascii():
        return "command contains non-ASCII characters"
    return None
