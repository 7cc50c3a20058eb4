"""Dashboard benchmark: how soon the Farm page shows every printer, and how much of the
browser's main thread it takes while all of them report telemetry.

    .venv/bin/python bench/dashboard.py [--printers 100] [--jobs 1000] [--seconds 30] [--loads 5]
    .venv/bin/python bench/dashboard.py --together   # every printer's telemetry at once

All on loopback: a real broker on a free port (Mosquitto with its dynamic-security plugin
where installed, else the embedded one: tests/support/broker.py); the cloud in a process of
its own (`create_app` on uvicorn + uvloop + httptools, as `apf cloud serve` runs it) with its
bridge and live feed logged in to that broker, on SQLite in a temp folder; Debian's Chromium,
headless, with tests/support/browser.py's flags (no name resolves but the loopback ones).
One organization holds the printers, all of one agent, and the jobs, inserted in bulk: half
the printers print or pause a job (with its print run, so the API names it `current_job`),
the rest are idle, in error or offline; the other jobs are queued (for PETG, which no printer
has loaded, so the queue starts none of them during the run), completed, failed or cancelled.
The agent's status and each printer's state are published once, retained, as an agent does.

1. First paint. The browser signs in once with the organization's key (the session cookie),
   then opens /farm `--loads` times in new pages of that context (the files revalidated from
   its cache, as for a returning user) and as many times in fresh contexts holding only the
   cookie (nothing cached: a first visit). Per load, from navigation start (the page's
   `performance.now()`): First Contentful Paint, every card in the DOM (a MutationObserver
   added before the page's own scripts run) and the next frame (the cards drawn).
   Target: every card in the DOM within 1 s.
2. Live load. One /farm page with its live feed open; every connected printer sends
   telemetry at 1 Hz for `--seconds` on its real topic in the wire format (published with
   the broker's administrator login), printer k of n at k/n of each second, as agents send
   it (a telemetry loop per printer, each on its own phase); `--together`: all of them at
   the start of each second. The renderer's main thread, by Chromium's own counters (CDP
   `Performance.getMetrics`) at both ends of the window: busy % = delta TaskDuration /
   delta wall time; script, layout and style recalculation likewise; and TaskDuration in
   thread time (a preempted task stops that clock: what a busy machine adds is left out).
   Checked after: each of those cards shows its printer's last hotend temperature.
   Target: busy under 20 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiomqtt
import msgspec

from shared import wire
from shared.enums import AgentState, JobStatus, PrinterStatus, Priority
from tests.support.broker import TestBroker, make_broker
from tests.support.browser import chromium
from tests.support.ports import free_port, wait_for_listener

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, CDPSession, Page, ViewportSize

SAMPLE = Path(__file__).resolve().parent.parent / "tests/shared/gcode_samples/prusaslicer.gcode"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
CARD = '[data-testid="printer-card"]'
WAIT_MS = 30_000  # any one step in the browser; a loaded 2-core machine is slow
SETTLE_S = 3.0  # after the live page loads: its second list load (on `hello`) is not counted
SHOWN_TIMEOUT_S = 10.0
# Printer i's status is PATTERN[i % 20]: 40 % printing, 10 % paused, 40 % idle, 5 % in
# error, 5 % offline. The jobs besides the printers' own: JOB_PATTERN[j % 20].
PATTERN = [PrinterStatus.PRINTING] * 8 + [PrinterStatus.PAUSED] * 2 + [PrinterStatus.IDLE] * 8
PATTERN += [PrinterStatus.ERROR, PrinterStatus.OFFLINE]
JOB_PATTERN = [JobStatus.QUEUED] * 8 + [JobStatus.COMPLETED] * 9 + [JobStatus.FAILED] * 2
JOB_PATTERN += [JobStatus.CANCELLED]
ESTIMATE_S = 3723
# Added before the page's scripts run: when every card is in the DOM, and the frame after
# (the farm inserts cards in a requestAnimationFrame callback, so the next one runs after
# the frame that drew them). The page's CSP forbids eval, not a script the browser injects.
OBSERVER_JS = """(() => {
  const marks = (window.__apfBench = {});
  const observer = new MutationObserver(() => {
    if (document.querySelectorAll('%s').length < %d) return;
    marks.dom = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { marks.drawn = performance.now(); });
  });
  observer.observe(document, { childList: true, subtree: true });
})();"""
MARKS_JS = """() => {
  const marks = window.__apfBench || {};
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return marks.drawn === undefined ? null
    : { fcp: fcp ? fcp.startTime : null, dom: marks.dom, drawn: marks.drawn };
}"""
HOTENDS_JS = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map(
  (card) => [card.dataset.printerId, card.querySelector('.temp-hotend').textContent]))"""


