"""Several worker processes, one set of totals: prometheus-client's multiprocess mode.

uvicorn's workers are separate processes; each would count only the requests it served, and
a scrape (answered by any one of them) would report that worker's share. In multiprocess
mode every process writes its values to memory-mapped files in the directory named by
`PROMETHEUS_MULTIPROC_DIR`, and a scrape reads and sums all of them
(prometheus.github.io/client_python/multiprocess). The rules it sets:

- the variable is set before prometheus_client is first imported in any worker (it picks
  files or in-memory values then): `apf cloud serve` sets it before uvicorn starts one;
- the directory starts empty (old files would add a previous run's counts): a fresh private
  one per `serve`, removed when it ends;
- a gauge in a "live" mode (the pool gauges) must forget a process that is gone:
  `mark_process_dead(pid)`. uvicorn has no hook in the supervisor when a worker exits, so a
  worker marks itself at shutdown (cloud.metrics.pool) and each scrape also forgets the
  live-gauge files of processes that no longer exist (a worker killed without a shutdown).

Counters and histograms of an exited worker stay in the sum, as they should: the requests it
served did happen.

This module imports prometheus_client only inside the functions that workers call: the
serving process imports it before it sets the variable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client's file name of a live-mode gauge: gauge_<mode>_<pid>.db.
_LIVE_FILE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")


def multiproc_dir() -> Path | None:
    """The shared directory when this process runs in multiprocess mode."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


@contextlib.contextmanager
def private_multiproc_dir() -> Iterator[Path]:
    """For `apf cloud serve`: a new empty directory (mode 0700) named in the environment the
    workers inherit, removed with its files when the block ends."""
    if "prometheus_client" in sys.modules:
        # Too late for this process: its values would stay in memory (cloud.metrics.series).
        raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_ENV} was set")
    previous = os.environ.get(MULTIPROC_ENV)
    with tempfile.TemporaryDirectory(prefix="apf-metrics-") as path:
        os.environ[MULTIPROC_ENV] = path
        try:
            yield Path(path)
        finally:
            if previous is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = previous


def mark_dead(pid: int) -> None:
    """Forget the live-mode gauge values of process `pid` (it exits or has exited)."""
    path = multiproc_dir()
    if path is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


def forget_dead_processes() -> None:
    """Before a scrape: drop live-mode gauge files of processes that no longer exist, such as
    a worker that was killed and restarted by uvicorn without shutting down."""
    path = multiproc_dir()
    if path is None:
        return
    pids: set[int] = set()
    for entry in os.scandir(path):
        match = _LIVE_FILE.match(entry.name)
        if match:
            pids.add(int(match.group(1)))
    for pid in pids:
        if not _alive(pid):
            log.info("metrics: forgetting the pool gauges of exited process %d", pid)
            mark_dead(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True
