"""`GET /v1/files/{file_id}`: stored G-code, for agents (signed URL) and API users (key)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, QueryParameter
from litestar.response import File

from cloud.api.deps import app_context
from cloud.api.openapi import errors
from cloud.db.models import StoredFileRow
from cloud.errors import ApiError, not_found
from cloud.files import verify_download
from shared.enums import ErrorCode

SignedQuery = Annotated[str | None, QueryParameter(max_length=200)]
GCODE_MEDIA_TYPE = "text/x.gcode"


class FileController(Controller):
    path = "/v1/files"
    tags = ["files"]  # noqa: RUF012

    @get(
        "/{file_id:str}",
        responses=errors(),
        media_type=GCODE_MEDIA_TYPE,
        response_headers=[
            ResponseHeader(
                name="Last-Modified",
                description="When the file was stored (it never changes after).",
                documentation_only=True,
            ),
            ResponseHeader(
                name="ETag",
                description="The file's validator, for conditional requests.",
                documentation_only=True,
            ),
            ResponseHeader(
                name="Content-Disposition",
                description="attachment, with the file's name as uploaded.",
                documentation_only=True,
            ),
        ],
    )
    async def download_file(
        self,
        request: Request[Any, Any, Any],
        file_id: FromPath[str],
        expires: SignedQuery = None,
        signature: SignedQuery = None,
    ) -> File:
        """Download a job's G-code: with a signed link (`expires` + `signature`, as handed to
        agents) or with an API key that has `jobs:read` in the file's organization."""
        ctx = app_context(request)
        org_id: str | None = None
        if expires is not None or signature is not None:
            if not (
                expires
                and signature
                and verify_download(file_id, expires, signature, ctx.signing_key, time.time())
            ):
                raise ApiError(
                    ErrorCode.INVALID_API_KEY, "The download link is invalid or has expired."
                )
        else:
            principal = await ctx.keys.resolve(request.headers.get("authorization"))
            if not principal.allows("jobs:read"):
                raise ApiError(
                    ErrorCode.INSUFFICIENT_PERMISSIONS, "This API key lacks the 'jobs:read' scope."
                )
            org_id = principal.org_id
        async with ctx.sessions() as session:
            row = await session.get(StoredFileRow, file_id)
        if row is None or (org_id is not None and row.org_id != org_id):
            raise not_found("file", file_id)
        return File(
            path=ctx.store.path_for(file_id),
            filename=row.filename,
            media_type=GCODE_MEDIA_TYPE,
            content_disposition_type="attachment",
        )
