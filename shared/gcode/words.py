"""Pure helpers for one G-code line: strip comments (what a host sends) and split into words.

`strip_line` is what the serial host uses before numbering and checksumming a line; the
exact forms it removes are listed in its docstring and in docs/gcode.md.
"""

from __future__ import annotations

import re

# Commands whose argument is free text (a file name or a message) rather than letter/number
# words (Marlin: M23/M28/M30/M32/M928 take file names, M117/M118 messages).
FREE_TEXT_COMMANDS = frozenset({"M23", "M28", "M30", "M32", "M117", "M118", "M928"})

_WORD = re.compile(r"([A-Za-z])\s*([-+]?(?:\d+\.?\d*|\.\d+))?")
_LINE_NUMBER = re.compile(r"[Nn]\s*\d+\s*")
_COMMAND = re.compile(r"[A-Za-z]\s*\d+")


def strip_line(raw: str) -> str:
    """The sendable part of one G-code line: comments and surplus whitespace removed.

    Removed, scanning left to right:
    - a `;` comment: from the first `;` to the end of the line. A backslash-escaped `\\;` is
      not a comment start and is kept as the two characters `\\;` (Marlin's serial reader
      treats `\\` as an escape, so a message can carry a semicolon);
    - `(...)` comments (RS274/NIST style, understood by RepRapFirmware and by Marlin built
      with PAREN_COMMENTS): from `(` to the next `)`, not nested; an unclosed `(` comments
      out the rest of the line. A `;` inside parentheses does not start a comment;
    - whitespace: leading and trailing whitespace (including `\\r`, `\\n`) goes, and runs of
      spaces and tabs inside the line become one space.
    Free-text commands (M23, M28, M30, M32, M117, M118, M928, optionally after a line
    number) keep their text as written: only a `;` comment and the outer whitespace go, and
    parentheses are part of the text.
    A blank or comment-only line gives "". A `*checksum` is not removed (it is not a comment).
    """
    if ";" not in raw and "(" not in raw and "\\" not in raw:
        if _is_free_text(raw):
            return raw.strip()
        return " ".join(raw.split())
    free_text = _is_free_text(raw)
    kept: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        char = raw[i]
        if char == "\\" and i + 1 < n:
            kept.append(raw[i : i + 2])
            i += 2
            continue
        if char == ";":
            break
        if char == "(" and not free_text:
            close = raw.find(")", i + 1)
            if close < 0:
                break
            kept.append(" ")  # keep the words on either side apart: "G1(c)X5" -> "G1 X5"
            i = close + 1
            continue
        kept.append(char)
        i += 1
    text = "".join(kept)
    if free_text:
        return text.strip()
    return " ".join(text.split())


def _is_free_text(raw: str) -> bool:
    text = raw.lstrip()
    number = _LINE_NUMBER.match(text)
    if number:
        text = text[number.end() :]
    command = _COMMAND.match(text)
    if command is None:
        return False
    return command.group().replace(" ", "").replace("\t", "").upper() in FREE_TEXT_COMMANDS


def parse_words(code: str) -> list[tuple[str, float | None]]:
    """Split comment-free code into (LETTER, number) words; a bare letter gives None.

    Accepts what firmware accepts and slicers never write: lowercase letters, no spaces
    between words ("G1X5Y5"), a space between letter and number ("X 5"). Anything from `*`
    on (a checksum) is dropped. Characters that are neither a letter nor a number are skipped.
    """
    star = code.find("*")
    if star >= 0:
        code = code[:star]
    words: list[tuple[str, float | None]] = []
    for match in _WORD.finditer(code):
        number = match.group(2)
        words.append((match.group(1).upper(), float(number) if number else None))
    return words
