"""Random lives on the database: API actions, queue passes and agent reports in any order.

Each example drives two printers of one agent through the real API, queue and applier
(`farm.py`) with a random sequence of operations, and keeps beside it what the pure table
(`cloud.lifecycle.machine`) says every job should be. After each operation it checks:

- every job's status, hold and finished copies, and the printer of its active run, are
  what the table says (an operation the table refuses changed nothing; the API said 409);
- one active run per printer and per job at most (no job printing on two printers);
- a job that ended stays as it ended;
- every job's event log is exactly the events the table's steps made, in order;
- the queue places a copy whenever a job is waiting and a printer is free.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import col

from cloud.db.models import Event, Job, PrinterCommand
from cloud.lifecycle.machine import IllegalTransition, JobView, Phase, Trigger, step
from cloud.lifecycle.occupancy import run_is_active
from cloud.lifecycle.states import RunStatus
from cloud.orchestration.tables import PrintRun
from shared import wire
from shared.enums import ErrorCode, JobStatus, PrinterStatus
from tests.cloud.api.test_jobs import make_job
from tests.cloud.conftest import Api, OrgClient, SessionRunner
from tests.cloud.lifecycle.farm import Farm, add_printer

_AGENT_EVENTS: dict[Trigger, tuple[type[Any], dict[str, Any]]] = {
    Trigger.STARTED: (wire.JobStartedEvent, {}),
    Trigger.PAUSED: (wire.JobPausedEvent, {}),
    Trigger.RESUMED: (wire.JobResumedEvent, {}),
    Trigger.COMPLETED: (wire.JobCompletedEvent, {"duration_s": 5.0}),
    Trigger.FAILED: (wire.JobFailedEvent, {"reason": "jam", "duration_s": 2.0}),
    Trigger.CANCELLED: (wire.JobCancelledEvent, {"duration_s": 1.0}),
}
_API_ACTIONS = {"pause": Trigger.HOLD, "resume": Trigger.RELEASE, "cancel": Trigger.CANCEL}

operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(1, 3)),
        st.tuples(st.just("claim"), st.just(0)),
        st.tuples(st.sampled_from(list(_AGENT_EVENTS)), st.integers(0, 1)),
        st.tuples(st.just("refuse"), st.integers(0, 1)),
        st.tuples(st.sampled_from(list(_API_ACTIONS)), st.integers(0, 7)),
    ),
    min_size=1,
    max_size=30,
)


@dataclass
class Model:
    """What the table says: each job's view, the printer of its active run, its events."""

    views: dict[str, JobView] = field(default_factory=dict)
    on: dict[str, str] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)

    def job_on(self, printer_id: str) -> str | None:
        return next((j for j, p in self.on.items() if p == printer_id), None)

    def apply(self, job_id: str, trigger: Trigger, printer_id: str | None = None) -> bool:
        """Step the job; False if the table refuses the trigger."""
        try:
            result = step(self.views[job_id], trigger)
        except IllegalTransition:
            return False
        self.views[job_id] = result.job
        self.events[job_id] += [e.value for e in result.events]
        if result.job.run is None:
            self.on.pop(job_id, None)
        elif printer_id is not None:
            self.on[job_id] = printer_id
        return True


@dataclass
class Actual:
    status: JobStatus
    hold: bool
    copies_done: int
    printer: str | None


async def actual(in_db: SessionRunner, org_id: str) -> tuple[dict[str, Actual], list[Any]]:
    async def run(session: Any) -> tuple[dict[str, Actual], list[Any]]:
        jobs = (await session.execute(select(Job).where(col(Job.org_id) == org_id))).scalars()
        active = (
            await session.execute(
                select(col(PrintRun.job_id), col(PrintRun.printer_id)).where(
                    col(PrintRun.org_id) == org_id, run_is_active()
                )
            )
        ).all()
        on = {job_id: printer_id for job_id, printer_id in active}
        found = {
            j.id: Actual(JobStatus(j.status), j.hold, j.copies_done, on.get(j.id)) for j in jobs
        }
        return found, list(active)

    result: tuple[dict[str, Actual], list[Any]] = await in_db(run)
    return result


async def job_events(in_db: SessionRunner, org_id: str) -> dict[str, list[str]]:
    async def run(session: Any) -> dict[str, list[str]]:
        stmt = (
            select(col(Event.resource_id), col(Event.type))
            .where(col(Event.org_id) == org_id, col(Event.type).startswith("job."))
            .order_by(col(Event.created_at), col(Event.id))
        )
        logged: dict[str, list[str]] = {}
        for resource, kind in (await session.execute(stmt)).all():
            logged.setdefault(resource, []).append(kind)
        return logged

    result: dict[str, list[str]] = await in_db(run)
    return result


async def pending_start(in_db: SessionRunner, job_id: str) -> str:
    async def run(session: Any) -> str:
        stmt = select(col(PrintRun.command_id)).where(
            col(PrintRun.job_id) == job_id, run_is_active()
        )
        return str(await session.scalar(stmt))

    return str(await in_db(run))


async def start_status(in_db: SessionRunner, command_id: str) -> str:
    async def run(session: Any) -> str:
        return str((await session.get(PrinterCommand, command_id)).status)

    return str(await in_db(run))


