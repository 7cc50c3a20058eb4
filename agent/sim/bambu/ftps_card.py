"""The simulated printer's storage card as its FTPS server sees it: a directory on disk.

FTP paths are virtual (`/cache/a.gcode`, or relative to the session's working directory)
and map onto `root`. Nothing outside `root` is reachable: `..` above the top is refused,
and so is a symlink that leads out. Every refusal is a `CardError` carrying the FTP reply
the session should send, so bad input never needs more than one `except` in the session.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

# The folders a real printer's card has (README fact 10: /cache for uploads, /model).
FOLDERS = ("cache", "model")
# `ls -l` month names; strftime("%b") would follow the locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SIX_MONTHS_S = 182 * 24 * 3600


class CardError(Exception):
    """A refused file operation, as the FTP reply (code and text) that reports it."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class Card:
    """The card's files under `root`; `capacity_bytes` None means unlimited."""

    def __init__(self, root: Path, capacity_bytes: int | None = None) -> None:
        if capacity_bytes is not None and capacity_bytes < 0:
            raise ValueError("capacity_bytes must be >= 0")
        self.root = root
        self.capacity_bytes = capacity_bytes
        # False plays a printer with no card in its slot: every file command answers 550.
        self.present = True
        for folder in FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(root)

    def resolve(self, cwd: str, path: str) -> tuple[str, Path]:
        """The normalised virtual path of `path` (absolute, or relative to `cwd`) and the
        file it names on disk. CardError 550 when it would leave the card."""
        if not self.present:
            raise CardError(550, "No storage card.")
        # Control characters (NUL, a stray CR) in a name would corrupt LIST replies.
        if any(ord(char) < 32 for char in path):
            raise CardError(501, "Invalid path.")
        parts = [] if path.startswith("/") else [p for p in cwd.split("/") if p]
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise CardError(550, "Permission denied: path outside the card.")
                parts.pop()
            else:
                parts.append(part)
        real = self.root.joinpath(*parts)
        # A symlink inside the card could still point out of it: check where it lands.
        landed = os.path.realpath(real)
        if landed != self._real_root and not landed.startswith(self._real_root + os.sep):
            raise CardError(550, "Permission denied: path outside the card.")
        return "/" + "/".join(parts), real

    def is_root(self, real: Path) -> bool:
        return os.path.realpath(real) == self._real_root

    def room_for(self, target: Path) -> int | None:
        """Bytes a STOR to `target` may write: free space plus the size of the file it
        replaces (opening it for writing truncates it). None when the card is unlimited."""
        if self.capacity_bytes is None:
            return None
        replaced = target.stat().st_size if target.is_file() else 0
        return max(0, self.capacity_bytes - self.used_bytes() + replaced)

    def used_bytes(self) -> int:
        total = 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except FileNotFoundError:  # deleted by another session meanwhile
                    continue
        return total

    def listing(self, real: Path, *, names_only: bool) -> list[str]:
        """LIST lines (`ls -l` style) or NLST names of a folder, or of one file."""
        try:
            if real.is_dir():
                entries = sorted(real.iterdir(), key=lambda p: p.name)
            elif real.is_file():
                entries = [real]
            else:
                raise CardError(550, "No such file or directory.")
        except OSError as exc:
            raise CardError(550, "Failed to open directory.") from exc
        if names_only:
            return [entry.name for entry in entries]
        lines = []
        for entry in entries:
            try:
                lines.append(_long_line(entry))
            except FileNotFoundError:  # removed while we listed
                continue
        return lines

    def size(self, real: Path) -> int:
        return self._file_stat(real).st_size

    def modified(self, real: Path) -> str:
        """MDTM's time-val (RFC 3659 §2.3): YYYYMMDDHHMMSS in UTC."""
        return time.strftime("%Y%m%d%H%M%S", time.gmtime(self._file_stat(real).st_mtime))

    def _file_stat(self, real: Path) -> os.stat_result:
        try:
            st = real.stat()
        except OSError as exc:
            raise CardError(550, "Could not get file size.") from exc
        if not stat.S_ISREG(st.st_mode):
            raise CardError(550, "Could not get file size.")
        return st


def _long_line(entry: Path) -> str:
    st = entry.stat()
    kind = "d" if stat.S_ISDIR(st.st_mode) else "-"
    mode = "rwxr-xr-x" if kind == "d" else "rw-r--r--"
    when = time.gmtime(st.st_mtime)
    # `ls -l` shows the time for recent files and the year for older ones.
    if abs(time.time() - st.st_mtime) < _SIX_MONTHS_S:
        stamp = f"{_MONTHS[when.tm_mon - 1]} {when.tm_mday:2d} {when.tm_hour:02d}:{when.tm_min:02d}"
    else:
        stamp = f"{_MONTHS[when.tm_mon - 1]} {when.tm_mday:2d}  {when.tm_year}"
    return f"{kind}{mode}    1 root     root     {st.st_size:>10} {stamp} {entry.name}"
