"""The driver's durable memory of the one job it started, and how a job's end is decided.

OctoPrint knows which file it prints, not which AutoPrintFarm job that is. The driver keeps
a small record (job id, OctoPrint path, how often OctoPrint had printed that path before)
through a `JobMemory` (agent/drivers/memory.py) the agent backs with its own store, so
that after an agent restart it can tell its own job from one started in OctoPrint's UI,
re-attach to it, and report a job that ended while the agent was away exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.octoprint.models import FileInfo


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: str
    # The file's path in OctoPrint's local storage, as the upload answered it.
    path: str
    # success + failure count in the file's print history before this job started; a
    # larger count later means OctoPrint logged this job's end (filemanager `log_print`).
    # Counting avoids comparing the agent's clock with OctoPrint's.
    prints_before: int
    # Wall-clock start (Unix time) on the agent, for durations when OctoPrint has none.
    started_at: float
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class LoggedOutcome:
    """How OctoPrint logged the end of a print in the file's history."""

    success: bool
    print_time_s: float | None


def print_count(info: FileInfo | None) -> int:
    if info is None or info.prints is None:
        return 0
    return info.prints.success + info.prints.failure


def logged_outcome(record: JobRecord, info: FileInfo | None) -> LoggedOutcome | None:
    """The outcome OctoPrint logged for this job, or None if it logged none (yet).

    OctoPrint writes the history entry from a thread right after PrintDone/PrintFailed
    (printer/standard.py), so None shortly after a print ended can mean "not yet".
    """
    if info is None or info.prints is None or info.prints.last is None:
        return None
    if print_count(info) <= record.prints_before:
        return None
    last = info.prints.last
    return LoggedOutcome(success=last.success, print_time_s=last.print_time)
