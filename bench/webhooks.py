"""Webhook delivery benchmark: deliveries per second from one cloud process.

    .venv/bin/python bench/webhooks.py                      # SQLite, 200 events x 50 endpoints
    .venv/bin/python bench/webhooks.py --events 400 --database-url postgresql://...

An organization has 50 endpoints, all subscribed to `job.*`, on one local receiver (a
minimal HTTP/1.1 keep-alive server in its own process, so its CPU is not charged to the
cloud). The events are written to the event log first; then one `WebhookWorker` (the one the
app runs, default settings: 64 in flight, 15 s timeout) starts, and the clock runs until every
delivery is recorded as succeeded: fan-out, claim, sign, POST, and the attempt log, all
included. Reported: deliveries/s, and the p50/p99 of the attempt latencies it logged.
Target: >= 300 deliveries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ENDPOINTS = 50


def _receiver_main(conn: Connection) -> None:
    """Answer 204 to everything, with keep-alive; report the port through `conn`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


async def run(database_url: str | None, events: int, data_dir: Path, port: int) -> None:
    from cloud.db import migrate
    from cloud.db.engine import create_engine, is_sqlite, session_factory
    from cloud.db.writer import WriteLock
    from cloud.sealing import SecretBox
    from cloud.settings import database_url_for
    from cloud.webhooks.config import WebhookConfig
    from cloud.webhooks.tables import SUCCEEDED, WebhookAttempt, WebhookDelivery
    from cloud.webhooks.worker import WebhookWorker

    url = database_url_for(database_url or "", str(data_dir))
    engine = create_engine(url)
    sessions = session_factory(engine)
    box = SecretBox(bytes(32))  # a fixed key: the bench's secrets guard nothing
    try:
        await migrate.upgrade(engine)
        await _setup(sessions, box, events, port)
        total = events * ENDPOINTS
        config = WebhookConfig(allow_private_urls=True)
        started = time.perf_counter()
        cpu_started = time.process_time()
        lock = WriteLock(enabled=is_sqlite(url))
        async with WebhookWorker(sessions, config, box=box, write_lock=lock) as worker:
            while worker.recorded < total:
                await asyncio.sleep(0.05)  # progress poll of a benchmark, not synchronisation
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"stuck: {worker.recorded}/{total} recorded")
            elapsed = time.perf_counter() - started
            cpu_s = time.process_time() - cpu_started
        async with sessions() as session:
            done = await session.scalar(
                select(func.count()).where(WebhookDelivery.status == SUCCEEDED)  # type: ignore[arg-type]
            )
            latencies = sorted(
                (await session.execute(select(WebhookAttempt.latency_ms))).scalars()  # type: ignore[call-overload]
            )
        backend = "PostgreSQL" if database_url else "SQLite"
        print(f"{backend}: {total} deliveries ({events} events x {ENDPOINTS} endpoints)")
        print(f"  succeeded: {done}, attempts logged: {len(latencies)}")
        print(f"  elapsed:   {elapsed:.2f} s  ->  {total / elapsed:.0f} deliveries/s")
        print(f"  CPU:       {cpu_s:.2f} s ({cpu_s / total * 1000:.2f} ms per delivery)")
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"  attempt latency p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms")
    finally:
        await engine.dispose()


async def _setup(sessions: Any, box: Any, events: int, port: int) -> None:
    """An organization, 50 endpoints on the receiver, and `events` job events in the log."""
    from autoprintfarm.signature import generate_secret
    from cloud.services.admin import create_org
    from cloud.services.events import record_event
    from cloud.webhooks.secrets import webhook_secret_purpose
    from cloud.webhooks.tables import WebhookEndpoint
    from shared.enums import EventType

    async with sessions() as session:
        org = await create_org(session, "Bench", owner_email="b@x.test", plan="enterprise")
        for i in range(ENDPOINTS):
            session.add(
                WebhookEndpoint(
                    id=f"whk_bench{i:03d}",
                    org_id=org.org_id,
                    url=f"http://127.0.0.1:{port}/hook/{i}",
                    events=["job.*"],
                    secret_sealed=box.seal(
                        generate_secret(), webhook_secret_purpose(f"whk_bench{i:03d}")
                    ),
                )
            )
        await session.commit()
    async with sessions() as session:
        for i in range(events):
            job = {"id": f"job_{i}", "name": f"part-{i}.gcode", "status": "completed"}
            record_event(session, org.org_id, EventType.JOB_COMPLETED, job["id"], {"job": job})
        await session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="a fresh PostgreSQL database")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=_receiver_main, args=(child,), daemon=True)
    receiver.start()
    try:
        if not parent.poll(10):
            raise SystemExit("the receiver did not start")
        port = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args.database_url, args.events, Path(tmp), port))
    finally:
        receiver.terminate()
        receiver.join(5)


if __name__ == "__main__":
    main()
