"""`apf cloud serve --workers 2`: whichever worker answers a scrape, the totals are every
worker's (multiprocess mode, cloud/metrics/multiproc.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from cloud.db.engine import create_engine
from cloud.metrics.multiproc import MULTIPROC_ENV, forget_dead_processes, private_multiproc_dir
from cloud.metrics.pool import pool_metrics_lifespan
from tests.cloud.metrics.conftest import AUTH, TOKEN, Scrape
from tests.cloud.server import clean_env, prepare_in_process
from tests.support.ports import free_port, wait_for_listener

WORKERS = 2
POOL_SIZE = 10  # the db_pool_size default
ROUTE = "/v1/organization"


@dataclass(frozen=True)
class Served:
    url: str
    api_key: str
    process: subprocess.Popen[bytes]


@contextmanager
def serving(tmp_path: Path, workers: int) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    api_key = prepare_in_process(data_dir)
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "apf", "cloud", "serve", "--data-dir", str(data_dir),
               "--port", str(port), "--workers", str(workers)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=clean_env(APF_METRICS_TOKEN=TOKEN), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_listener("127.0.0.1", port, 60, alive=proc)
        yield Served(f"http://127.0.0.1:{port}", api_key, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.returncode not in (0, -15):
            print(log.read_text(errors="replace"))


def scrape(url: str) -> Scrape:
    # A new connection each time, so the kernel may hand it to either worker.
    response = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)


def poll(check: object, what: str, timeout_s: float = 30.0) -> None:
    """Re-check `check()` until it holds (a condition polled with a deadline)."""
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def metrics_dir_of(server: subprocess.Popen[bytes]) -> tuple[Path, set[int]]:
    """The directory `serve` made, as its workers got it in their environment, and their pids
    (the supervisor set it after it started, so its own initial environment lacks it)."""
    found: dict[int, str] = {}
    for child in psutil.Process(server.pid).children(recursive=True):
        value = child.environ().get(MULTIPROC_ENV)
        if value:
            found[child.pid] = value
    assert len(set(found.values())) == 1, found
    return Path(next(iter(found.values()))), set(found)


def requests_by_pid(directory: Path) -> dict[int, float]:
    """Each process's own count of the route, from its own file (what the scrape sums)."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                if sample.name == "apf_http_requests_total" and sample.labels["route"] == ROUTE:
                    counts[pid] = counts.get(pid, 0.0) + sample.value
    return counts


def test_two_workers_give_one_sum(tmp_path: Path) -> None:
    with serving(tmp_path, WORKERS) as server:
        # Both workers up and writing: each adds its own pool to the live sum.
        poll(
            lambda: scrape(server.url).value("apf_db_pool_size") == WORKERS * POOL_SIZE,
            "both workers' pool gauges",
        )
        directory, worker_pids = metrics_dir_of(server.process)
        assert len(worker_pids) >= WORKERS
        headers = {"Authorization": f"Bearer {server.api_key}"}
        sent = 0
        deadline = time.monotonic() + 60
        # At least 30 requests, and on until both workers have served some (fresh
        # connections: which worker accepts one is the kernel's choice).
        while sent < 30 or len(requests_by_pid(directory)) < WORKERS:
            assert time.monotonic() < deadline, (
                f"one worker served all: {requests_by_pid(directory)}"
            )
            assert httpx.get(f"{server.url}{ROUTE}", headers=headers, timeout=10).status_code == 200
            sent += 1
        by_pid = requests_by_pid(directory)
        assert set(by_pid) <= worker_pids and len(by_pid) == WORKERS
        assert sum(by_pid.values()) == sent
        for _ in range(8):  # answered by one worker or the other: the same sum
            seen = scrape(server.url)
            assert (
                seen.value("apf_http_requests_total", method="GET", route=ROUTE, status="200")
                == sent
            )
            assert seen.total("apf_http_request_duration_seconds_count", route=ROUTE) == sent
            assert seen.value("apf_db_pool_size") == WORKERS * POOL_SIZE
    assert not directory.exists()  # removed with the server


def test_live_gauges_of_exited_processes_are_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    for pid in (dead_pid, os.getpid()):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    forget_dead_processes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{dead_pid}.db", f"counter_{os.getpid()}.db", f"gauge_livesum_{os.getpid()}.db"]
    )


async def test_a_worker_drops_its_pool_gauges_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / f"gauge_livesum_{os.getpid()}.db"
    mine.write_bytes(b"")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", pool_size=3)
    try:
        async with pool_metrics_lifespan(engine)(None):
            assert mine.exists()
        assert not mine.exists()
    finally:
        await engine.dispose()


def test_the_directory_cannot_be_set_after_prometheus_client_is_imported() -> None:
    # This process imported it (the app did): its values would stay in memory.
    with pytest.raises(RuntimeError, match=MULTIPROC_ENV), private_multiproc_dir():
        pass
