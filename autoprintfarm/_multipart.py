"""A streamed ``multipart/form-data`` body (RFC 7578) that reports upload progress.

httpx can build multipart bodies itself, but it reads the file as it pleases and says
nothing while sending. Building the body here lets the upload stream from disk in chunks,
report ``progress(bytes_sent, total_bytes)`` as each chunk is taken by the transport, and be
sent again on a retry (a path is reopened, a seekable file is rewound).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 256 * 1024

Progress = Callable[[int, int | None], None]
FileInput = str | os.PathLike[str] | BinaryIO


def _quote(value: str) -> str:
    # WHATWG multipart/form-data encoding of names and filenames: escape LF, CR and '"'.
    return value.replace("\n", "%0A").replace("\r", "%0D").replace('"', "%22")


class MultipartBody:
    """Text fields plus one file part named ``file``."""

    def __init__(
        self,
        fields: Mapping[str, str],
        file: FileInput,
        *,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        self.boundary = "apf-" + secrets.token_hex(16)
        self._path: Path | None = None
        self._fh: BinaryIO | None = None
        self._start = 0
        if isinstance(file, str | os.PathLike):
            self._path = Path(file)
            self.file_size: int | None = self._path.stat().st_size
            name = filename or self._path.name
        else:
            self._fh = file
            self.file_size = _remaining_size(file)
            self._start = file.tell() if _seekable(file) else 0
            name = filename or Path(str(getattr(file, "name", "upload.gcode"))).name
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(k)}"'
            f"\r\n\r\n".encode()
            + v.encode()
            + b"\r\n"
            for k, v in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{_quote(name)}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._sent_once = False

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int | None:
        if self.file_size is None:
            return None
        return len(self._head) + self.file_size + len(self._tail)

    @property
    def replayable(self) -> bool:
        """Whether the body can be produced again for a retry."""
        return self._path is not None or self._fh is None or _seekable(self._fh)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": self.content_type}
        length = self.content_length
        if length is not None:
            headers["Content-Length"] = str(length)
        return headers

    def _open(self) -> tuple[BinaryIO, bool]:
        """The file to read and whether we own (and must close) it."""
        if self._path is not None:
            return self._path.open("rb"), True
        assert self._fh is not None
        if self._sent_once and _seekable(self._fh):
            self._fh.seek(self._start)
        self._sent_once = True
        return self._fh, False

    def iter_sync(self, progress: Progress | None) -> Iterator[bytes]:
        fh, owned = self._open()
        try:
            yield self._head
            sent = 0
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk
                # Resumed: the transport has taken the chunk.
                sent += len(chunk)
                if progress is not None:
                    progress(sent, self.file_size)
            if sent == 0 and progress is not None:
                progress(0, self.file_size)
            yield self._tail
        finally:
            if owned:
                fh.close()

    async def iter_async(self, progress: Progress | None) -> AsyncIterator[bytes]:
        # Disk reads go to a thread so a slow disk never stalls the event loop.
        fh, owned = await asyncio.to_thread(self._open)
        try:
            yield self._head
            sent = 0
            while chunk := await asyncio.to_thread(fh.read, CHUNK_BYTES):
                yield chunk
                sent += len(chunk)
                if progress is not None:
                    progress(sent, self.file_size)
            if sent == 0 and progress is not None:
                progress(0, self.file_size)
            yield self._tail
        finally:
            if owned:
                await asyncio.to_thread(fh.close)


def _seekable(fh: BinaryIO) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _remaining_size(fh: BinaryIO) -> int | None:
    if not _seekable(fh):
        return None
    here = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(here)
    return int(end - here)
