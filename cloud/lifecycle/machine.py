"""A job's life, copies included, as one table: pure rules, no database, no clock.

A job is in one **phase**, read from what is stored: its status, whether the user asked to
hold it (`hold`), and the status of its active print run (a copy on a printer), if any.

- `queued`: status queued, no active run: waits for a free printer (first or next copy);
- `held`: status paused, no active run: paused between copies, no next copy starts;
- `starting`: status assigned, run assigned: the start of a copy is on its way;
- `printing`: status printing, run printing;
- `paused`: status paused, run paused: a copy is paused on its printer;
- `ending`: completed, failed or cancelled, with a run still active: over for the user,
  the printer has not stopped yet;
- `ended`: completed, failed or cancelled, no active run.

Triggers come from the queue (`claim`), from the agent (`started`, `paused`, `resumed`,
`completed`, `failed`, `cancelled`; its answers to a start, `start_refused`,
`file_refused`, `start_expired`; and to a pause, `pause_refused`) and from the API
(`hold`, `release`, `cancel`: pause, resume and cancel, on the job or on its printer).
`step` gives what one trigger does in one phase: the job after, the run's new status, the
events to record (and deliver as webhooks) and the commands to send to the copy's
printer. The table `RULES` lists every
allowed (phase, trigger) pair; any other pair is an `IllegalTransition`.

Copies: a completed copy that is not the last sends the job back to the queue for the next
one (`queued`), or holds it there (`held`) when a pause was asked for, even one the printer
never got to because the copy ended first. `hold` is the user's wish, kept until resume: a
pause asked while a copy is starting reaches the printer once it has started. Cancel ends
the job at once for the user (`job.cancelled`) and asks the printer to stop; the run ends
when the agent says so (`ending`), and the printer is busy until then; cancel again asks
again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from cloud.lifecycle.states import CommandAction, RunStatus
from cloud.problems import Conflict
from shared.enums import ErrorCode, EventType, JobStatus


class Phase(StrEnum):
    QUEUED = "queued"
    HELD = "held"
    STARTING = "starting"
    PRINTING = "printing"
    PAUSED = "paused"
    ENDING = "ending"
    ENDED = "ended"


class Trigger(StrEnum):
    CLAIM = "claim"
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    START_REFUSED = "start_refused"
    FILE_REFUSED = "file_refused"
    START_EXPIRED = "start_expired"
    PAUSE_REFUSED = "pause_refused"
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class JobView:
    status: JobStatus
    copies: int
    copies_done: int = 0
    hold: bool = False
    run: RunStatus | None = None  # the active run's status, if there is one

    @property
    def phase(self) -> Phase:
        if self.status.is_final:
            return Phase.ENDED if self.run is None else Phase.ENDING
        match self.run:
            case None:
                return Phase.HELD if self.hold else Phase.QUEUED
            case RunStatus.ASSIGNED:
                return Phase.STARTING
            case RunStatus.PRINTING:
                return Phase.PRINTING
            case RunStatus.PAUSED:
                return Phase.PAUSED
        raise ValueError(f"an active run cannot be {self.run}")


@dataclass(frozen=True, slots=True)
class Step:
    job: JobView
    # The run's status after the step: a new run (claim), or the active run's; None: no run.
    run: RunStatus | None = None
    events: tuple[EventType, ...] = ()
    commands: tuple[CommandAction, ...] = ()
    changed: bool = True  # False: the trigger changes nothing (a repeat, a no-op)

    @property
    def run_ended(self) -> bool:
        return self.run is not None and not self.run.active


class IllegalTransition(Conflict):
    """The trigger is not allowed in the job's phase."""

    def __init__(self, phase: Phase, trigger: Trigger, message: str) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, message, param="action")
        self.phase = phase
        self.trigger = trigger


Rule = Callable[[JobView], Step]


def _claim(v: JobView) -> Step:
    job = replace(v, status=JobStatus.ASSIGNED, run=RunStatus.ASSIGNED)
    return Step(job, RunStatus.ASSIGNED, commands=(CommandAction.START_JOB,))


def _started(v: JobView) -> Step:
    if v.phase is Phase.ENDING:  # started before our cancel reached it; the cancel follows
        return Step(replace(v, run=RunStatus.PRINTING), RunStatus.PRINTING)
    job = replace(v, status=JobStatus.PRINTING, run=RunStatus.PRINTING)
    commands = (CommandAction.PAUSE,) if v.hold else ()
    return Step(job, RunStatus.PRINTING, (EventType.JOB_STARTED,), commands)


