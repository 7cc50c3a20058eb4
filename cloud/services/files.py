"""Stored G-code for jobs: ingest (upload or URL) into the store + a `files` row; URLs to it.

A job's `file_url` is the cloud's own copy, `<public_url>/v1/files/<file_id>`; a new job may
name such a URL of its organization to reuse the stored file without fetching it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.context import CloudContext
from cloud.db.models import StoredFileRow
from cloud.files import FileInvalidError, FileTooLargeError, StoredFile
from cloud.net import OutboundURLError, UnsafeURLError
from cloud.problems import Problem, TooLarge, invalid
from cloud.services import quotas
from cloud.services.context import ServiceContext
from cloud.services.org import storage_used
from shared.enums import ErrorCode
from shared.gcode import GcodeAnalysis, GcodeInvalidError


class FileService:
    def __init__(self, ctx: ServiceContext, app: CloudContext) -> None:
        self.ctx = ctx
        self.app = app

    @property
    def session(self) -> AsyncSession:
        return self.ctx.session

    async def from_url(self, url: str) -> StoredFileRow:
        s = self.app.settings
        try:
            stored = await self.app.store.save_from_url(
                url,
                max_bytes=s.max_upload_bytes,
                allow_private=s.allow_private_urls,
                timeout_s=s.fetch_timeout_s,
            )
        except UnsafeURLError as exc:
            raise invalid(f"file_url is not allowed: {exc.reason}.", param="file_url") from exc
        except OutboundURLError as exc:
            raise invalid(f"Could not fetch file_url: {exc.reason}.", param="file_url") from exc
        except (FileInvalidError, GcodeInvalidError) as exc:
            raise _file_invalid(exc, "file_url") from exc
        return await self._record(stored, source_url=url)

    async def from_stream(self, chunks: AsyncIterator[bytes], filename: str) -> StoredFileRow:
        try:
            stored = await self.app.store.save_stream(
                chunks, filename=filename, max_bytes=self.app.settings.max_upload_bytes
            )
        except (FileInvalidError, GcodeInvalidError) as exc:
            raise _file_invalid(exc, "file") from exc
        return await self._record(stored, source_url=None)

    async def analyze_stream(self, chunks: AsyncIterator[bytes]) -> GcodeAnalysis:
        """What `from_stream` would find in the upload (the same limit, the same
        `file_invalid`), with nothing stored."""
        try:
            return await self.app.store.analyze_stream(
                chunks, max_bytes=self.app.settings.max_upload_bytes
            )
        except (FileInvalidError, GcodeInvalidError) as exc:
            raise _file_invalid(exc, "file") from exc

    async def _record(self, stored: StoredFile, *, source_url: str | None) -> StoredFileRow:
        org = await self.ctx.organization()
        limit = quotas.plan_for(org.plan).storage_bytes
        try:
            quotas.check(
                await storage_used(self.ctx),
                stored.size_bytes,
                limit,
                "bytes of stored G-code",
                org.plan,
            )
        except Problem:
            await self.app.store.delete(stored.file_id)
            raise
        row = StoredFileRow(
            id=stored.file_id,
            org_id=self.ctx.org_id,
            filename=stored.filename,
            source_url=source_url,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            analysis=msgspec.to_builtins(stored.analysis),
        )
        self.session.add(row)
        # No ORM relationship orders the inserts, so the row must exist before a job names it.
        await self.ctx.flush()
        return row


def _file_invalid(exc: Exception, param: str) -> Problem:
    if isinstance(exc, FileTooLargeError):
        return TooLarge(
            ErrorCode.FILE_INVALID, f"The file is too large: {exc.reason}.", param=param
        )
    reason = getattr(exc, "reason", str(exc))
    return Problem(ErrorCode.FILE_INVALID, f"G-code file invalid: {reason}.", param=param)