@dataclass(frozen=True, slots=True)
class Seeded:
    api_key: str
    org_id: str
    agent_id: str
    printers: list[tuple[str, PrinterStatus, str | None]]  # id, status, its job's id
    jobs: dict[str, int]  # status -> count


@dataclass(frozen=True, slots=True)
class Load:
    fcp_ms: float
    dom_ms: float
    drawn_ms: float


@dataclass(frozen=True, slots=True)
class Live:
    seconds: float
    metrics: dict[str, float]  # the counters' growth over the window, in seconds
    cpu: dict[str, float]  # the same counters in thread time (a preempted task stops them)
    published: int
    senders: int
    shown: int  # cards showing their printer's last telemetry


@dataclass(frozen=True, slots=True)
class Figures:
    browser: str
    cached: list[Load]
    uncached: list[Load]
    live: Live


# -- the cloud --------------------------------------------------------------------------------
def _serve(settings_json: str, port: int) -> None:
    import uvicorn

    from cloud.app import create_app
    from cloud.server import freeze_startup_heap
    from cloud.settings import Settings

    app = create_app(msgspec.json.decode(settings_json, type=Settings))
    app.on_startup.append(freeze_startup_heap)  # as cloud.server's factory does
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,  # a live stream never ends by itself
    )


async def _seed(settings: Any, n_printers: int, n_jobs: int) -> Seeded:
    """Migrate; an organization, its agent, one stored G-code file; printers and jobs."""
    from cloud.db import migrate
    from cloud.db.core import table_of
    from cloud.db.engine import create_engine, session_factory
    from cloud.db.models import Agent, Job, Printer, StoredFileRow
    from cloud.files import GcodeStore
    from cloud.ids import IdPrefix, new_id
    from cloud.orchestration.tables import PrintRun
    from cloud.services.admin import create_org

    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            org = await create_org(session, "Bench", owner_email="b@x.test", plan="enterprise")

        async def chunks() -> AsyncIterator[bytes]:
            yield SAMPLE.read_bytes()

        stored = await GcodeStore(settings.files_dir).save_stream(
            chunks(), filename="bench.gcode", max_bytes=1 << 20
        )
        agent = Agent(
            id=new_id(IdPrefix.AGENT),
            org_id=org.org_id,
            name="bench-agent",
            mqtt_username=f"bench-{secrets.token_hex(4)}",
        )
        printers, jobs, runs = _rows(org.org_id, agent.id, stored.file_id, n_printers, n_jobs)
        async with sessions() as session:
            session.add(
                StoredFileRow(
                    id=stored.file_id,
                    org_id=org.org_id,
                    filename="bench.gcode",
                    sha256=stored.sha256,
                    size_bytes=stored.size_bytes,
                    analysis=msgspec.to_builtins(stored.analysis),
                )
            )
            session.add(agent)
            await session.flush()
            for model, rows in ((Printer, printers), (Job, jobs), (PrintRun, runs)):
                if rows:
                    await session.execute(table_of(model).insert(), rows)
            await session.commit()
    finally:
        await engine.dispose()
    active = {run["printer_id"]: run["job_id"] for run in runs}
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    return Seeded(
        org.api_key,
        org.org_id,
        agent.id,
        [(p["id"], PrinterStatus(p["status"]), active.get(p["id"])) for p in printers],
        counts,
    )


