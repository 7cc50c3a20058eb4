"""How the network drivers name the files they upload to a printer's host.

The name carries the content's hash (`apf-<first 16 hex of sha256>.gcode`), so the same file
is recognised on the printer's host and a reprint or the next copy needs no upload. The
agent's file cache names files by their verified sha256 already; any other file (`apf
print`) is hashed and keeps a readable part of its own name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

UPLOAD_PREFIX = "apf-"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    sha256: str
    size: int


def content_named(path: Path) -> Upload:
    """The upload's facts; blocking file I/O (call it in a thread)."""
    size = path.stat().st_size
    stem = path.stem.lower()
    if _SHA256.match(stem):
        return Upload(f"{UPLOAD_PREFIX}{stem[:16]}.gcode", stem, size)
    hasher = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:40]
    return Upload(f"{UPLOAD_PREFIX}{digest[:16]}-{readable}.gcode", digest, size)
