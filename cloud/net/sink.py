"""Stream bytes to a file with a size limit, hashing on the way, without blocking the loop.

Chunks are gathered into blocks of `flush_bytes`; each block is hashed, written and handed to
an optional `observer` (the streaming G-code analysis) in a worker thread. One block may be
in that thread while the next one is being received, so receiving and processing overlap,
and memory stays bounded by two blocks, however large the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Self

from cloud.db.private import open_private

DEFAULT_FLUSH_BYTES: Final = 1 << 20

#: Called in a worker thread with each block, in file order; may raise to stop the transfer.
BlockObserver = Callable[[bytes], None]


class SizeLimitExceededError(Exception):
    """More than `max_bytes` were offered to a `HashingFileSink`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


class HashingFileSink:
    """`async with HashingFileSink(path, max_bytes=...) as sink: await sink.write(chunk)`.

    The file is created (truncated) on enter and closed on exit; `finish()` flushes, fsyncs
    and gives (size_bytes, sha256 hex). An exception from `observer` comes out of the
    `write()` or `finish()` after its block. Removing a failed file is the caller's decision.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        flush_bytes: int = DEFAULT_FLUSH_BYTES,
        observer: BlockObserver | None = None,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self._path = path
        self._max_bytes = max_bytes
        self._flush_bytes = flush_bytes
        self._observer = observer
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._in_flight: asyncio.Task[None] | None = None
        self.size_bytes = 0

    async def __aenter__(self) -> Self:
        self._file = await asyncio.to_thread(lambda: os.fdopen(open_private(self._path), "wb"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._in_flight = self._in_flight, None
        if task is not None:
            # Only left over on an error path: stop waiting for it, without raising its
            # outcome over the error already under way (asyncio.wait never raises it).
            task.cancel()
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as lost
        if self._file is not None:
            file, self._file = self._file, None
            # BufferedWriter.close takes the buffer lock, so a write still running in a
            # worker thread finishes first.
            await asyncio.to_thread(file.close)

    async def write(self, chunk: bytes) -> None:
        """Queue `chunk`; raises SizeLimitExceededError before accepting a byte too many."""
        if self.size_bytes + len(chunk) > self._max_bytes:
            raise SizeLimitExceededError(self._max_bytes)
        self.size_bytes += len(chunk)
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= self._flush_bytes:
            await self._wait_in_flight()  # at most one block in the worker thread
            self._in_flight = asyncio.create_task(
                asyncio.to_thread(self._process, self._take_pending()), name="sink-block"
            )

    async def finish(self) -> tuple[int, str]:
        """Process what is pending, fsync, and return (size_bytes, sha256 hex digest)."""
        await self._wait_in_flight()
        if self._pending:
            await asyncio.to_thread(self._process, self._take_pending())
        file = self._require_open()
        await asyncio.to_thread(_sync_to_disk, file)
        return self.size_bytes, self._hash.hexdigest()

    async def _wait_in_flight(self) -> None:
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    def _take_pending(self) -> bytes:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        return data

    def _process(self, data: bytes) -> None:
        # Runs in a worker thread; blocks are processed one at a time, in order.
        self._hash.update(data)
        self._require_open().write(data)
        if self._observer is not None:
            self._observer(data)

    def _require_open(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("HashingFileSink used outside `async with`")
        return self._file


def _sync_to_disk(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
