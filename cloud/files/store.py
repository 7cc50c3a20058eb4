"""G-code files on disk: streamed in, hashed, analysed, then moved into place atomically.

Layout under `root_dir`:
- `<2 chars>/<file_id>.gcode`: stored files, sharded by the id's first random characters
  so no directory grows past ~1,000 entries per million files;
- `.partial/`: uploads in progress. A file is written and analysed there, then renamed into
  place with `os.replace` (atomic on one filesystem), so a reader never sees half a file and a
  failed or cancelled upload leaves nothing but a partial that is removed at once (after a
  crash: when a store next starts, or by `sweep_partials`).

The store keeps no metadata: the caller (the jobs service) records id, name, hash, size and
analysis in the database. Ids are random (`fil_…`), never content hashes, so deleting one
organization's file can never pull a shared copy from under another's job.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import unquote

import httpx

from cloud.db.private import DIR_MODE, private_dir
from cloud.files.errors import FileInvalidError, FileTooLargeError, StoredFileNotFoundError
from cloud.ids import IdPrefix, new_id
from cloud.net import HashingFileSink, SizeLimitExceededError, fetch_to_file
from cloud.net.errors import ResponseTooLargeError
from shared.gcode import GcodeAnalysis, GcodeAnalyzer, GcodeInvalidError

logger = logging.getLogger(__name__)

_FILE_ID: Final = re.compile(r"fil_[0-9a-z]{20}")
_PARTIAL_DIR: Final = ".partial"
_SUFFIX: Final = ".gcode"
MAX_FILENAME_CHARS: Final = 200
DEFAULT_FILENAME: Final = "upload.gcode"
PARTIAL_MAX_AGE_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: str
    filename: str
    path: Path
    sha256: str
    size_bytes: int
    analysis: GcodeAnalysis


class GcodeStore:
    """Stores G-code files under `root_dir` (see the module docstring for the layout)."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = private_dir(root_dir)
        self._partial_dir = private_dir(root_dir / _PARTIAL_DIR)
        # Leftovers of a crashed process; only old ones, as other processes may be mid-upload.
        self._sweep_partials_sync(PARTIAL_MAX_AGE_S)

    async def save_stream(
        self, chunks: AsyncIterator[bytes], *, filename: str, max_bytes: int
    ) -> StoredFile:
        """Stream `chunks` to disk (never whole in memory), analysing on the way, and store.

        The G-code analysis (shared.gcode's streaming `GcodeAnalyzer`, the engine behind
        `analyze_file`) sees each block in a worker thread as it arrives, so a file that is
        not G-code is refused after its first block rather than after the whole upload, and
        analysing overlaps receiving. Raises FileInvalidError (FileTooLargeError past
        `max_bytes`); nothing is left behind.
        """
        partial = self._new_partial()
        analyzer = GcodeAnalyzer()
        try:
            size_bytes, sha256 = await _receive(partial, chunks, max_bytes, analyzer)
            return await self._admit(
                partial, clean_filename(filename), size_bytes, sha256, analyzer
            )
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)

    async def analyze_stream(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> GcodeAnalysis:
        """What `save_stream` would find in `chunks`, by the same steps, keeping nothing:
        the same limit, the same FileInvalidError, the analysis; the partial goes at once."""
        partial = self._new_partial()
        analyzer = GcodeAnalyzer()
        try:
            size_bytes, _ = await _receive(partial, chunks, max_bytes, analyzer)
            return await _finish_analysis(size_bytes, analyzer)
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)

    async def save_from_url(
        self,
        url: str,
        *,
        filename: str | None = None,
        max_bytes: int,
        allow_private: bool,
        timeout_s: float,
    ) -> StoredFile:
        """Fetch `url` through the SSRF guard (cloud.net), then store it like an upload.

        Raises cloud.net's UnsafeURLError / FetchError for the URL and the transfer (a body
        over `max_bytes` is FileTooLargeError here, like an upload), FileInvalidError for the
        content. `filename` defaults to the last path segment of the URL.
        """
        partial = self._new_partial()
        analyzer = GcodeAnalyzer()
        try:
            try:
                result = await fetch_to_file(
                    url, partial, max_bytes=max_bytes, allow_private=allow_private,
                    timeout_s=timeout_s, observer=analyzer.feed,
                )  # fmt: skip
            except ResponseTooLargeError as exc:
                raise FileTooLargeError(max_bytes) from exc
            except GcodeInvalidError as exc:
                raise FileInvalidError(exc.reason) from exc
            name = clean_filename(filename if filename is not None else filename_from_url(url))
            return await self._admit(partial, name, result.size_bytes, result.sha256, analyzer)
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)

    def path_for(self, file_id: str) -> Path:
        """Where `file_id` is stored; StoredFileNotFoundError if it is not (or is no file id)."""
        path = self._final_path(file_id)
        if not path.is_file():
            raise StoredFileNotFoundError(file_id)
        return path

    async def delete(self, file_id: str) -> bool:
        """Remove `file_id`; False when there was nothing to remove."""
        path = self._final_path(file_id)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        logger.info("deleted stored file %s", file_id)
        return True

    async def sweep_partials(self, *, max_age_s: float = PARTIAL_MAX_AGE_S) -> int:
        """Remove partial uploads older than `max_age_s` (left by a crashed process)."""
        return await asyncio.to_thread(self._sweep_partials_sync, max_age_s)

    async def _admit(
        self,
        partial: Path,
        filename: str,
        size_bytes: int,
        sha256: str,
        analyzer: GcodeAnalyzer,
    ) -> StoredFile:
        analysis = await _finish_analysis(size_bytes, analyzer)
        file_id = new_id(IdPrefix.FILE)
        final = self._final_path(file_id)
        await asyncio.to_thread(_move_into_place, partial, final)
        logger.info("stored %s (%s, %d bytes, sha256 %s)", file_id, filename, size_bytes, sha256)
        return StoredFile(file_id, filename, final, sha256, size_bytes, analysis)

    def _new_partial(self) -> Path:
        return self._partial_dir / f"{secrets.token_hex(16)}.part"

    def _final_path(self, file_id: str) -> Path:
        # The id is checked before it touches a path: no `..`, no separators, ever.
        if not _FILE_ID.fullmatch(file_id):
            raise StoredFileNotFoundError(file_id)
        return self.root_dir / file_id[4:6] / f"{file_id}{_SUFFIX}"

    def _sweep_partials_sync(self, max_age_s: float) -> int:
        cutoff = time.time() - max_age_s
        removed = 0
        for entry in self._partial_dir.glob("*.part"):
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # another process swept it first
        if removed:
            logger.warning("removed %d abandoned partial uploads", removed)
        return removed


