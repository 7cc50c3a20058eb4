"""API benchmark: the /v1 list and create endpoints beside a bare JSON endpoint.

    .venv/bin/python bench/api.py                       # SQLite, 5 s per endpoint
    .venv/bin/python bench/api.py --duration-s 10 --database-url postgresql://...
    .venv/bin/python bench/api.py --commits-per-s 100   # a live farm's writes beside

List pages are cached while the database is unchanged (cloud/api/page_cache.py);
`--commits-per-s N` has another connection commit N times a second during the run, as the
bridge does when it stores printer states, so each commit ends every cached page.

On PostgreSQL the URL only names the server: the bench creates a database of its own
(`apf_bench_<random>`) beside the one named, runs there, and drops it at the end.

With 1,000 printers and 10,000 jobs stored (2,000 of them queued), one `apf cloud serve`
worker (uvicorn + uvloop + httptools, the production server) in its own process serves both
the real endpoints and `/bench/bare`, a handler that returns pre-encoded JSON of exactly the
size of the real response, so the difference is what the API does beyond moving the bytes
(auth, rate limit, query, encoding). The load generator is a minimal HTTP/1.1 keep-alive
client (50 concurrent connections) in this process. Reported: requests/s and p50/p99 latency.
Target on SQLite: list endpoints >= 50 % of the bare rate, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from litestar import Response, get, post

CONCURRENCY = 50
PRINTERS = 1_000
JOBS = 10_000
QUEUED = 2_000
SAMPLE = Path(__file__).resolve().parent.parent / "tests/shared/gcode_samples/prusaslicer.gcode"


# -- server process ---------------------------------------------------------------------------
# Async handlers, like the API's, so both run on the event loop the same way.
@get("/bench/bare/{size:int}", include_in_schema=False)
async def bare_get(size: int) -> Response[bytes]:
    return Response(_filler(size), media_type="application/json")


@post("/bench/bare/{size:int}", include_in_schema=False)
async def bare_post(size: int) -> Response[bytes]:
    return Response(_filler(size), media_type="application/json", status_code=201)


def _serve(settings_json: str, port: int) -> None:
    import uvicorn

    from cloud.app import create_app
    from cloud.server import freeze_startup_heap
    from cloud.settings import Settings

    app = create_app(msgspec.json.decode(settings_json, type=Settings))
    app.register(bare_get)
    app.register(bare_post)
    app.on_startup.append(freeze_startup_heap)  # as cloud.server's factory does
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


@functools.cache
def _filler(size: int) -> bytes:
    head, tail = b'{"data":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


# -- data -------------------------------------------------------------------------------------
async def _seed(settings: Any) -> tuple[str, str]:
    """Migrate, create an org, store one G-code file, insert printers and jobs in bulk."""
    from cloud.db import migrate
    from cloud.db.engine import create_engine, session_factory
    from cloud.db.models import Job, Printer, StoredFileRow
    from cloud.db.types import utcnow
    from cloud.files import GcodeStore
    from cloud.ids import IdPrefix, new_id
    from cloud.services.admin import create_org

    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            org = await create_org(session, "Bench", owner_email="b@x.test", plan="enterprise")
        data = SAMPLE.read_bytes()

        async def chunks() -> Any:
            yield data

        stored = await GcodeStore(settings.files_dir).save_stream(
            chunks(), filename="bench.gcode", max_bytes=1 << 20
        )
        now = utcnow()
        printers = [
            dict(
                id=new_id(IdPrefix.PRINTER),
                org_id=org.org_id,
                name=f"printer-{i:04d}",
                status=("idle", "printing", "offline")[i % 3],
                model="Prusa i3 MK3S+",
                firmware="Marlin 2.1",
                connection_kind="octoprint",
                connection_url=f"http://10.0.{i // 250}.{i % 250}",
                octoprint_api_key="k",
                group=f"g{i % 10}",
                tags=["enclosed", f"t{i % 7}"],
                hotend_c=215.0,
                bed_c=60.0,
                progress=45.0,
                created_at=now - timedelta(seconds=PRINTERS - i),
                updated_at=now,
            )
            for i in range(PRINTERS)
        ]
        statuses = ["queued"] * QUEUED + ["completed"] * (JOBS - QUEUED - 500) + ["failed"] * 500
        jobs = [
            dict(
                id=new_id(IdPrefix.JOB),
                org_id=org.org_id,
                name=f"part-{i:05d}.gcode",
                status=status,
                priority=("low", "normal", "high", "urgent")[i % 4],
                priority_rank=i % 4,
                printer_id=printers[i % PRINTERS]["id"],
                file_id=stored.file_id,
                estimated_duration_s=3723,
                material_type="PETG",
                estimated_usage_g=3.8,
                copies=1,
                copies_done=0,
                tags=["bench"],
                created_at=now - timedelta(seconds=JOBS - i),
                updated_at=now,
            )
            for i, status in enumerate(statuses)
        ]
        async with sessions() as session:
            session.add(
                StoredFileRow(
                    id=stored.file_id,
                    org_id=org.org_id,
                    filename="bench.gcode",
                    sha256=stored.sha256,
                    size_bytes=stored.size_bytes,
                    analysis={},
                )
            )
            await session.flush()
            await session.execute(Printer.__table__.insert(), printers)  # type: ignore[attr-defined]
            await session.execute(Job.__table__.insert(), jobs)  # type: ignore[attr-defined]
            await session.commit()
        await _settle(engine)
        return org.api_key, stored.file_id
    finally:
        await engine.dispose()


async def _settle(engine: Any) -> None:
    """Statistics and visibility map as autovacuum would leave them on a database in use:
    right after a bulk load PostgreSQL has neither, so it misplans the list queries (a full
    sort instead of an index walk: 4x slower) and counts from the heap. SQLite: no-op."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE")


