"""The lifecycle on the database: what the API, the queue and the agent's reports do to a
job with its copies, its print runs, its commands, its printer and the event log.

Each case is one a user met (issue 13): pausing as a copy ends, cancelling between copies,
a whole job's progress and time, `job.paused`/`job.resumed` never logged, `printer.online`
missing after a broker restart or carrying the wrong status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col

from cloud.db.engine import session_factory
from cloud.db.models import Job, PrinterCommand
from cloud.db.types import utcnow
from cloud.errors import to_api_error
from cloud.lifecycle.machine import Trigger
from cloud.lifecycle.states import CommandAction
from cloud.lifecycle.store import JobLife
from cloud.orchestration.dispatch import Dispatcher
from cloud.orchestration.tables import AgentLink, PrintRun
from cloud.problems import Conflict
from shared import wire
from shared.enums import AgentState, ErrorCode, PrinterStatus
from tests.cloud.api.test_jobs import make_job
from tests.cloud.conftest import OrgClient, SessionRunner, assert_error
from tests.cloud.lifecycle.farm import Farm


@pytest.fixture
async def farm(owner: OrgClient, in_db: SessionRunner) -> Farm:
    return await Farm.create(owner, in_db)


async def job_action(owner: OrgClient, job_id: str, action: str) -> Any:
    return await owner.post(f"/v1/jobs/{job_id}/actions", json={"action": action})


async def printer_action(owner: OrgClient, printer_id: str, action: str) -> Any:
    return await owner.post(f"/v1/printers/{printer_id}/actions", json={"action": action})


async def runs(in_db: SessionRunner, job_id: str) -> list[tuple[int, str]]:
    async def run(session: Any) -> list[tuple[int, str]]:
        stmt = (
            select(col(PrintRun.copy_index), col(PrintRun.status))
            .where(col(PrintRun.job_id) == job_id)
            .order_by(col(PrintRun.assigned_at))
        )
        return [(int(i), str(s)) for i, s in (await session.execute(stmt)).all()]

    return list(await in_db(run))


def job_events(events: list[tuple[str, str | None]], job_id: str) -> list[str]:
    return [kind for kind, resource in events if resource == job_id]


# --- multi-copy jobs ---------------------------------------------------------------------


async def test_a_pause_asked_as_a_copy_ends_holds_the_next_copy(farm: Farm) -> None:
    job = await make_job(farm.owner, copies="3")
    await farm.start(job["id"])
    r = await job_action(farm.owner, job["id"], "pause")
    assert r.status_code == 200, r.text
    # Asked, not yet done: the printer pauses when its agent says so.
    assert r.json()["status"] == "printing"
    [_, pause] = await farm.commands()
    assert (pause.action, pause.job_id, pause.status) == ("pause", job["id"], "pending")
    # The copy ends before the pause reaches the printer.
    await farm.complete(job["id"])
    held = await farm.job(job["id"])
    assert (held["status"], held["copies_completed"]) == ("paused", 1)
    assert await farm.claim() == []  # the next copy waits
    printer = await farm.printer()
    assert (printer["status"], printer["current_job"]) == ("idle", None)
    r = await job_action(farm.owner, job["id"], "resume")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    assert await farm.claim() == [job["id"]]
    assert job_events(await farm.events(), job["id"]) == [
        "job.created",
        "job.started",
        "job.paused",
        "job.resumed",
    ]


async def test_printer_actions_work_between_copies(farm: Farm) -> None:
    job = await make_job(farm.owner, copies="3")
    await farm.start(job["id"])
    await farm.complete(job["id"])
    # Between copies: the printer is idle, its job queued for the next copy.
    r = await printer_action(farm.owner, farm.printer_id, "pause")
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["job_id"], r.json()["status"]) == (None, job["id"], "ok")
    assert (await farm.job(job["id"]))["status"] == "paused"
    assert await farm.claim() == []
    r = await printer_action(farm.owner, farm.printer_id, "resume")
    assert r.status_code == 200, r.text
    assert (await farm.job(job["id"]))["status"] == "queued"
    r = await printer_action(farm.owner, farm.printer_id, "cancel")
    assert r.status_code == 200, r.text
    cancelled = await farm.job(job["id"])
    assert (cancelled["status"], cancelled["copies_completed"]) == ("cancelled", 1)
    assert await farm.claim() == []  # the remaining copies are cancelled with it
    # Nothing was sent to the printer: it had nothing to pause, resume or stop.
    assert [c.action for c in await farm.commands()] == ["start_job"]
    assert job_events(await farm.events(), job["id"]) == [
        "job.created",
        "job.started",
        "job.paused",
        "job.resumed",
        "job.cancelled",
    ]


async def test_cancel_while_printing_ends_the_job_and_stops_the_printer(
    farm: Farm, in_db: SessionRunner
) -> None:
    job = await make_job(farm.owner, copies="2")
    await farm.start(job["id"])
    r = await job_action(farm.owner, job["id"], "cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["completed_at"] is not None
    cancel = (await farm.commands())[-1]
    assert (cancel.action, cancel.job_id) == ("cancel", job["id"])
    # Over for the user; the printer is busy with it until its agent stops it.
    assert (await farm.printer())["current_job"] == job["id"]
    assert await runs(in_db, job["id"]) == [(1, "printing")]
    await farm.reply(cancel.id)
    await farm.event(wire.JobCancelledEvent, job_id=job["id"], progress=40.0, duration_s=12)
    assert (await farm.printer())["current_job"] is None
    assert await runs(in_db, job["id"]) == [(1, "cancelled")]
    after = await farm.job(job["id"])
    assert (after["status"], after["elapsed_time"]) == ("cancelled", 12)
    # One job.cancelled: the user's, not a second one when the printer confirmed.
    assert job_events(await farm.events(), job["id"]) == [
        "job.created",
        "job.started",
        "job.cancelled",
    ]
    r = await job_action(farm.owner, job["id"], "resume")
    assert_error(r, 409, "invalid_request", "action")


async def test_progress_and_elapsed_time_cover_the_whole_job(farm: Farm) -> None:
    job = await make_job(farm.owner, copies="2")
    await farm.start(job["id"])
    await farm.telemetry(job["id"], progress=62.903225806451616, elapsed_s=30.4)
    running = await farm.job(job["id"])
    # Half the job is this copy; numbers to one decimal (docs/api.md, "Numbers").
    assert (running["progress"], running["elapsed_time"]) == (31.5, 30)
    printer = await farm.printer()
    assert (printer["progress"], printer["temperatures"]["hotend"]) == (62.9, 215.0)
    await farm.complete(job["id"], duration_s=40.0)
    between = await farm.job(job["id"])
    assert (between["status"], between["progress"], between["elapsed_time"]) == (
        "queued",
        50.0,
        40,
    )
    assert (await farm.printer())["progress"] is None
    await farm.start(job["id"])
    await farm.telemetry(job["id"], progress=50.0, elapsed_s=10.0)
    second = await farm.job(job["id"])
    assert (second["progress"], second["elapsed_time"], second["copies_completed"]) == (
        75.0,
        50,
        1,
    )
    await farm.complete(job["id"], duration_s=41.0)
    done = await farm.job(job["id"])
    assert (done["status"], done["progress"], done["elapsed_time"]) == ("completed", 100.0, 81)
    assert done["copies_completed"] == 2


async def test_progress_of_another_printer_or_a_finished_job_changes_nothing(
    farm: Farm,
) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    await farm.complete(job["id"], duration_s=20.0)
    # A late sample of the copy that ended: the job stays as its last event left it.
    await farm.telemetry(job["id"], progress=90.0, elapsed_s=99.0)
    done = await farm.job(job["id"])
    assert (done["progress"], done["elapsed_time"]) == (100.0, 20)


# --- pause and resume, at the printer or through the API ---------------------------------


async def test_pause_and_resume_are_logged_whoever_asked(farm: Farm) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    r = await printer_action(farm.owner, farm.printer_id, "pause")
    assert r.status_code == 202, r.text  # no bridge here: the command is on its way
    assert (r.json()["action"], r.json()["job_id"]) == ("pause", job["id"])
    await farm.reply(r.json()["id"])
    await farm.event(wire.JobPausedEvent, job_id=job["id"])
    assert (await farm.job(job["id"]))["status"] == "paused"
    r = await printer_action(farm.owner, farm.printer_id, "resume")
    assert r.status_code == 202, r.text
    await farm.event(wire.JobResumedEvent, job_id=job["id"])
    assert (await farm.job(job["id"]))["status"] == "printing"
    # Paused on the printer's own screen, resumed there too: the same events.
    await farm.event(wire.JobPausedEvent, job_id=job["id"])
    await farm.event(wire.JobResumedEvent, job_id=job["id"])
    assert job_events(await farm.events(), job["id"]) == [
        "job.created",
        "job.started",
        "job.paused",
        "job.resumed",
        "job.paused",
        "job.resumed",
    ]
    [paused] = [e for e in await farm.logged() if e.type == "job.paused"][:1]
    assert paused.payload["job"]["status"] == "paused"


async def test_a_pause_asked_while_a_copy_starts_reaches_it_once_started(farm: Farm) -> None:
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    r = await job_action(farm.owner, job["id"], "pause")
    assert r.status_code == 200, r.text
    assert [c.action for c in await farm.commands()] == ["start_job"]
    await farm.event(wire.JobStartedEvent, job_id=job["id"])
    commands = await farm.commands()
    assert [(c.action, c.job_id) for c in commands] == [
        ("start_job", job["id"]),
        ("pause", job["id"]),
    ]
    # The start is settled by the agent's job.started even though its reply was lost.
    assert commands[0].status == "ok"


# --- starts the agent refuses or never answers -------------------------------------------


async def test_a_refused_start_returns_the_copy_to_the_queue(
    farm: Farm, in_db: SessionRunner
) -> None:
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    [start] = await farm.commands()
    await farm.reply(start.id, ok=False, error=ErrorCode.PRINTER_BUSY, message="door open")
    assert (await farm.job(job["id"]))["status"] == "queued"
    assert await runs(in_db, job["id"]) == [(1, "refused")]
    assert "start refused" in farm.changes
    # A second reply to the same command changes nothing.
    assert await farm.reply(start.id, ok=True) is None
    assert await farm.claim() == [job["id"]]


async def test_an_invalid_file_fails_the_job(farm: Farm) -> None:
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    [start] = await farm.commands()
    await farm.reply(start.id, ok=False, error=ErrorCode.FILE_INVALID, message="bad checksum")
    failed = await farm.job(job["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "bad checksum")
    assert job_events(await farm.events(), job["id"]) == ["job.created", "job.failed"]


async def test_a_start_never_acknowledged_returns_the_copy_to_the_queue(
    farm: Farm, in_db: SessionRunner
) -> None:
    sent: list[tuple[str, bytes]] = []

    async def publish(topic: str, payload: bytes, retain: bool) -> None:
        sent.append((topic, payload))

    dispatcher = Dispatcher(farm.owner.api.app.state["ctx"], publish)
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    assert await dispatcher.publish_commands() == 1
    [start] = await farm.commands()
    assert start.status == "sent"

    async def time_passes(session: Any) -> None:
        # The minute the agent had, gone by (the clock is not the test's to wait on): the
        # agent connected two minutes ago and the start went out 61 s ago.
        link = await session.get(AgentLink, farm.agent_id)
        link.updated_at = utcnow() - timedelta(seconds=120)
        command = await session.get(PrinterCommand, start.id)
        command.expires_at = command.updated_at = utcnow() - timedelta(seconds=61)

    await in_db(time_passes)
    assert await dispatcher.publish_commands() == 0
    assert [c.status for c in await farm.commands()] == ["expired"]
    assert await runs(in_db, job["id"]) == [(1, "refused")]
    assert (await farm.job(job["id"]))["status"] == "queued"
    # A late job.started for that run changes nothing: the copy is no longer there.
    await farm.event(wire.JobStartedEvent, job_id=job["id"])
    assert (await farm.job(job["id"]))["status"] == "queued"
    assert await farm.claim() == [job["id"]]


async def test_a_job_cancelled_before_its_start_went_out_never_starts(
    farm: Farm, in_db: SessionRunner
) -> None:
    sent: list[str] = []

    async def publish(topic: str, payload: bytes, retain: bool) -> None:
        sent.append(type(wire.decode_command(payload)).__name__)

    dispatcher = Dispatcher(farm.owner.api.app.state["ctx"], publish)
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    r = await job_action(farm.owner, job["id"], "cancel")
    assert r.status_code == 200, r.text
    await dispatcher.publish_commands()
    # The start expired unsent, so the copy is over and the cancel had nothing to stop:
    # nothing went to the agent, and the cancel is done.
    assert sent == []
    assert [(c.action, c.status) for c in await farm.commands()] == [
        ("start_job", "expired"),
        ("cancel", "ok"),
    ]
    assert await runs(in_db, job["id"]) == [(1, "refused")]
    assert (await farm.printer())["current_job"] is None
    assert job_events(await farm.events(), job["id"]) == ["job.created", "job.cancelled"]


async def test_reports_about_a_job_not_running_there_change_nothing(farm: Farm) -> None:
    job = await make_job(farm.owner)
    other = await make_job(farm.owner)
    await farm.start(job["id"])
    before = await farm.events()
    # The agent reports a job that has no copy on this printer, then one already over.
    assert await farm.event(wire.JobCompletedEvent, job_id=other["id"], duration_s=1)
    await farm.complete(job["id"])
    assert await farm.event(wire.JobFailedEvent, job_id=job["id"], reason="late")
    assert (await farm.job(other["id"]))["status"] == "queued"
    assert (await farm.job(job["id"]))["status"] == "completed"
    assert job_events(await farm.events(since=len(before)), job["id"]) == ["job.completed"]


# --- printers: every status change, whatever its cause, logged once and in order --------


async def test_printer_events_follow_its_status_through_a_broker_restart(farm: Farm) -> None:
    # First connect (the fixture): online, as the API shows it then: idle.
    [online] = [e for e in await farm.logged() if e.type == "printer.online"]
    assert online.payload["printer"]["status"] == "idle"
    # The broker restarts: it publishes the agent's Will; the agent comes back.
    await farm.agent_state(AgentState.OFFLINE)
    assert (await farm.printer())["status"] == "offline"
    await farm.connect()
    assert (await farm.printer())["status"] == "idle"
    presence = [e for e in await farm.logged() if e.type.startswith("printer.")]
    assert [(e.type, e.payload["printer"]["status"]) for e in presence] == [
        ("printer.online", "idle"),
        ("printer.offline", "offline"),
        ("printer.online", "idle"),
    ]
    assert presence[1].payload["reason"] == "agent went offline"
    # A late Will of the old connection changes nothing.
    await farm.agent_state(AgentState.OFFLINE, session=farm.session - 1)
    assert (await farm.printer())["status"] == "idle"


async def test_printer_errors_are_logged_once_with_their_message(farm: Farm) -> None:
    since = len(await farm.events())
    await farm.state(PrinterStatus.ERROR, message="thermal runaway")
    # The agent's own event for the same error, after its snapshot: not a second one.
    await farm.event(wire.PrinterErrorEvent, message="thermal runaway")
    await farm.state(PrinterStatus.ERROR, message="thermal runaway")
    await farm.event(wire.PrinterOfflineEvent, reason="unplugged")
    await farm.state(PrinterStatus.OFFLINE, connected=False, message="unplugged")
    await farm.state(PrinterStatus.IDLE)
    logged = (await farm.logged())[since:]
    assert [(e.type, e.payload.get("message") or e.payload.get("reason")) for e in logged] == [
        ("printer.error", "thermal runaway"),
        ("printer.offline", "unplugged"),
        ("printer.online", None),
    ]


async def test_a_printer_moved_or_its_agent_revoked_goes_offline_and_says_so(
    farm: Farm,
) -> None:
    r = await farm.owner.patch(
        f"/v1/printers/{farm.printer_id}",
        json={"connection_url": "serial:///dev/ttyUSB1?profile=prusa"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "offline"
    await farm.state(PrinterStatus.IDLE)
    r = await farm.owner.delete(f"/v1/agents/{farm.agent_id}")
    assert r.status_code == 204, r.text
    assert (await farm.printer())["status"] == "offline"
    presence = [e for e in await farm.logged() if e.type.startswith("printer.")]
    assert [(e.type, e.payload.get("reason")) for e in presence] == [
        ("printer.online", None),
        ("printer.offline", "its connection or agent changed"),
        ("printer.online", None),
        ("printer.offline", "agent revoked"),
    ]


async def test_a_busy_printer_cannot_be_moved_to_another_connection(farm: Farm) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    r = await farm.owner.patch(
        f"/v1/printers/{farm.printer_id}",
        json={"connection_url": "serial:///dev/ttyUSB1?profile=prusa"},
    )
    assert_error(r, 409, "printer_busy")


# --- materials ------------------------------------------------------------------------------


async def test_a_jobs_colour_is_stored_returned_and_matched(farm: Farm) -> None:
    black = await make_job(farm.owner, material="PETG", material_color="Black")
    assert black["material"]["type"] == "PETG"
    assert black["material"]["color"] == "Black"
    assert await farm.claim() == []  # white PETG loaded: not this job's colour
    r = await farm.owner.patch(f"/v1/materials/{farm.spool_id}", json={"printer_id": None})
    assert r.status_code == 200, r.text
    r = await farm.owner.post(
        "/v1/materials",
        json={
            "type": "petg",
            "color": "black",
            "spool_weight": 1000,
            "remaining_weight": 800,
            "printer_id": farm.printer_id,
        },
    )
    assert r.status_code == 201, r.text
    assert await farm.claim() == [black["id"]]


# --- one writer ---------------------------------------------------------------------------


async def test_commands_carry_their_job(farm: Farm) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    await job_action(farm.owner, job["id"], "pause")
    await farm.event(wire.JobPausedEvent, job_id=job["id"])
    await job_action(farm.owner, job["id"], "resume")
    await job_action(farm.owner, job["id"], "cancel")
    actions = [(CommandAction(c.action), c.job_id) for c in await farm.commands()]
    assert actions == [
        (CommandAction.START_JOB, job["id"]),
        (CommandAction.PAUSE, job["id"]),
        (CommandAction.RESUME, job["id"]),
        (CommandAction.CANCEL, job["id"]),
    ]


# --- two writers ---------------------------------------------------------------------------


async def test_two_writers_of_one_job_cannot_both_act(farm: Farm) -> None:
    """Two replicas (or a request and the bridge) read the same job and both act: the job's
    version lets the first write through and refuses the second, which changes nothing."""
    job = await make_job(farm.owner, copies="2")
    ctx = farm.owner.api.app.state["ctx"]
    life = JobLife(ctx)
    factory = session_factory(ctx.engine)
    # Both writers in this one task: it holds the process's write lock for them.
    async with ctx.write_lock.held(), factory() as first, factory() as second:
        mine = await first.get_one(Job, job["id"])
        theirs = await second.get_one(Job, job["id"])
        await life.apply(first, mine, Trigger.CANCEL)
        await first.commit()
        await life.apply(second, theirs, Trigger.HOLD)  # it still reads the job as queued
        with pytest.raises(StaleDataError):
            await second.commit()
    after = await farm.job(job["id"])
    assert after["status"] == "cancelled"
    assert job_events(await farm.events(), job["id"]) == ["job.created", "job.cancelled"]


def test_a_refused_concurrent_write_is_a_409_for_the_api() -> None:
    problem = to_api_error(StaleDataError("UPDATE statement on table 'jobs' matched 0 rows"))
    assert (problem.code, isinstance(problem, Conflict)) == (ErrorCode.INVALID_REQUEST, True)


async def test_a_spools_weight_after_a_print_is_shown_to_a_tenth_of_a_gram(farm: Farm) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    await farm.event(
        wire.JobCompletedEvent, job_id=job["id"], duration_s=30.0, filament_used_mm=1234.567
    )
    spool = (await farm.owner.get(f"/v1/materials/{farm.spool_id}")).json()
    left = spool["remaining_weight"]
    assert 0 < left < 1000  # the print's grams were deducted
    assert left == round(left, 1)  # stored to the hundredth, shown to the tenth
    [used] = [e.payload for e in await farm.logged() if e.type == "job.completed"]
    assert used["job"]["progress"] == 100.0


# --- edges a review found ---------------------------------------------------------------


async def test_a_job_still_stopping_cannot_be_deleted_and_can_be_cancelled_again(
    farm: Farm, in_db: SessionRunner
) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    r = await farm.owner.delete(f"/v1/jobs/{job['id']}")
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    first_cancel = (await farm.commands())[-1]
    # The printer has not stopped: the job stays, and the printer with it.
    assert_error(await farm.owner.delete(f"/v1/jobs/{job['id']}"), 409, "invalid_request")
    # The agent could not cancel (a driver time-out): cancel again sends another.
    await farm.reply(first_cancel.id, ok=False, error=ErrorCode.INTERNAL_ERROR)
    r = await printer_action(farm.owner, farm.printer_id, "cancel")
    assert r.status_code == 202, r.text
    again = (await farm.commands())[-1]
    assert (again.action, again.job_id, again.id != first_cancel.id) == (
        "cancel",
        job["id"],
        True,
    )
    await farm.event(wire.JobCancelledEvent, job_id=job["id"], progress=30.0, duration_s=5)
    assert (await farm.printer())["current_job"] is None
    assert (await farm.owner.delete(f"/v1/jobs/{job['id']}")).status_code == 204
    assert job_events(await farm.events(), job["id"]) == [
        "job.created",
        "job.started",
        "job.cancelled",
    ]


async def test_a_run_whose_job_is_gone_ends_when_its_printer_stops(
    farm: Farm, in_db: SessionRunner
) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])

    async def remove(session: Any) -> None:
        # As deleting its organization does: the job row goes, the run stays.
        await session.delete(await session.get(Job, job["id"]))

    await in_db(remove)
    assert (await farm.printer())["current_job"] == job["id"]
    assert await farm.event(wire.JobCancelledEvent, job_id=job["id"])
    assert (await farm.printer())["current_job"] is None
    assert await runs(in_db, job["id"]) == [(1, "cancelled")]


async def test_a_start_sent_before_the_cancel_is_not_sent_again(
    farm: Farm, in_db: SessionRunner
) -> None:
    sent: list[str] = []

    async def publish(topic: str, payload: bytes, retain: bool) -> None:
        sent.append(type(wire.decode_command(payload)).__name__)

    dispatcher = Dispatcher(farm.owner.api.app.state["ctx"], publish)
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    await dispatcher.publish_commands()
    assert sent == ["StartJob"]
    assert (await job_action(farm.owner, job["id"], "cancel")).status_code == 200

    async def resend_due(session: Any) -> None:
        for command in (await session.execute(select(PrinterCommand))).scalars():
            command.updated_at = utcnow() - timedelta(seconds=6)  # past the resend interval

    await in_db(resend_due)
    await dispatcher.publish_commands()
    # The cancel goes out; the start does not go again, and its run is still the printer's:
    # the agent may be fetching the file.
    assert sent == ["StartJob", "CancelJob"]
    assert await runs(in_db, job["id"]) == [(1, "assigned")]
    # The agent started it after all, then the cancel stopped it.
    await farm.event(wire.JobStartedEvent, job_id=job["id"])
    await farm.event(wire.JobCancelledEvent, job_id=job["id"], progress=1.0, duration_s=1)
    assert await runs(in_db, job["id"]) == [(1, "cancelled")]
    assert (await farm.printer())["current_job"] is None
    assert (await farm.job(job["id"]))["status"] == "cancelled"


async def test_a_printer_action_never_reaches_a_job_that_only_failed_to_start_there(
    farm: Farm,
) -> None:
    job = await make_job(farm.owner)
    assert await farm.claim() == [job["id"]]
    [start] = await farm.commands()
    await farm.reply(start.id, ok=False, error=ErrorCode.PRINTER_BUSY)
    assert (await farm.job(job["id"]))["status"] == "queued"
    # The printer is idle with nothing of its own: no job to cancel there.
    r = await printer_action(farm.owner, farm.printer_id, "cancel")
    assert_error(r, 400, "invalid_request", "action")
    assert (await farm.job(job["id"]))["status"] == "queued"


async def test_a_copy_completed_while_its_job_was_being_cancelled_counts_once(
    farm: Farm,
) -> None:
    job = await make_job(farm.owner)
    await farm.start(job["id"])
    await job_action(farm.owner, job["id"], "cancel")
    # The print finished before the cancel reached the printer.
    await farm.event(wire.JobCompletedEvent, job_id=job["id"], duration_s=60.0)
    after = await farm.job(job["id"])
    assert (after["status"], after["progress"], after["copies_completed"]) == (
        "cancelled",
        100.0,
        1,
    )


async def test_a_late_sample_of_a_finished_copy_leaves_a_held_job_alone(farm: Farm) -> None:
    job = await make_job(farm.owner, copies="2", printer_id=farm.printer_id)
    await farm.start(job["id"])
    await job_action(farm.owner, job["id"], "pause")
    await farm.complete(job["id"], duration_s=10.0)
    held = await farm.job(job["id"])
    assert (held["status"], held["progress"], held["elapsed_time"]) == ("paused", 50.0, 10)
    # The pinned job keeps its printer; a sample of the copy that ended arrives late.
    await farm.telemetry(job["id"], progress=99.0, elapsed_s=10.0)
    await farm.state(PrinterStatus.IDLE, job_id=job["id"], progress=99.0, elapsed_s=10.0)
    still = await farm.job(job["id"])
    assert (still["progress"], still["elapsed_time"]) == (50.0, 10)


async def test_a_pause_the_printer_refused_holds_no_next_copy(farm: Farm) -> None:
    job = await make_job(farm.owner, copies="2")
    await farm.start(job["id"])
    assert (await job_action(farm.owner, job["id"], "pause")).status_code == 200
    pause = (await farm.commands())[-1]
    await farm.reply(pause.id, ok=False, error=ErrorCode.PRINTER_BUSY, message="heating")
    await farm.complete(job["id"])
    assert (await farm.job(job["id"]))["status"] == "queued"
    assert await farm.claim() == [job["id"]]


async def test_a_snapshot_older_than_the_one_shown_is_not_written(farm: Farm) -> None:
    # Two replicas (or a QoS 1 redelivery) can hand the applier one printer's snapshots in
    # another order than the agent sent them: the agent's stamp decides, not the arrival.
    since = len(await farm.events())
    stamp = utcnow()
    await farm.state(PrinterStatus.ERROR, message="thermal runaway", ts=stamp)
    await farm.state(PrinterStatus.IDLE, ts=stamp - timedelta(seconds=1))  # arrives late
    assert (await farm.printer())["status"] == "error"
    # In one batch, too: the newest stamp wins whatever the order of arrival.
    await farm.applier.apply_states(
        [
            farm.state_in(PrinterStatus.IDLE, ts=stamp + timedelta(seconds=3)),
            farm.state_in(PrinterStatus.OFFLINE, connected=False, ts=stamp + timedelta(seconds=2)),
        ]
    )
    assert (await farm.printer())["status"] == "idle"
    logged = (await farm.logged())[since:]
    assert [e.type for e in logged] == ["printer.error"]  # nothing from the skipped ones
