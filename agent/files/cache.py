"""G-code files for jobs: downloaded from the cloud's signed URL, verified, cached by sha256.

A file is streamed to a partial file while its sha256 and length are computed, and becomes
``<sha256>.gcode`` only if both match what the command promised, so a truncated or tampered
download never reaches a printer. The cache is capped in bytes; the least recently used
files go first, never one a job is printing. The signed URL's query is a credential: it is
never logged (only scheme, host and path are).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from pathlib import Path

import httpx

from agent.config import redact_url
from agent.drivers.base import InvalidFileError

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO ("HTTP Request: GET https://…?signature=…"):
# the signature is a credential, so its request log is kept to warnings in the agent.
logging.getLogger("httpx").setLevel(logging.WARNING)

CHUNK_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 15.0
# Between two chunks; the whole download is bounded by the cache's download_timeout_s.
READ_TIMEOUT_S = 60.0


class FileCache:
    def __init__(self, directory: Path, *, max_bytes: int, download_timeout_s: float) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.download_timeout_s = download_timeout_s
        self._pinned: dict[Path, int] = {}
        self._lock = asyncio.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob(".partial-*"):
            stale.unlink(missing_ok=True)

    def path_for(self, sha256: str) -> Path:
        return self.directory / f"{sha256}.gcode"

    def pin(self, path: Path) -> None:
        """Keep `path` out of eviction (a job is printing it) until `unpin`."""
        self._pinned[path] = self._pinned.get(path, 0) + 1

    def unpin(self, path: Path) -> None:
        count = self._pinned.get(path, 0) - 1
        if count <= 0:
            self._pinned.pop(path, None)
        else:
            self._pinned[path] = count

    async def fetch(self, url: str, sha256: str, size_bytes: int) -> Path:
        """The verified local file; `InvalidFileError` (file_invalid) with a clear reason."""
        sha256 = sha256.lower()
        target = self.path_for(sha256)
        if size_bytes > self.max_bytes:
            raise InvalidFileError(
                f"the file is {size_bytes / 1e6:.1f} MB, more than the agent's cache limit "
                f"of {self.max_bytes / 1e6:.1f} MB (files.cache_max_mb)"
            )
        async with self._lock:
            if target.is_file() and target.stat().st_size == size_bytes:
                os.utime(target)
                log.info("using cached %s", target.name)
                return target
            self._make_room(size_bytes)
        partial = self.directory / f".partial-{sha256[:16]}-{uuid.uuid4().hex[:8]}"
        try:
            async with asyncio.timeout(self.download_timeout_s):
                digest, length = await self._download(url, partial, size_bytes)
        except TimeoutError:
            partial.unlink(missing_ok=True)
            raise InvalidFileError(
                f"download of {redact_url(url)} took longer than {self.download_timeout_s:.0f} s"
            ) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if length != size_bytes or digest != sha256:
            partial.unlink(missing_ok=True)
            raise InvalidFileError(
                f"downloaded file does not match the job: {length} bytes with sha256 "
                f"{digest[:12]}…, expected {size_bytes} bytes with sha256 {sha256[:12]}…"
            )
        partial.replace(target)
        log.info("downloaded %s (%d bytes, sha256 verified)", target.name, length)
        return target

    async def _download(self, url: str, partial: Path, size_bytes: int) -> tuple[str, int]:
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        hasher = hashlib.sha256()
        length = 0
        log.info("downloading %s", redact_url(url))
        try:
            async with (
                httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != httpx.codes.OK:
                    raise InvalidFileError(
                        f"download of {redact_url(url)} refused: HTTP {response.status_code}"
                    )
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes(CHUNK_BYTES):
                        length += len(chunk)
                        if length > size_bytes:
                            raise InvalidFileError(
                                f"download of {redact_url(url)} is longer than the "
                                f"{size_bytes} bytes the job announced"
                            )
                        hasher.update(chunk)
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise InvalidFileError(
                f"download of {redact_url(url)} failed: {type(exc).__name__}"
            ) from exc
        return hasher.hexdigest(), length

    def _make_room(self, incoming_bytes: int) -> None:
        files = []
        for path in self.directory.glob("*.gcode"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total + incoming_bytes <= self.max_bytes:
                return
            if path in self._pinned:
                continue
            path.unlink(missing_ok=True)
            total -= size
            log.info("evicted %s from the file cache (%d bytes)", path.name, size)
