"""The lifecycle table, pair by pair: every (phase, trigger) either does exactly what is
written here or is refused; then random sequences keep the invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.lifecycle.machine import (
    RULES,
    IllegalTransition,
    JobView,
    Phase,
    Trigger,
    job_progress,
    step,
)
from cloud.lifecycle.states import CommandAction, RunStatus
from shared.enums import EventType, JobStatus

S, R, T, E, C = JobStatus, RunStatus, Trigger, EventType, CommandAction

# One job of 3 copies, 1 done, in each phase (and with a pause asked for, where it matters).
VIEWS = {
    "queued": JobView(S.QUEUED, 3, 1),
    "held": JobView(S.PAUSED, 3, 1, hold=True),
    "starting": JobView(S.ASSIGNED, 3, 1, run=R.ASSIGNED),
    "starting+hold": JobView(S.ASSIGNED, 3, 1, hold=True, run=R.ASSIGNED),
    "printing": JobView(S.PRINTING, 3, 1, run=R.PRINTING),
    "printing+hold": JobView(S.PRINTING, 3, 1, hold=True, run=R.PRINTING),
    "last copy": JobView(S.PRINTING, 3, 2, run=R.PRINTING),
    "paused": JobView(S.PAUSED, 3, 1, run=R.PAUSED),
    "paused+hold": JobView(S.PAUSED, 3, 1, hold=True, run=R.PAUSED),
    "ending": JobView(S.CANCELLED, 3, 1, run=R.PRINTING),
    "ended": JobView(S.COMPLETED, 3, 3),
}

# (view, trigger) -> (status, run after, copies done, hold, events, commands); absent: refused.
EXPECTED: dict[
    tuple[str, Trigger],
    tuple[JobStatus, RunStatus | None, int, bool, tuple[EventType, ...], tuple[CommandAction, ...]],
] = {
    ("queued", T.CLAIM): (S.ASSIGNED, R.ASSIGNED, 1, False, (), (C.START_JOB,)),
    ("queued", T.HOLD): (S.PAUSED, None, 1, True, (E.JOB_PAUSED,), ()),
    ("queued", T.CANCEL): (S.CANCELLED, None, 1, False, (E.JOB_CANCELLED,), ()),
    ("held", T.RELEASE): (S.QUEUED, None, 1, False, (E.JOB_RESUMED,), ()),
    ("held", T.HOLD): (S.PAUSED, None, 1, True, (), ()),
    ("held", T.CANCEL): (S.CANCELLED, None, 1, False, (E.JOB_CANCELLED,), ()),
    ("starting", T.STARTED): (S.PRINTING, R.PRINTING, 1, False, (E.JOB_STARTED,), ()),
    ("starting+hold", T.STARTED): (S.PRINTING, R.PRINTING, 1, True, (E.JOB_STARTED,), (C.PAUSE,)),
    ("starting", T.START_REFUSED): (S.QUEUED, R.REFUSED, 1, False, (), ()),
    ("starting", T.START_EXPIRED): (S.QUEUED, R.REFUSED, 1, False, (), ()),
    ("starting+hold", T.START_REFUSED): (S.PAUSED, R.REFUSED, 1, True, (E.JOB_PAUSED,), ()),
    ("starting", T.FILE_REFUSED): (S.FAILED, R.REFUSED, 1, False, (E.JOB_FAILED,), ()),
    ("starting", T.COMPLETED): (S.QUEUED, R.COMPLETED, 2, False, (), ()),
    ("starting", T.FAILED): (S.FAILED, R.FAILED, 1, False, (E.JOB_FAILED,), ()),
    ("starting", T.CANCELLED): (S.CANCELLED, R.CANCELLED, 1, False, (E.JOB_CANCELLED,), ()),
    ("starting", T.HOLD): (S.ASSIGNED, R.ASSIGNED, 1, True, (), ()),
    ("starting+hold", T.RELEASE): (S.ASSIGNED, R.ASSIGNED, 1, False, (), ()),
    ("starting", T.CANCEL): (S.CANCELLED, R.ASSIGNED, 1, False, (E.JOB_CANCELLED,), (C.CANCEL,)),
    ("printing", T.STARTED): (S.PRINTING, R.PRINTING, 1, False, (), ()),
    ("printing", T.PAUSED): (S.PAUSED, R.PAUSED, 1, False, (E.JOB_PAUSED,), ()),
    ("printing", T.RESUMED): (S.PRINTING, R.PRINTING, 1, False, (), ()),
    ("printing", T.COMPLETED): (S.QUEUED, R.COMPLETED, 2, False, (), ()),
    ("printing+hold", T.COMPLETED): (S.PAUSED, R.COMPLETED, 2, True, (E.JOB_PAUSED,), ()),
    ("last copy", T.COMPLETED): (S.COMPLETED, R.COMPLETED, 3, False, (E.JOB_COMPLETED,), ()),
    ("printing", T.FAILED): (S.FAILED, R.FAILED, 1, False, (E.JOB_FAILED,), ()),
    ("printing", T.CANCELLED): (S.CANCELLED, R.CANCELLED, 1, False, (E.JOB_CANCELLED,), ()),
    ("printing", T.HOLD): (S.PRINTING, R.PRINTING, 1, True, (), (C.PAUSE,)),
    ("printing", T.PAUSE_REFUSED): (S.PRINTING, R.PRINTING, 1, False, (), ()),
    ("printing+hold", T.PAUSE_REFUSED): (S.PRINTING, R.PRINTING, 1, False, (), ()),
    ("printing+hold", T.HOLD): (S.PRINTING, R.PRINTING, 1, True, (), ()),
    ("printing+hold", T.RELEASE): (S.PRINTING, R.PRINTING, 1, False, (), (C.RESUME,)),
    ("printing", T.CANCEL): (S.CANCELLED, R.PRINTING, 1, False, (E.JOB_CANCELLED,), (C.CANCEL,)),
    ("paused", T.PAUSED): (S.PAUSED, R.PAUSED, 1, False, (), ()),
    ("paused", T.RESUMED): (S.PRINTING, R.PRINTING, 1, False, (E.JOB_RESUMED,), ()),
    ("paused+hold", T.RESUMED): (S.PRINTING, R.PRINTING, 1, False, (E.JOB_RESUMED,), ()),
    ("paused", T.COMPLETED): (S.QUEUED, R.COMPLETED, 2, False, (), ()),
    ("paused+hold", T.COMPLETED): (S.PAUSED, R.COMPLETED, 2, True, (), ()),
    ("paused", T.FAILED): (S.FAILED, R.FAILED, 1, False, (E.JOB_FAILED,), ()),
    ("paused", T.CANCELLED): (S.CANCELLED, R.CANCELLED, 1, False, (E.JOB_CANCELLED,), ()),
    ("paused", T.HOLD): (S.PAUSED, R.PAUSED, 1, True, (), ()),
    ("paused", T.RELEASE): (S.PAUSED, R.PAUSED, 1, False, (), (C.RESUME,)),
    ("paused+hold", T.RELEASE): (S.PAUSED, R.PAUSED, 1, False, (), (C.RESUME,)),
    ("paused", T.CANCEL): (S.CANCELLED, R.PAUSED, 1, False, (E.JOB_CANCELLED,), (C.CANCEL,)),
    ("ending", T.STARTED): (S.CANCELLED, R.PRINTING, 1, False, (), ()),
    ("ending", T.PAUSED): (S.CANCELLED, R.PAUSED, 1, False, (), ()),
    ("ending", T.RESUMED): (S.CANCELLED, R.PRINTING, 1, False, (), ()),
    ("ending", T.COMPLETED): (S.CANCELLED, R.COMPLETED, 2, False, (), ()),
    ("ending", T.FAILED): (S.CANCELLED, R.FAILED, 1, False, (), ()),
    ("ending", T.CANCELLED): (S.CANCELLED, R.CANCELLED, 1, False, (), ()),
    ("ending", T.START_REFUSED): (S.CANCELLED, R.REFUSED, 1, False, (), ()),
    ("ending", T.START_EXPIRED): (S.CANCELLED, R.REFUSED, 1, False, (), ()),
    ("ending", T.FILE_REFUSED): (S.CANCELLED, R.REFUSED, 1, False, (), ()),
    ("ending", T.CANCEL): (S.CANCELLED, R.PRINTING, 1, False, (), (C.CANCEL,)),
}


# The views that stand for their phase; the others show what a pause asked for, or the last
# copy, changes.
BASE = ("queued", "held", "starting", "printing", "paused", "ending", "ended")


@pytest.mark.parametrize(
    ("name", "trigger"), [(n, t) for n in BASE for t in Trigger if (n, t) not in EXPECTED]
)
def test_every_other_pair_is_refused(name: str, trigger: Trigger) -> None:
    view = VIEWS[name]
    with pytest.raises(IllegalTransition) as refused:
        step(view, trigger)
    assert refused.value.phase is view.phase and refused.value.trigger is trigger


@pytest.mark.parametrize(("name", "trigger"), list(EXPECTED))
def test_every_allowed_pair_does_what_the_table_says(name: str, trigger: Trigger) -> None:
    view = VIEWS[name]
    status, run, done, hold, events, commands = EXPECTED[(name, trigger)]
    result = step(view, trigger)
    assert (result.job.status, result.run, result.job.copies_done, result.job.hold) == (
        status,
        run,
        done,
        hold,
    )
    assert (result.events, result.commands) == (events, commands)
    # The job's active run after: the run unless it just ended.
    assert result.job.run == (run if run is not None and run.active else None)


def test_the_table_covers_exactly_the_pairs_listed_here() -> None:
    listed = {(VIEWS[name].phase, trigger) for name, trigger in EXPECTED}
    assert listed == set(RULES)


def test_nothing_happens_to_an_ended_job() -> None:
    for trigger in Trigger:
        with pytest.raises(IllegalTransition, match="completed"):
            step(VIEWS["ended"], trigger)


def test_whole_job_progress_counts_finished_copies() -> None:
    assert job_progress(4, 0, None) is None
    assert job_progress(4, 0, 50.0) == 12.5
    assert job_progress(4, 3, 100.0) == 100.0
    assert job_progress(4, 2, None) == 50.0


AGENT = [T.STARTED, T.PAUSED, T.RESUMED, T.COMPLETED, T.FAILED, T.CANCELLED]
ANSWERS = [T.START_REFUSED, T.FILE_REFUSED, T.START_EXPIRED]
USER = [T.HOLD, T.RELEASE, T.CANCEL]


@settings(max_examples=500, deadline=None)
@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.sampled_from([T.CLAIM, *AGENT, *ANSWERS, *USER]), max_size=60),
)
def test_random_lives_keep_the_invariants(copies: int, triggers: list[Trigger]) -> None:
    view = JobView(S.QUEUED, copies)
    started = completed = 0
    for trigger in triggers:
        try:
            result = step(view, trigger)
        except IllegalTransition:
            continue
        if view.status.is_final:
            assert result.job.status is view.status  # terminal states are final
            assert not result.events  # and say nothing more
        assert 0 <= result.job.copies_done <= copies + 1
        assert (result.job.run is not None) == (
            result.job.phase in (Phase.STARTING, Phase.PRINTING, Phase.PAUSED, Phase.ENDING)
        )
        assert all(c is not C.START_JOB or trigger is T.CLAIM for c in result.commands)
        if result.commands and C.START_JOB not in result.commands:
            assert result.job.run is not None or view.run is not None  # a printer to tell
        started += result.events.count(E.JOB_STARTED)
        completed += result.events.count(E.JOB_COMPLETED)
        if E.JOB_COMPLETED in result.events:
            assert result.job.copies_done == copies
        view = result.job
    assert completed <= 1
    assert started <= copies + triggers.count(T.START_REFUSED) + triggers.count(T.START_EXPIRED)