class Life:
    def __init__(self, farm: Farm, printers: list[str]) -> None:
        self.farm = farm
        self.printers = printers
        self.model = Model()
        self.jobs: list[str] = []
        self.file_url: str | None = None

    async def run(self, op: str | Trigger, arg: int) -> None:
        if op == "create":
            await self.create(arg)
        elif op == "claim":
            await self.claim()
        elif op == "refuse":
            await self.refuse(self.printers[arg])
        elif isinstance(op, Trigger):
            await self.agent_says(op, self.printers[arg])
        else:
            await self.api_action(op, arg)

    async def create(self, copies: int) -> None:
        owner = self.farm.owner
        if self.file_url is None:
            job = await make_job(owner, copies=str(copies))
            self.file_url = job["file_url"]
        else:
            r = await owner.post("/v1/jobs", json={"file_url": self.file_url, "copies": copies})
            assert r.status_code == 201, r.text
            job = r.json()
        self.jobs.append(job["id"])
        self.model.views[job["id"]] = JobView(JobStatus.QUEUED, copies)
        self.model.events[job["id"]] = ["job.created"]

    async def claim(self) -> None:
        waiting = [j for j, v in self.model.views.items() if v.phase is Phase.QUEUED]
        free = [p for p in self.printers if self.model.job_on(p) is None]
        # The queue serves every organization; earlier examples' farms live on beside this one.
        claimed = [a for a in await self.farm.queue.run_once() if a.job_id in self.model.views]
        for assignment in claimed:
            assert assignment.job_id in waiting and assignment.printer_id in free
            assert self.model.apply(assignment.job_id, Trigger.CLAIM, assignment.printer_id)
        if waiting and free:
            assert claimed, "a job waits and a printer is free, yet nothing was placed"

    async def agent_says(self, trigger: Trigger, printer_id: str) -> None:
        job_id = self.model.job_on(printer_id) or (self.jobs[-1] if self.jobs else None)
        if job_id is None:
            return
        cls, fields = _AGENT_EVENTS[trigger]
        await self.farm.event(cls, printer=printer_id, job_id=job_id, **fields)
        if self.model.on.get(job_id) != printer_id:
            return  # no copy of that job there: nothing changes
        self.model.apply(job_id, trigger)
        if trigger is Trigger.STARTED and job_id in self.model.on:
            # The start is settled by the agent's word even without its reply.
            start = await pending_start(self.farm.in_db, job_id)
            assert await start_status(self.farm.in_db, start) == "ok"

    async def refuse(self, printer_id: str) -> None:
        job_id = self.model.job_on(printer_id)
        if job_id is None or self.model.views[job_id].run is not RunStatus.ASSIGNED:
            return
        command_id = await pending_start(self.farm.in_db, job_id)
        await self.farm.reply(command_id, ok=False, error=ErrorCode.PRINTER_BUSY)
        assert self.model.apply(job_id, Trigger.START_REFUSED)

    async def api_action(self, action: str, index: int) -> None:
        if not self.jobs:
            return
        job_id = self.jobs[index % len(self.jobs)]
        r = await self.farm.owner.post(f"/v1/jobs/{job_id}/actions", json={"action": action})
        allowed = self.model.apply(job_id, _API_ACTIONS[action])
        assert r.status_code == (200 if allowed else 409), (action, r.text)

    async def check(self, ended: dict[str, Actual]) -> None:
        in_db, org_id = self.farm.in_db, self.farm.owner.org.org_id
        found, active = await actual(in_db, org_id)
        per_printer = Counter(printer for _, printer in active)
        per_job = Counter(job for job, _ in active)
        assert max(per_printer.values(), default=0) <= 1
        assert max(per_job.values(), default=0) <= 1
        for job_id, view in self.model.views.items():
            got = found[job_id]
            want = Actual(view.status, view.hold, view.copies_done, self.model.on.get(job_id))
            assert got == want, job_id
            if job_id in ended:
                assert got.status is ended[job_id].status  # over is over
            elif got.status.is_final:
                ended[job_id] = got
        assert await job_events(in_db, org_id) == {j: e for j, e in self.model.events.items() if e}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_random_lives_keep_the_tables_word(
    api: Api, in_db: SessionRunner, ops: list[tuple[str | Trigger, int]]
) -> None:
    owner = OrgClient(api, await api.new_org("farm"))
    farm = await Farm.create(owner, in_db)
    second, _ = await add_printer(owner, farm.agent_id, "mk4-2")
    await farm.state(PrinterStatus.IDLE, printer=second)
    life = Life(farm, [farm.printer_id, second])
    ended: dict[str, Actual] = {}
    for op, arg in ops:
        await life.run(op, arg)
        await life.check(ended)


def test_the_operations_cover_every_trigger_of_the_agent_and_the_api() -> None:
    covered = set(_AGENT_EVENTS) | set(_API_ACTIONS.values())
    covered |= {Trigger.CLAIM, Trigger.START_REFUSED}
    # Not driven here: the file refusal, the expiry of a start and a refused pause, each
    # tested on its own (test_store.py).
    assert set(Trigger) - covered == {
        Trigger.FILE_REFUSED,
        Trigger.START_EXPIRED,
        Trigger.PAUSE_REFUSED,
    }