def _rows(
    org_id: str, agent_id: str, file_id: str, n_printers: int, n_jobs: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Printers; the jobs, first those the printing and paused printers are on (each with
    its print run), then the rest by JOB_PATTERN; the runs."""
    from cloud.ids import IdPrefix, new_id

    now = datetime.now(UTC)
    printers = [
        _printer_row(new_id(IdPrefix.PRINTER), i, PATTERN[i % len(PATTERN)], now)
        | {"org_id": org_id, "agent_id": agent_id}
        for i in range(n_printers)
    ]
    jobs: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for i, printer in enumerate(printers):
        if len(jobs) < n_jobs and printer["status"] in ("printing", "paused"):
            job = _job_row(new_id(IdPrefix.JOB), i, JobStatus(printer["status"]), now)
            jobs.append(job | {"printer_id": printer["id"]})
            runs.append(_run_row(new_id(IdPrefix.PRINT), jobs[-1], agent_id, org_id))
    for j in range(len(jobs), n_jobs):
        jobs.append(_job_row(new_id(IdPrefix.JOB), j, JOB_PATTERN[j % len(JOB_PATTERN)], now))
    for n, job in enumerate(jobs, 1):
        job.update(org_id=org_id, file_id=file_id, name=f"part-{n:04d}.gcode")
    return printers, jobs, runs


def _printer_row(printer_id: str, i: int, status: PrinterStatus, now: datetime) -> dict[str, Any]:
    hot = status in (PrinterStatus.PRINTING, PrinterStatus.PAUSED)
    return dict(
        id=printer_id,
        name=f"printer-{i + 1:03d}",
        status=status.value,
        model="Prusa i3 MK3S+",
        firmware="Marlin 2.1.2",
        connection_kind="serial",
        connection_url=f"serial:///dev/ttyFAKE{i}?baud=115200&profile=prusa",
        group=f"rack-{i % 4 + 1}",
        tags=["bench"],
        hotend_c=215.0 if hot else 25.0,
        bed_c=60.0 if hot else 24.0,
        progress=_progress(i, 0) if hot else None,
        reported_materials=[] if status is PrinterStatus.OFFLINE else [_material(i)],
        created_at=now - timedelta(seconds=i),
    )


def _job_row(job_id: str, i: int, status: JobStatus, now: datetime) -> dict[str, Any]:
    priority = list(Priority)[i % len(Priority)]
    active = status in (JobStatus.PRINTING, JobStatus.PAUSED)
    done = status.is_final
    started = now - timedelta(minutes=30 + i % 60) if active or done else None
    return dict(
        id=job_id,
        status=status.value,
        priority=priority.value,
        priority_rank=priority.rank,
        printer_id=None,  # set for the printers' own jobs (one key set for executemany)
        progress=_progress(i, 0) if active else (100.0 if status is JobStatus.COMPLETED else None),
        estimated_duration_s=ESTIMATE_S,
        elapsed_time_s=int(ESTIMATE_S * _progress(i, 0) / 100) if active else None,
        # Queued for PETG, which no printer has loaded: the queue leaves them queued.
        material_type="PLA" if active or done else "PETG",
        estimated_usage_g=3.8,
        tags=["bench"],
        failure_reason="Thermal runaway" if status is JobStatus.FAILED else None,
        created_at=now - timedelta(hours=2, seconds=i),
        updated_at=now,
        started_at=started,
        completed_at=now - timedelta(minutes=i % 30) if done else None,
    )


def _run_row(run_id: str, job: dict[str, Any], agent_id: str, org_id: str) -> dict[str, Any]:
    return dict(
        id=run_id,
        org_id=org_id,
        command_id=run_id.replace("prn_", "cmd_"),  # the start command, never sent here
        job_id=job["id"],
        printer_id=job["printer_id"],
        agent_id=agent_id,
        status=job["status"],
        assigned_at=job["started_at"],
        started_at=job["started_at"],
        progress=job["progress"],
    )


def _progress(i: int, tick: int) -> float:
    return min(99.0, 5.0 + (i * 7) % 85 + tick * 0.05)


def _material(i: int) -> dict[str, Any]:
    return {"slot": "external", "type": "PLA", "color": "#1E90FF", "remaining_pct": 80.0 - i % 60}


# -- the agent, simulated ---------------------------------------------------------------------
async def _publish_states(client: aiomqtt.Client, seeded: Seeded) -> None:
    """The agent online, and each printer's state, retained, as the agent publishes them."""
    now = datetime.now(UTC)
    status = wire.AgentStatus(
        state=AgentState.ONLINE,
        session=1,
        agent_version="bench",
        ts=now,
        printer_ids=[p for p, _, _ in seeded.printers],
    )
    topic = wire.status_topic(seeded.org_id, seeded.agent_id)
    await client.publish(topic, wire.encode(status), qos=1, retain=True)
    for i, (printer_id, status_, job_id) in enumerate(seeded.printers):
        hot = job_id is not None
        state = wire.PrinterState(
            printer_id=printer_id,
            status=status_,
            connected=status_ is not PrinterStatus.OFFLINE,
            ts=now,
            session=1,
            firmware="Marlin 2.1.2",
            temperatures=_temperatures(hot, 215.0 if hot else 25.0),
            job=_job_state(i, job_id, 0),
            message="Thermal runaway on the hotend" if status_ is PrinterStatus.ERROR else None,
            materials=[]
            if status_ is PrinterStatus.OFFLINE
            else [msgspec.convert(_material(i), wire.LoadedMaterial)],
        )
        topic = wire.printer_state_topic(seeded.org_id, seeded.agent_id, printer_id)
        await client.publish(topic, wire.encode(state), qos=1, retain=True)


def _temperatures(hot: bool, hotend_c: float) -> wire.Temperatures:
    if hot:
        return wire.Temperatures(hotend=hotend_c, hotend_target=215.0, bed=60.0, bed_target=60.0)
    return wire.Temperatures(hotend=hotend_c, hotend_target=0.0, bed=24.0, bed_target=0.0)


def _job_state(i: int, job_id: str | None, tick: int) -> wire.JobState | None:
    if job_id is None:
        return None
    progress = _progress(i, tick)
    done_s = ESTIMATE_S * progress / 100
    return wire.JobState(
        job_id=job_id, progress=progress, elapsed_s=done_s, remaining_s=ESTIMATE_S - done_s
    )


def _hotend(i: int, tick: int, hot: bool) -> float:
    # Whole degrees, never the state's 215 / 25: every tick changes the text a card shows.
    return float((200 if hot else 20) + (tick + i) % 5)


async def _send_telemetry(
    client: aiomqtt.Client, seeded: Seeded, seconds: int, together: bool
) -> tuple[int, dict[str, str]]:
    """1 Hz per connected printer, printer k of n at k/n of each second (an agent runs a
    telemetry loop per printer, each on its own phase), or all at the start of each second
    (`together`). Returns how many were published and the hotend text each card should
    show at the end."""
    senders = [
        (i, printer_id, job_id)
        for i, (printer_id, status, job_id) in enumerate(seeded.printers)
        if status is not PrinterStatus.OFFLINE
    ]
    loop = asyncio.get_running_loop()
    start = loop.time()
    published = 0
    expected: dict[str, str] = {}
    for tick in range(seconds):
        for k, (i, printer_id, job_id) in enumerate(senders):
            # The send schedule of simulated agents, not a synchronisation.
            phase = 0.0 if together else k / len(senders)
            await asyncio.sleep(max(0.0, start + tick + phase - loop.time()))
            hot = job_id is not None
            hotend_c = _hotend(i, tick, hot)
            message = wire.Telemetry(
                printer_id=printer_id,
                ts=datetime.now(UTC),
                temperatures=_temperatures(hot, hotend_c),
                job=_job_state(i, job_id, tick),
            )
            topic = wire.telemetry_topic(seeded.org_id, seeded.agent_id, printer_id)
            await client.publish(topic, wire.encode(message), qos=0)
            published += 1
            # As card.js writes it: actual / target, or "(off)" for a target of 0.
            expected[printer_id] = f"{hotend_c:.0f} / 215 °C" if hot else f"{hotend_c:.0f} °C (off)"
    await asyncio.sleep(max(0.0, start + seconds - loop.time()))  # the window's full length
    return published, expected


# -- the browser ------------------------------------------------------------------------------
async def _until(page: Page, script: str, timeout_s: float) -> Any:
    """Poll a page function (the CSP forbids Playwright's own wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    while (value := await page.evaluate(script)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page never answered {script[:60]!r}")
        await asyncio.sleep(0.05)  # polling the page, bounded by the deadline
    return value


async def _all_cards(page: Page, count: int) -> None:
    await page.locator(CARD).nth(count - 1).wait_for(state="attached", timeout=WAIT_MS)


async def _sign_in(browser: Browser, base_url: str, key: str, count: int) -> BrowserContext:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto(f"{base_url}/sign-in", timeout=WAIT_MS)
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await _all_cards(page, count)
    await page.close()
    return context


async def _load_once(context: BrowserContext, url: str, count: int) -> Load:
    page = await context.new_page()
    try:
        await page.add_init_script(OBSERVER_JS % (CARD, count))
        await page.goto(url, timeout=WAIT_MS)
        await _all_cards(page, count)
        marks = await _until(page, MARKS_JS, WAIT_MS / 1000)
        return Load(marks["fcp"] or float("nan"), marks["dom"], marks["drawn"])
    finally:
        await page.close()


async def _loads(
    browser: Browser, signed_in: BrowserContext, url: str, count: int, n: int
) -> tuple[list[Load], list[Load]]:
    """`n` loads in new pages of the signed-in context, then `n` in fresh contexts that
    hold its cookie and nothing else."""
    cached = [await _load_once(signed_in, url, count) for _ in range(n)]
    cookie_only = await signed_in.storage_state()
    uncached = []
    for _ in range(n):
        fresh = await browser.new_context(viewport=VIEWPORT, storage_state=cookie_only)
        try:
            uncached.append(await _load_once(fresh, url, count))
        finally:
            await fresh.close()
    return cached, uncached


async def _metrics(cdp: CDPSession) -> dict[str, float]:
    answer = await cdp.send("Performance.getMetrics")
    return {m["name"]: float(m["value"]) for m in answer["metrics"]}


async def _live(
    context: BrowserContext,
    url: str,
    broker: TestBroker,
    seeded: Seeded,
    *,
    seconds: int,
    together: bool,
) -> Live:
    page = await context.new_page()
    await page.goto(url, timeout=WAIT_MS)
    await _all_cards(page, len(seeded.printers))
    live = page.locator("#live-status").filter(has_text=re.compile("^Live$"))
    await live.wait_for(timeout=WAIT_MS)
    await asyncio.sleep(SETTLE_S)  # let the load's own work end (see SETTLE_S)
    wall = await context.new_cdp_session(page)
    await wall.send("Performance.enable", {"timeDomain": "timeTicks"})
    cpu = await context.new_cdp_session(page)
    await cpu.send("Performance.enable", {"timeDomain": "threadTicks"})
    async with aiomqtt.Client(**broker.client_kwargs(), identifier="bench-telemetry") as client:
        before = (await _metrics(wall), await _metrics(cpu))
        published, expected = await _send_telemetry(client, seeded, seconds, together)
        after = (await _metrics(wall), await _metrics(cpu))
    shown = await _cards_showing(page, expected)
    await page.close()
    grown = [
        {k: end[k] - start.get(k, 0.0) for k in end}
        for start, end in zip(before, after, strict=True)
    ]
    return Live(grown[0]["Timestamp"], grown[0], grown[1], published, len(expected), shown)


async def _cards_showing(page: Page, expected: dict[str, str]) -> int:
    """How many cards show the hotend text expected of them; the last second's items may
    still be on their way, so up to SHOWN_TIMEOUT_S."""
    deadline = time.monotonic() + SHOWN_TIMEOUT_S
    while True:
        texts: dict[str, str] = await page.evaluate(HOTENDS_JS, CARD)
        shown = sum(texts.get(pid) == text for pid, text in expected.items())
        if shown == len(expected) or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(0.1)  # polling the page, bounded by the deadline


async def _measure(base_url: str, broker: TestBroker, seeded: Seeded, args: Any) -> Figures:
    count = len(seeded.printers)
    async with aiomqtt.Client(**broker.client_kwargs(), identifier="bench-agent") as client:
        await _publish_states(client, seeded)
    async with chromium() as browser:
        signed_in = await _sign_in(browser, base_url, seeded.api_key, count)
        url = f"{base_url}/farm"
        cached, uncached = await _loads(browser, signed_in, url, count, args.loads)
        live = await _live(
            signed_in, url, broker, seeded, seconds=args.seconds, together=args.together
        )
        await signed_in.close()
        return Figures(browser.version, cached, uncached, live)


# -- the run ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _cloud(settings: Any, port: int) -> Iterator[None]:
    """The cloud in a process of its own (the bench's own event loop drives the browser)."""
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(
        target=_serve, args=(msgspec.json.encode(settings).decode(), port), daemon=True
    )
    server.start()
    try:
        wait_for_listener("127.0.0.1", port, 60)
        yield
    finally:
        server.terminate()
        server.join(15)
        if server.is_alive():
            server.kill()
            server.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--printers", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30, help="the live-load window")
    parser.add_argument("--loads", type=int, default=5, help="page loads of each kind")
    parser.add_argument(
        "--together",
        action="store_true",
        help="every printer's telemetry at the same instant of each second, not spread",
    )
    args = parser.parse_args()
    if min(args.printers, args.seconds, args.loads) < 1 or args.jobs < 0:
        parser.error("--printers, --seconds and --loads must be at least 1, --jobs at least 0")

    from cloud.settings import Settings

    load_before = os.getloadavg()[0]
    # Everything the bench waits for has its own timeout; this bounds the whole.
    budget_s = 180 + args.seconds + 20 * args.loads
    with tempfile.TemporaryDirectory(prefix="apf-bench-") as tmp:
        (Path(tmp) / "broker").mkdir()
        # Started here, on loopback: a broker named by APF_TEST_MQTT_URL is never used.
        kind = "mosquitto" if shutil.which("mosquitto") else "embedded"
        broker = make_broker(Path(tmp) / "broker", kind=kind)
        broker.start()
        try:
            port = free_port()
            settings = Settings(
                data_dir=str(Path(tmp) / "cloud"),
                host="127.0.0.1",
                port=port,
                public_url=f"http://127.0.0.1:{port}",
                mqtt_url=broker.url,
                mqtt_host="127.0.0.1",
                mqtt_port=broker.agent_port,
            )
            seeded = asyncio.run(_seed(settings, args.printers, args.jobs))
            with _cloud(settings, port):
                figures = asyncio.run(
                    asyncio.wait_for(
                        _measure(settings.public_url, broker, seeded, args),
                        budget_s,
                    )
                )
        finally:
            broker.stop()
    _report(args, seeded, broker.kind, figures, (load_before, os.getloadavg()[0]))


def _report(
    args: Any, seeded: Seeded, broker: str, figures: Figures, load: tuple[float, float]
) -> None:
    jobs = ", ".join(f"{n} {status}" for status, n in sorted(seeded.jobs.items()))
    print(
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} before, {load[1]:.2f} after; "
        f"Chromium {figures.browser} headless; {broker} broker; SQLite"
    )
    print(f"{len(seeded.printers)} printers, {sum(seeded.jobs.values())} jobs ({jobs})")
    print(f"/farm, {args.loads} loads each, ms from navigation start, median / max:")
    for label, loads in (
        ("signed in, files cached", figures.cached),
        ("first visit", figures.uncached),
    ):
        fcp, dom, drawn = ([getattr(x, f) for x in loads] for f in ("fcp_ms", "dom_ms", "drawn_ms"))
        print(
            f"  {label:24} first contentful paint {_mm(fcp)}; "
            f"{len(seeded.printers)} cards in the DOM {_mm(dom)}; drawn {_mm(drawn)}"
        )
    live = figures.live
    pct = {k: 100 * v / live.seconds for k, v in live.metrics.items()}
    cpu_pct = 100 * live.cpu["TaskDuration"] / live.seconds
    when = "all at the start of each second" if args.together else "spread over each second"
    print(
        f"live: {live.senders} printers x 1 Hz telemetry ({when}) for {args.seconds} s: "
        f"{live.published} messages published; {live.shown}/{live.senders} cards show "
        "their printer's last one"
    )
    print(
        f"  renderer main thread busy {pct['TaskDuration']:.1f} % of {live.seconds:.1f} s "
        f"(script {pct['ScriptDuration']:.1f} %, layout {pct['LayoutDuration']:.1f} %, "
        f"style {pct['RecalcStyleDuration']:.1f} %); in thread CPU time {cpu_pct:.1f} %; "
        f"{live.metrics.get('LayoutCount', 0) / live.seconds:.0f} layouts/s"
    )
    dom_max = max(x.dom_ms for x in figures.cached + figures.uncached)
    print(
        f"targets: cards in the DOM under 1000 ms: {'met' if dom_max < 1000 else 'MISSED'}; "
        f"busy under 20 %: {'met' if pct['TaskDuration'] < 20 else 'MISSED'}"
    )


def _mm(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {max(values):.0f}"


if __name__ == "__main__":
    main()
