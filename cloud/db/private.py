"""Files only the service's own user may read: what the cloud keeps on disk.

The database holds API key hashes, sealed secrets and every organization's data; stored
G-code is customers' work. Directories are created 0700 and files 0600, and ones an earlier
version created with the umask's usual 0755/0644 are tightened when the service starts.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing, and make it the owner's alone."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path) -> int:
    """A new file for writing, 0600 from its first byte (truncated if it exists)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
