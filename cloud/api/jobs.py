"""`/v1/jobs`: print jobs. Creation accepts JSON (`file_url`) or a multipart upload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.analytics.period import parse_bound
from cloud.api.deps import Svc, app_context
from cloud.api.jobs_body import (
    JobAnalyzeOperation,
    JobCreateOperation,
    fields_from_form,
    read_json,
    refuse_not_multipart,
)
from cloud.api.listing import (
    DEFAULT_PER_PAGE,
    page_of,
    page_request,
    parse_fields,
    reject_unknown_query,
)
from cloud.api.multipart import MultipartUpload
from cloud.api.openapi import IDEMPOTENCY_ERRORS, errors
from cloud.api.page_cache import cached_page
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    ShortQuery,
    date_query,
    fields_query,
    sort_query,
)
from cloud.errors import invalid
from cloud.files import clean_filename
from cloud.schemas.jobs import (
    JOB_FIELDS,
    JobActionIn,
    JobFileAnalysis,
    JobOut,
    JobPage,
    JobPatch,
)
from cloud.services.context import ServiceContext
from cloud.services.files import FileService
from cloud.services.jobs import SORTABLE, JobService
from cloud.views.analysis import analysis_out
from shared.enums import JobStatus, Priority

_LIST_QUERY = (
    "status",
    "printer_id",
    "priority",
    "from",
    "to",
    "page",
    "per_page",
    "sort",
    "fields",
)
From = Annotated[
    str | None,
    date_query(
        "from",
        "Created at or after: an ISO 8601 date (`2026-01-01`, from midnight UTC) "
        "or a datetime with a zone (`2026-01-01T08:00:00Z`)",
    ),
]
To = Annotated[
    str | None,
    date_query(
        "to",
        "Created at or before: an ISO 8601 date (`2026-01-31`, the whole day "
        "included) or a datetime with a zone",
    ),
]
_LAST_MICROSECOND = timedelta(days=1, microseconds=-1)


def _bound(raw: str | None, param: str) -> datetime | None:
    """The creation-time bound `raw` names; a date `to` is the end of that day (UTC)."""
    if raw is None:
        return None
    value, is_date = parse_bound(raw, param)
    if not (is_date and param == "to"):
        return value
    try:
        return value + _LAST_MICROSECOND  # the filter is inclusive: created_at <= to
    except OverflowError:
        raise invalid(f"'{param}' is out of range.", param=param) from None


class JobController(Controller):
    path = "/v1/jobs"
    tags = ["jobs"]  # noqa: RUF012

    @get("/", opt={"scope": "jobs:read"}, responses=errors())
    async def list_jobs(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        status: FromQuery[JobStatus | None] = None,
        printer_id: ShortQuery = None,
        priority: FromQuery[Priority | None] = None,
        created_from: From = None,
        created_to: To = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(JOB_FIELDS)] = None,
    ) -> JobPage:
        """List jobs, newest first by default. Sortable: created_at, updated_at, priority
        (low < normal < high < urgent), status, name, started_at, completed_at."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, JOB_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "-created_at")
        bounds = (_bound(created_from, "from"), _bound(created_to, "to"))
        app = app_context(request)

        async def build() -> JobPage:
            items, total = await JobService(svc, app).list(
                req,
                status=status,
                printer_id=printer_id,
                priority=priority,
                created_from=bounds[0],
                created_to=bounds[1],
            )
            return page_of(JobPage, items, wanted, req, total)

        key = ("jobs", svc.org_id, status, printer_id, priority, bounds, req, wanted)
        return await cached_page(app.page_cache, key, JobPage, build)

    @get("/{job_id:str}", opt={"scope": "jobs:read"}, responses=errors())
    async def get_job(
        self, request: Request[Any, Any, Any], svc: Svc, job_id: FromPath[str]
    ) -> JobOut:
        return await JobService(svc, app_context(request)).get(job_id)

    @post(
        "/",
        opt={"scope": "jobs:write"},
        operation_class=JobCreateOperation,
        responses=errors(
            (413, "file_invalid: the file is larger than the upload limit"),
            (422, "file_invalid: the G-code did not validate (see message)"),
            *IDEMPOTENCY_ERRORS,
        ),
    )
    async def create_job(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        idempotency_key: IdempotencyKey = None,
    ) -> JobOut:
        """Create a job from `file_url` (JSON) or an uploaded `file` (multipart/form-data).
        The file is validated and analysed: the job carries `estimated_duration` (s) and
        `material.estimated_usage` (g)."""
        content_type = request.headers.get("content-type", "")
        service = JobService(svc, app_context(request))
        if content_type.startswith("multipart/"):
            return await _create_from_upload(service, svc, request, content_type)
        if content_type and not content_type.startswith("application/json"):
            raise invalid("Send application/json or multipart/form-data.")
        return await service.create_from_url(await read_json(request))

    @post(
        "/analyze",
        opt={"scope": "jobs:write"},
        status_code=200,
        operation_class=JobAnalyzeOperation,
        responses=errors(
            (413, "file_invalid: the file is larger than the upload limit"),
            (422, "file_invalid: the G-code did not validate (see message)"),
        ),
    )
    async def analyze_job_file(self, request: Request[Any, Any, Any], svc: Svc) -> JobFileAnalysis:
        """Validate and analyse a G-code upload (multipart `file`) exactly as creating a job
        does, and keep nothing: 200 with what a job from it would carry, or the same 422
        `file_invalid` (413 past the upload limit). Nothing is stored, no job is made."""
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/"):
            await refuse_not_multipart(request)
        upload = MultipartUpload(content_type, request.stream())
        if not await upload.start():
            raise invalid("The form has no 'file' part.", param="file")
        files = FileService(svc, app_context(request))
        analysis = await files.analyze_stream(upload.file_chunks())
        extra = next(iter(upload.fields), None)
        if extra is not None:
            raise invalid(f"Unknown form field '{extra}': send the 'file' only.", param=extra)
        return analysis_out(analysis, clean_filename(upload.filename or ""))

    @patch(
        "/{job_id:str}",
        request_max_body_size=JSON_BODY_MAX_BYTES,
        opt={"scope": "jobs:write"},
        responses=errors((409, "invalid_request: the job is no longer queued")),
    )
    async def update_job(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        job_id: FromPath[str],
        data: JSONBody[JobPatch],
    ) -> JobOut:
        """Change name, priority or tags of a queued job."""
        return await JobService(svc, app_context(request)).patch(job_id, data)

    @delete(
        "/{job_id:str}",
        opt={"scope": "jobs:write"},
        status_code=200,
        responses={
            **errors(),
            204: ResponseSpec(
                data_container=None,
                description="The queued (or finished) job was removed",
                generate_examples=False,
            ),
        },
    )
    async def delete_job(
        self, request: Request[Any, Any, Any], svc: Svc, job_id: FromPath[str]
    ) -> Response[JobOut | None]:
        """A job that never started a copy, or a finished one, is removed: 204. A job that
        started (on a printer, or between copies) is cancelled and kept in the history: 200
        with the job (a `cancel` command goes to its printer's agent)."""
        job = await JobService(svc, app_context(request)).delete(job_id)
        if job is None:
            return Response(None, status_code=204)
        return Response(job, status_code=200)

    @post(
        "/{job_id:str}/actions",
        request_max_body_size=JSON_BODY_MAX_BYTES,
        opt={"scope": "jobs:write"},
        status_code=200,
        responses=errors((409, "invalid_request: the job cannot do that now"), *IDEMPOTENCY_ERRORS),
    )
    async def job_action(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        job_id: FromPath[str],
        data: JSONBody[JobActionIn],
        idempotency_key: IdempotencyKey = None,
    ) -> JobOut:
        """Pause, resume or cancel a job at any moment. Between copies the cloud does it at
        once (a paused job starts no next copy until resumed; cancel ends the copies left);
        on a printer a command goes to its agent and the job changes when the agent has
        done it (a pause asked while a copy starts takes effect once it has started). 409
        when the job cannot (resume a job that is not paused; anything on a finished job)."""
        return await JobService(svc, app_context(request)).act(job_id, data.action)


async def _create_from_upload(
    service: JobService, svc: ServiceContext, request: Request[Any, Any, Any], content_type: str
) -> JobOut:
    upload = MultipartUpload(content_type, request.stream())
    if not await upload.start():
        raise invalid("The form has no 'file' part.", param="file")
    # Fields sent before the file are checked before a byte of it is stored.
    early_printer = upload.field("printer_id")
    await service.check_can_create(early_printer)
    stored = await service.files.from_stream(upload.file_chunks(), upload.filename or "")
    try:
        fields = fields_from_form(upload.fields)
        if fields.printer_id != early_printer:
            await service.check_can_create(fields.printer_id)
        return await service.create(stored, fields)
    except BaseException:
        await svc.session.rollback()
        await service.app.store.delete(stored.id)
        raise
