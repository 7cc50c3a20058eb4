"""The lifecycle table as docs/orchestration.md shows it, rendered from `RULES`.

Each allowed (phase, trigger) pair is stepped from every kind of job it can meet (a copy
left to print or the last one, a pause asked or not, for an ending job each run state), and
the outcomes are written with the conditions that tell them apart. The test beside this
module fails when the docs and the code disagree; `python -m tests.cloud.lifecycle.table`
prints the table to paste.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

from cloud.lifecycle.machine import RULES, IllegalTransition, JobView, Phase, Trigger, step
from cloud.lifecycle.states import RunStatus
from shared.enums import JobStatus

_COPIES = 2  # done 0 of 2: a copy is left after this one; done 1: this is the last


def _views(phase: Phase) -> list[JobView]:
    flags = list(product((0, 1), (False, True)))
    match phase:
        case Phase.QUEUED:
            return [JobView(JobStatus.QUEUED, _COPIES, done) for done in (0, 1)]
        case Phase.HELD:
            return [JobView(JobStatus.PAUSED, _COPIES, done, True) for done in (0, 1)]
        case Phase.STARTING:
            return [
                JobView(JobStatus.ASSIGNED, _COPIES, d, h, RunStatus.ASSIGNED) for d, h in flags
            ]
        case Phase.PRINTING:
            return [
                JobView(JobStatus.PRINTING, _COPIES, d, h, RunStatus.PRINTING) for d, h in flags
            ]
        case Phase.PAUSED:
            return [JobView(JobStatus.PAUSED, _COPIES, d, h, RunStatus.PAUSED) for d, h in flags]
        case Phase.ENDING:
            runs = (RunStatus.ASSIGNED, RunStatus.PRINTING, RunStatus.PAUSED)
            return [
                JobView(JobStatus.CANCELLED, _COPIES, d, False, r) for d in (0, 1) for r in runs
            ]
    return []


def _outcome(view: JobView, trigger: Trigger) -> str:
    try:
        result = step(view, trigger)
    except IllegalTransition:
        return "refused"
    if not result.changed:
        return "no change"
    parts = [result.job.phase.value]
    parts += [f"`{event.value}`" for event in result.events]
    parts += [f"sends {command.value}" for command in result.commands]
    return ", ".join(parts)


def _copy_label(view: JobView) -> str:
    return "last copy" if view.copies_done + 1 >= view.copies else "copies left"


def _hold_label(view: JobView) -> str:
    return "pause asked" if view.hold else "no pause asked"


Label = Callable[[JobView], str]


def _matters(outcomes: dict[JobView, str], label: Label, others: list[Label]) -> bool:
    """Does the outcome change with ``label`` alone, all else (the run too) the same?"""
    seen: dict[tuple[object, ...], set[str]] = {}
    for view, outcome in outcomes.items():
        rest = (view.run, *(other(view) for other in others))
        seen.setdefault(rest, set()).add(outcome)
    return any(len(found) > 1 for found in seen.values())


def _said(outcomes: dict[JobView, str], labels: list[Label]) -> str:
    """The outcomes, told apart by the labels that matter, the first one outermost."""
    if len(set(outcomes.values())) == 1:
        return next(iter(outcomes.values()))
    for index, label in enumerate(labels):
        others = labels[:index] + labels[index + 1 :]
        if not _matters(outcomes, label, others):
            continue
        groups: dict[str, dict[JobView, str]] = {}
        for view, outcome in outcomes.items():
            groups.setdefault(label(view), {})[view] = outcome
        parts = []
        for name, group in groups.items():
            inner = _said(group, others)
            parts.append(f"{name}: {inner}" if ": " not in inner else f"{name} ({inner})")
        return "; ".join(parts)
    return " or ".join(sorted(set(outcomes.values())))


def cell(phase: Phase, trigger: Trigger) -> str:
    outcomes = {view: _outcome(view, trigger) for view in _views(phase)}
    return _said(outcomes, [_copy_label, _hold_label])


def render() -> str:
    lines = ["| phase | trigger | after |", "| --- | --- | --- |"]
    for phase, trigger in sorted(
        RULES, key=lambda pt: (list(Phase).index(pt[0]), list(Trigger).index(pt[1]))
    ):
        lines.append(f"| {phase.value} | {trigger.value} | {cell(phase, trigger)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
