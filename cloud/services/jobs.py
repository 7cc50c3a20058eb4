"""Jobs: create (from a URL or an upload), list, change while queued, delete or cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.api.listing import PageRequest
from cloud.context import CloudContext
from cloud.db.core import new_row, table_of
from cloud.db.engine import autocommit
from cloud.db.models import Job, StoredFileRow
from cloud.db.types import utcnow
from cloud.files.urls import own_file_id
from cloud.ids import IdPrefix, new_id
from cloud.lifecycle.machine import Trigger
from cloud.lifecycle.occupancy import active_run_of_job
from cloud.lifecycle.store import JobLife
from cloud.problems import Conflict, not_found
from cloud.repositories.base import OrgRepository
from cloud.repositories.jobs import (
    INSERT_EVENT,
    INSERT_JOB,
    INSERT_JOB_AND_EVENT,
    CreationFacts,
    creation_facts,
    insert_params,
)
from cloud.schemas.jobs import JobAction, JobCreate, JobFields, JobOut, JobPatch
from cloud.services import quotas
from cloud.services.context import ServiceContext, organization_gone
from cloud.services.events import event_values
from cloud.services.files import FileService
from cloud.views.jobs import JOB_COLUMNS, job_from_values, job_out
from shared.enums import ErrorCode, EventType, JobStatus, Priority

SORTABLE = ("created_at", "updated_at", "priority", "status", "name", "started_at", "completed_at")
_COLUMNS = {"priority": "priority_rank"}
_JOB_TRIGGERS = {
    JobAction.PAUSE: Trigger.HOLD,
    JobAction.RESUME: Trigger.RELEASE,
    JobAction.CANCEL: Trigger.CANCEL,
}


class JobService:
    def __init__(self, ctx: ServiceContext, app: CloudContext) -> None:
        self.ctx = ctx
        self.app = app
        t = table_of(Job).c
        self.repo = OrgRepository(
            Job,
            ctx.session,
            ctx.org_id,
            {k: t[_COLUMNS.get(k, k)] for k in SORTABLE},
            reader=ctx.reader,
        )
        self.files = FileService(ctx, app)
        self.life = JobLife(app)

    async def _row(self, job_id: str) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise not_found("job", job_id)
        return job

    async def get(self, job_id: str) -> JobOut:
        return job_out(await self._row(job_id), self.app)

    async def list(
        self,
        req: PageRequest,
        *,
        status: JobStatus | None,
        printer_id: str | None,
        priority: Priority | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> tuple[list[JobOut], int]:
        equal: dict[str, str] = {}
        if status is not None:
            equal["status"] = status.value
        if printer_id is not None:
            equal["printer_id"] = printer_id
        if priority is not None:
            equal["priority"] = priority.value
        t = self.repo.table.c
        filters: list[ColumnElement[bool]] = []
        if created_from is not None:
            filters.append(t.created_at >= created_from)
        if created_to is not None:
            filters.append(t.created_at <= created_to)
        rows, total = await self.repo.page(filters, req, raw=JOB_COLUMNS, equal=equal)
        return [job_from_values(r, self.app) for r in rows], total

    async def check_can_create(self, printer_id: str | None) -> None:
        """Checks that need no file, run before a download or upload is accepted."""
        org_id = self.ctx.org_id
        facts, _ = await self.repo.read(lambda conn: creation_facts(conn, org_id, printer_id))
        _check_creation(facts, printer_id)

    async def create_from_url(self, data: JobCreate) -> JobOut:
        org_id, printer_id = self.ctx.org_id, data.printer_id
        file_id = own_file_id(self.app, data.file_url)

        def read(conn: Connection) -> tuple[CreationFacts, StoredFileRow | None]:
            return creation_facts(conn, org_id, printer_id, file_id)

        engine = self._autocommit_engine()
        if engine is not None and file_id is not None:
            # PostgreSQL, a file stored before: the checks and the write on one connection,
            # two round trips in all (a second checkout from the pool was a second wait).
            async with autocommit(engine) as conn:
                facts, stored = await conn.run_sync(read)
                _check_creation(facts, printer_id)
                if stored is None:
                    raise not_found("file", file_id, param="file_url")
                out, params = self._new_job(stored, data)
                await conn.execute(INSERT_JOB_AND_EVENT, params)
            self.app.kick("job created")
            return out
        # The checks and the reused file in one read, before the write (and its lock).
        facts, stored = await self.repo.read(read)
        _check_creation(facts, printer_id)
        if file_id is None:
            stored = await self.files.from_url(data.file_url)
        elif stored is None:
            raise not_found("file", file_id, param="file_url")
        return await self.create(stored, data)

    async def create(self, stored: StoredFileRow, data: JobFields) -> JobOut:
        out, params = self._new_job(stored, data)
        engine = self._autocommit_engine()
        if engine is not None:
            # One statement, atomic on its own: no BEGIN and COMMIT round trips either.
            async with autocommit(engine) as conn:
                await conn.execute(INSERT_JOB_AND_EVENT, params)
        else:
            # In the transaction that stored an upload's file row (the job names it), or
            # on SQLite, under the write lock.
            session = self.ctx.session
            postgres = session.get_bind().dialect.name == "postgresql"
            await self.ctx.begin_write()
            for statement in (INSERT_JOB_AND_EVENT,) if postgres else (INSERT_JOB, INSERT_EVENT):
                await session.execute(statement, params)
            await self.ctx.commit()
        self.app.kick("job created")
        return out

    def _autocommit_engine(self) -> AsyncEngine | None:
        """PostgreSQL's engine when this request has no transaction open (nothing of its own
        a write must join): the job is then written by one statement in autocommit."""
        session = self.ctx.session
        engine = session.bind
        if (
            isinstance(engine, AsyncEngine)
            and engine.dialect.name == "postgresql"
            and not session.in_transaction()
        ):
            return engine
        return None

    def _new_job(self, stored: StoredFileRow, data: JobFields) -> tuple[JobOut, dict[str, Any]]:
        """The job as the API shows it, and the parameters that write it with its event."""
        analysis: dict[str, Any] = stored.analysis or {}
        seconds = analysis.get("estimated_time_s")
        material_type, material_color = data.material_wanted()
        job = new_row(
            Job,
            id=new_id(IdPrefix.JOB),
            org_id=self.ctx.org_id,
            name=data.name or stored.filename,
            priority=data.priority.value,
            priority_rank=data.priority.rank,
            printer_id=data.printer_id,
            file_id=stored.id,
            estimated_duration_s=round(seconds) if seconds is not None else None,
            material_type=material_type or analysis.get("filament_type"),
            material_color=material_color,
            estimated_usage_g=_round(analysis.get("filament_used_g")),
            copies=data.copies,
            tags=list(dict.fromkeys(data.tags)),
        )
        out = job_from_values([job[name] for name in JOB_COLUMNS], self.app)
        event = event_values(
            self.ctx.org_id, EventType.JOB_CREATED, job["id"], {"job": msgspec.to_builtins(out)}
        )
        return out, insert_params(job, event)

    async def patch(self, job_id: str, data: JobPatch) -> JobOut:
        await self.ctx.begin_write()  # the queue may claim it meanwhile otherwise
        job = await self._row(job_id)
        if job.status != JobStatus.QUEUED.value:
            raise Conflict(
                ErrorCode.INVALID_REQUEST,
                f"Job '{job_id}' is {job.status}; only queued jobs can be changed.",
                param="status",
            )
        if isinstance(data.name, str):
            job.name = data.name
        if isinstance(data.priority, Priority):
            job.priority, job.priority_rank = data.priority.value, data.priority.rank
        if isinstance(data.tags, list):
            job.tags = list(dict.fromkeys(data.tags))
        job.updated_at = utcnow()
        await self.ctx.commit()
        self.app.kick("job changed")
        return job_out(job, self.app)

    async def delete(self, job_id: str) -> JobOut | None:
        """A job that never started a copy, or one that is over: removed (None). One that
        started (on a printer, or between copies): cancelled, and returned."""
        await self.ctx.begin_write()  # the job is read as the last writer left it
        job = await self._row(job_id)
        status = JobStatus(job.status)
        # Queued or held before any copy started: nothing happened yet, it just goes.
        untouched = status in (JobStatus.QUEUED, JobStatus.PAUSED) and job.started_at is None
        if not status.is_final and not untouched:
            return await self.act(job_id, JobAction.CANCEL)
        run = await active_run_of_job(self.ctx.session, job.id)
        if run is not None:
            # Over for the user, not yet on its printer: the printer stays its until then.
            raise Conflict(
                ErrorCode.INVALID_REQUEST,
                f"Job '{job_id}' is {job.status} but printer '{run.printer_id}' has not stopped "
                "it yet; delete it once the printer has (or cancel it again).",
            )
        file_id = job.file_id
        await self.repo.delete(job)
        await self.ctx.flush()
        unused = await self._drop_unused_file(file_id)
        await self.ctx.commit()
        if unused:  # only once the rows are gone, so a failed commit loses no file
            await self.app.store.delete(file_id)
        return None

    async def act(self, job_id: str, action: JobAction) -> JobOut:
        """Pause, resume or cancel the job, whatever it is doing (cloud/lifecycle/machine.py):
        between copies at once, on a printer through a command to its agent."""
        await self.ctx.begin_write()
        job = await self._row(job_id)
        await self.life.apply(self.ctx.session, job, _JOB_TRIGGERS[action])
        await self.ctx.commit()
        self.app.kick(f"job {action.value}")
        return job_out(job, self.app)

    async def _drop_unused_file(self, file_id: str) -> bool:
        """Delete the file's row if no job uses it any more; True if the bytes can go."""
        t = self.repo.table
        users = await self.ctx.session.scalar(
            select(func.count()).select_from(t).where(t.c.file_id == file_id)
        )
        if users:
            return False
        row = await self.ctx.session.get(StoredFileRow, file_id)
        if row is None:
            return False
        await self.ctx.session.delete(row)
        return True


def _check_creation(facts: CreationFacts, printer_id: str | None) -> None:
    if facts.plan is None:
        raise organization_gone()
    quotas.check(
        facts.active_jobs,
        1,
        quotas.plan_for(facts.plan).active_jobs,
        "queued or running jobs",
        facts.plan,
    )
    if not facts.printer_found:
        raise not_found("printer", str(printer_id), param="printer_id")


def _round(value: Any) -> float | None:
    return round(float(value), 1) if isinstance(value, int | float) else None