def _paused(v: JobView) -> Step:
    if v.phase is Phase.ENDING:
        return Step(replace(v, run=RunStatus.PAUSED), RunStatus.PAUSED)
    job = replace(v, status=JobStatus.PAUSED, run=RunStatus.PAUSED)
    return Step(job, RunStatus.PAUSED, (EventType.JOB_PAUSED,))


def _resumed(v: JobView) -> Step:
    if v.phase is Phase.ENDING:
        return Step(replace(v, run=RunStatus.PRINTING), RunStatus.PRINTING)
    # Resumed at the printer or by our command: the user's hold is over either way.
    job = replace(v, status=JobStatus.PRINTING, run=RunStatus.PRINTING, hold=False)
    return Step(job, RunStatus.PRINTING, (EventType.JOB_RESUMED,))


def _completed(v: JobView) -> Step:
    done = v.copies_done + 1
    if v.phase is Phase.ENDING:
        return Step(replace(v, run=None, copies_done=done), RunStatus.COMPLETED)
    if done >= v.copies:
        job = replace(v, status=JobStatus.COMPLETED, run=None, copies_done=done, hold=False)
        return Step(job, RunStatus.COMPLETED, (EventType.JOB_COMPLETED,))
    if v.hold:
        job = replace(v, status=JobStatus.PAUSED, run=None, copies_done=done)
        # Paused for the user now, if it was not already (the pause had not reached it).
        events = () if v.status is JobStatus.PAUSED else (EventType.JOB_PAUSED,)
        return Step(job, RunStatus.COMPLETED, events)
    return Step(
        replace(v, status=JobStatus.QUEUED, run=None, copies_done=done), RunStatus.COMPLETED
    )


def _ended_by_agent(outcome: JobStatus, run: RunStatus, event: EventType) -> Rule:
    def rule(v: JobView) -> Step:
        if v.phase is Phase.ENDING:
            return Step(replace(v, run=None), run)
        return Step(replace(v, status=outcome, run=None, hold=False), run, (event,))

    return rule


def _start_refused(v: JobView) -> Step:
    if v.phase is Phase.ENDING:
        return Step(replace(v, run=None), RunStatus.REFUSED)
    if v.hold:  # a pause asked while it was starting: held now, and paused for the user
        job = replace(v, status=JobStatus.PAUSED, run=None)
        return Step(job, RunStatus.REFUSED, (EventType.JOB_PAUSED,))
    return Step(replace(v, status=JobStatus.QUEUED, run=None), RunStatus.REFUSED)


def _file_refused(v: JobView) -> Step:
    if v.phase is Phase.ENDING:
        return Step(replace(v, run=None), RunStatus.REFUSED)
    job = replace(v, status=JobStatus.FAILED, run=None, hold=False)
    return Step(job, RunStatus.REFUSED, (EventType.JOB_FAILED,))


def _hold_between_copies(v: JobView) -> Step:
    return Step(replace(v, status=JobStatus.PAUSED, hold=True), events=(EventType.JOB_PAUSED,))


def _release_between_copies(v: JobView) -> Step:
    return Step(replace(v, status=JobStatus.QUEUED, hold=False), events=(EventType.JOB_RESUMED,))


def _hold_on_printer(v: JobView) -> Step:
    if v.hold:
        return Step(v, v.run, changed=False)
    # A starting copy is paused once it has started (`_started` sends the pause then).
    commands = (CommandAction.PAUSE,) if v.run is RunStatus.PRINTING else ()
    return Step(replace(v, hold=True), v.run, commands=commands)


def _release_on_printer(v: JobView) -> Step:
    if not v.hold and v.run is not RunStatus.PAUSED:
        raise IllegalTransition(v.phase, Trigger.RELEASE, "The job is not paused.")
    # A starting copy never got its pause: forgetting the wish is enough.
    commands = () if v.run is RunStatus.ASSIGNED else (CommandAction.RESUME,)
    return Step(replace(v, hold=False), v.run, commands=commands)


def _cancel(v: JobView) -> Step:
    job = replace(v, status=JobStatus.CANCELLED, hold=False)
    commands = (CommandAction.CANCEL,) if v.run is not None else ()
    return Step(job, v.run, (EventType.JOB_CANCELLED,), commands)


def _cancel_again(v: JobView) -> Step:
    # Over for the user already; the printer has not stopped (its agent refused or never
    # answered the first cancel): ask again.
    return Step(v, v.run, commands=(CommandAction.CANCEL,))


def _pause_refused(v: JobView) -> Step:
    # The printer did not pause: the wish is dropped, or it would hold the next copy.
    if not v.hold:
        return Step(v, v.run, changed=False)
    return Step(replace(v, hold=False), v.run)


def _unchanged(v: JobView) -> Step:
    return Step(v, v.run, changed=False)


