"""Stream bytes to a file with a size limit, hashing on the way, without blocking the loop.

Chunks are gathered up to `flush_bytes` and then hashed and written in a worker thread, so a
multi-hundred-megabyte upload neither sits in memory nor stalls the event loop on disk I/O.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Self

DEFAULT_FLUSH_BYTES: Final = 1 << 20


class SizeLimitExceededError(Exception):
    """More than `max_bytes` were offered to a `HashingFileSink`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


class HashingFileSink:
    """`async with HashingFileSink(path, max_bytes=...) as sink: await sink.write(chunk)`.

    The file is created (truncated) on enter and closed on exit; `finish()` flushes, fsyncs
    and gives (size_bytes, sha256 hex). Removing a failed file is the caller's decision.
    """

    def __init__(
        self, path: Path, *, max_bytes: int, flush_bytes: int = DEFAULT_FLUSH_BYTES
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self._path = path
        self._max_bytes = max_bytes
        self._flush_bytes = flush_bytes
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.size_bytes = 0

    async def __aenter__(self) -> Self:
        self._file = await asyncio.to_thread(open, self._path, "wb")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            await asyncio.to_thread(file.close)

    async def write(self, chunk: bytes) -> None:
        """Queue `chunk`; raises SizeLimitExceededError before accepting a byte too many."""
        if self.size_bytes + len(chunk) > self._max_bytes:
            raise SizeLimitExceededError(self._max_bytes)
        self.size_bytes += len(chunk)
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= self._flush_bytes:
            await self._flush()

    async def finish(self) -> tuple[int, str]:
        """Write what is pending, fsync, and return (size_bytes, sha256 hex digest)."""
        await self._flush()
        file = self._require_open()
        await asyncio.to_thread(_sync_to_disk, file)
        return self.size_bytes, self._hash.hexdigest()

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        await asyncio.to_thread(_hash_and_write, self._hash, self._require_open(), data)

    def _require_open(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("HashingFileSink used outside `async with`")
        return self._file


def _hash_and_write(hasher: hashlib._Hash, file: BinaryIO, data: bytes) -> None:
    hasher.update(data)
    file.write(data)


def _sync_to_disk(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