# -- load generator ---------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_s: list[float]
    body_bytes: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await asyncio.wait_for(reader.readexactly(length), 30)
    return status, body


def _request(method: str, path: str, key: str, body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {key}",
        "Connection: keep-alive",
    ]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _load(name: str, port: int, request: bytes, duration_s: float, ok: int) -> Result:
    latencies: list[float] = []
    errors = 0
    body_bytes = 0
    deadline = time.perf_counter() + duration_s

    async def client() -> None:
        nonlocal errors, body_bytes
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                status, body = await _one(reader, writer, request)
                latencies.append(time.perf_counter() - start)
                body_bytes = len(body)
                if status != ok:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return Result(
        name, len(latencies), time.perf_counter() - started, latencies, body_bytes, errors
    )


async def _probe(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        status, body = await _one(reader, writer, request)
    finally:
        writer.close()
    if status >= 300:
        raise SystemExit(f"probe failed ({status}): {body[:300]!r}")
    return body


async def _wait_ready(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)  # polling for the listener, bounded by the deadline


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _background_commits(database_url: str, per_s: float) -> Iterator[list[int]]:
    """A writer beside the API committing `per_s` times a second, as the bridge does when it
    stores a batch of printer states: each commit ends the life of every cached list page."""
    made = [0]
    if not per_s:
        yield made
        return
    import threading

    stop = threading.Event()
    writer = threading.Thread(
        target=_commit_sqlite if database_url.startswith("sqlite") else _commit_postgres,
        args=(database_url, per_s, stop, made),
        name="bench-commits",
        daemon=True,
    )
    writer.start()
    try:
        yield made
    finally:
        stop.set()
        writer.join(10)


def _commit_sqlite(database_url: str, per_s: float, stop: Any, made: list[int]) -> None:
    import sqlite3

    path = database_url.split("///", 1)[1]
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        (printer_id,) = conn.execute("SELECT id FROM printers LIMIT 1").fetchone()
        progress = 0.0
        while not stop.wait(1 / per_s):  # the commit rate, not a synchronisation
            progress = (progress + 0.1) % 100
            conn.execute("UPDATE printers SET progress = ? WHERE id = ?", (progress, printer_id))
            conn.commit()
            made[0] += 1


def _commit_postgres(database_url: str, per_s: float, stop: Any, made: list[int]) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(database_url, timeout=10)
        try:
            printer_id = await conn.fetchval("SELECT id FROM printers LIMIT 1")
            progress = 0.0
            while not stop.is_set():
                await asyncio.sleep(1 / per_s)  # the commit rate, not a synchronisation
                progress = (progress + 0.1) % 100
                await conn.execute(
                    "UPDATE printers SET progress = $1 WHERE id = $2", progress, printer_id
                )
                made[0] += 1
        finally:
            await conn.close(timeout=10)

    asyncio.run(run())


async def _measure(
    port: int, key: str, file_url: str, duration_s: float, only: str
) -> list[Result]:
    cases = [
        (
            "GET /v1/printers?per_page=100",
            _request("GET", "/v1/printers?per_page=100", key),
            "GET",
            200,
        ),
        ("GET /v1/jobs?status=queued", _request("GET", "/v1/jobs?status=queued", key), "GET", 200),
        (
            "POST /v1/jobs (stored file_url)",
            _request("POST", "/v1/jobs", key, json.dumps({"file_url": file_url}).encode()),
            "POST",
            201,
        ),
    ]
    results: list[Result] = []
    for label, request, method, ok in cases:
        if only not in label:
            continue
        size = len(await _probe(port, request))
        bare = _request(method, f"/bench/bare/{size}", key, b"{}" if method == "POST" else b"")
        results.append(await _load(label, port, request, duration_s, ok))
        results.append(await _load(f"  bare JSON, {size} B", port, bare, duration_s, ok))
    return results


@contextlib.contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped afterwards
    (so the bench never writes into a database someone else uses). SQLite: unchanged."""
    if not server_url.startswith(("postgresql://", "postgres://")):
        yield server_url
        return
    import asyncpg

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close(timeout=10)

    name = f"apf_bench_{secrets.token_hex(6)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=float, default=5.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--commits-per-s",
        type=float,
        default=0.0,
        help="commits per second by another connection while the endpoints are measured "
        "(the bridge storing printer states); 0: none",
    )
    parser.add_argument(
        "--only", default="", help="measure only the endpoints whose label contains this"
    )
    args = parser.parse_args()

    from cloud.settings import Settings

    with (
        tempfile.TemporaryDirectory(prefix="apf-bench-") as tmp,
        _scratch_database(args.database_url) as database_url,
    ):
        port = _free_port()
        settings = Settings(
            data_dir=tmp,
            database_url=database_url,
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            rate_limit_per_minute=1_000_000_000,
        )
        key, file_id = asyncio.run(_seed(settings))
        file_url = f"http://127.0.0.1:{port}/v1/files/{file_id}"
        ctx = multiprocessing.get_context("spawn")
        server = ctx.Process(
            target=_serve, args=(msgspec.json.encode(settings).decode(), port), daemon=True
        )
        server.start()
        try:
            asyncio.run(_wait_ready(port, 60))
            commits_url = database_url or f"sqlite:///{Path(tmp) / 'apf.sqlite3'}"
            with _background_commits(commits_url, args.commits_per_s) as commits:
                results = asyncio.run(
                    _measure(port, key, file_url, args.duration_s, args.only)
                )
        finally:
            server.terminate()
            server.join(10)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{backend}, {PRINTERS} printers, {JOBS} jobs, {CONCURRENCY} concurrent clients, "
        f"{args.duration_s:g} s per endpoint; {commits[0]} commits beside"
        f" ({args.commits_per_s:g}/s asked)"
    )
    print(f"{'endpoint':40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>7} {'errors':>6}")
    for r in results:
        print(
            f"{r.name:40} {r.rps:8.0f} {r.pct_ms(0.50):8.1f} {r.pct_ms(0.99):8.1f} "
            f"{r.body_bytes:7d} {r.errors:6d}"
        )
    for real, bare in zip(results[::2], results[1::2], strict=True):
        print(
            f"{real.name}: {100 * real.rps / bare.rps:.0f} % of the bare rate, "
            f"p99 {real.pct_ms(0.99):.1f} ms"
        )


if __name__ == "__main__":
    main()