_COPY_ENDS: dict[Trigger, Rule] = {
    Trigger.COMPLETED: _completed,
    Trigger.FAILED: _ended_by_agent(JobStatus.FAILED, RunStatus.FAILED, EventType.JOB_FAILED),
    Trigger.CANCELLED: _ended_by_agent(
        JobStatus.CANCELLED, RunStatus.CANCELLED, EventType.JOB_CANCELLED
    ),
}
_START_ANSWERS: dict[Trigger, Rule] = {
    Trigger.START_REFUSED: _start_refused,
    Trigger.START_EXPIRED: _start_refused,
    Trigger.FILE_REFUSED: _file_refused,
}

# Every allowed (phase, trigger) pair, and what it does.
RULES: dict[tuple[Phase, Trigger], Rule] = {
    (Phase.QUEUED, Trigger.CLAIM): _claim,
    (Phase.QUEUED, Trigger.HOLD): _hold_between_copies,
    (Phase.QUEUED, Trigger.CANCEL): _cancel,
    (Phase.HELD, Trigger.RELEASE): _release_between_copies,
    (Phase.HELD, Trigger.HOLD): _unchanged,
    (Phase.HELD, Trigger.CANCEL): _cancel,
    (Phase.STARTING, Trigger.STARTED): _started,
    **{(Phase.STARTING, t): rule for t, rule in _START_ANSWERS.items()},
    **{(Phase.STARTING, t): rule for t, rule in _COPY_ENDS.items()},
    (Phase.STARTING, Trigger.HOLD): _hold_on_printer,
    (Phase.STARTING, Trigger.RELEASE): _release_on_printer,
    (Phase.STARTING, Trigger.CANCEL): _cancel,
    (Phase.PRINTING, Trigger.STARTED): _unchanged,
    (Phase.PRINTING, Trigger.PAUSED): _paused,
    (Phase.PRINTING, Trigger.RESUMED): _unchanged,
    **{(Phase.PRINTING, t): rule for t, rule in _COPY_ENDS.items()},
    (Phase.PRINTING, Trigger.PAUSE_REFUSED): _pause_refused,
    (Phase.PRINTING, Trigger.HOLD): _hold_on_printer,
    (Phase.PRINTING, Trigger.RELEASE): _release_on_printer,
    (Phase.PRINTING, Trigger.CANCEL): _cancel,
    (Phase.PAUSED, Trigger.PAUSED): _unchanged,
    (Phase.PAUSED, Trigger.RESUMED): _resumed,
    **{(Phase.PAUSED, t): rule for t, rule in _COPY_ENDS.items()},
    (Phase.PAUSED, Trigger.HOLD): _hold_on_printer,
    (Phase.PAUSED, Trigger.RELEASE): _release_on_printer,
    (Phase.PAUSED, Trigger.CANCEL): _cancel,
    # Ended for the user, still on the printer: follow the run until the agent stops it.
    (Phase.ENDING, Trigger.STARTED): _started,
    (Phase.ENDING, Trigger.PAUSED): _paused,
    (Phase.ENDING, Trigger.RESUMED): _resumed,
    **{(Phase.ENDING, t): rule for t, rule in _COPY_ENDS.items()},
    **{(Phase.ENDING, t): rule for t, rule in _START_ANSWERS.items()},
    (Phase.ENDING, Trigger.CANCEL): _cancel_again,
}


def step(view: JobView, trigger: Trigger) -> Step:
    """What ``trigger`` does to a job in ``view``; `IllegalTransition` if not allowed."""
    phase = view.phase
    rule = RULES.get((phase, trigger))
    if rule is None:
        raise IllegalTransition(phase, trigger, _refusal(view, trigger))
    return rule(view)


def _refusal(view: JobView, trigger: Trigger) -> str:
    if view.status.is_final:
        return f"The job is {view.status.value}; it cannot be {_verb(trigger)}."
    if trigger is Trigger.RELEASE:
        return "The job is not paused."
    return f"The job is {view.status.value}; it cannot be {_verb(trigger)} now."


def _verb(trigger: Trigger) -> str:
    return {
        Trigger.HOLD: "paused",
        Trigger.RELEASE: "resumed",
        Trigger.CANCEL: "cancelled",
        Trigger.CLAIM: "assigned to a printer",
    }.get(trigger, f"changed by '{trigger.value}'")


def job_progress(copies: int, copies_done: int, copy_progress: float | None) -> float | None:
    """The whole job's progress in percent: finished copies plus the running one's share."""
    if copy_progress is None and copies_done == 0:
        return None
    return (copies_done * 100.0 + (copy_progress or 0.0)) / max(copies, 1)