async def _receive(
    partial: Path, chunks: AsyncIterator[bytes], max_bytes: int, analyzer: GcodeAnalyzer
) -> tuple[int, str]:
    """Write `chunks` to `partial`, each block analysed as it lands; (size, sha256)."""
    try:
        async with HashingFileSink(partial, max_bytes=max_bytes, observer=analyzer.feed) as sink:
            async for chunk in chunks:
                await sink.write(chunk)
            return await sink.finish()
    except SizeLimitExceededError as exc:
        raise FileTooLargeError(max_bytes) from exc
    except GcodeInvalidError as exc:
        raise FileInvalidError(exc.reason) from exc


async def _finish_analysis(size_bytes: int, analyzer: GcodeAnalyzer) -> GcodeAnalysis:
    if size_bytes == 0:
        raise FileInvalidError("the file is empty")
    try:
        # The last block, the footer and the summary: CPU work, kept off the loop.
        return await asyncio.to_thread(analyzer.finish)
    except GcodeInvalidError as exc:
        raise FileInvalidError(exc.reason) from exc


def _move_into_place(partial: Path, final: Path) -> None:
    final.parent.mkdir(mode=DIR_MODE, exist_ok=True)
    os.replace(partial, final)
    # Make the new directory entry durable too, not only the file's bytes.
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def clean_filename(name: str) -> str:
    """A display name safe to store and to echo: last path segment, no control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        return DEFAULT_FILENAME
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            return stem[: MAX_FILENAME_CHARS - len(suffix) - 1] + "." + suffix
        return name[:MAX_FILENAME_CHARS]
    return name


def filename_from_url(url: str) -> str:
    """The last segment of the URL's path, percent-decoded (`…/benchy%20v2.gcode?x=1`)."""
    try:
        path = httpx.URL(url).path
    except httpx.InvalidURL:
        return DEFAULT_FILENAME
    return unquote(PurePosixPath(path).name) or DEFAULT_FILENAME
