"""Everything in one process: embedded broker, cloud (API + bridge) on SQLite, one agent,
three simulated printers of different dialects, and sample jobs through the real API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from agent.sim.config import Dialect
from apf.demo.ports import api_listener

if TYPE_CHECKING:
    from agent.config import MqttSettings

log = logging.getLogger(__name__)

PRINTERS: tuple[tuple[str, Dialect, str, tuple[str, str]], ...] = (
    # name, simulator dialect, firmware profile, material loaded (type, colour)
    ("marlin-a", "marlin", "marlin", ("PLA", "Black")),
    ("prusa-b", "prusa", "prusa", ("PETG", "Orange")),
    ("klipper-c", "klipper", "klipper", ("PLA", "White")),
)
JOBS_TIMEOUT_S = 300.0
MOVE_S = 0.03
# Generous: the bridge and the webhook worker finish their database work before the API stops.
API_SHUTDOWN_TIMEOUT_S = 30.0
AGENT_SHUTDOWN_TIMEOUT_S = 15.0
# The live view redraws the farm this often; each redraw is two API calls.
VIEW_REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path
    # None: DEFAULT_API_PORT, or any free port when that one is taken; 0: any free port;
    # otherwise exactly this port, or ApiPortError (the user asked for it with --port);
    # see apf.demo.ports.
    api_port: int | None
    mqtt_port: int
    headless: bool
    # Also a simulated Bambu Lab printer, driven over its LAN protocol (docs/bambu.md).
    bambu: bool = False


@dataclass(frozen=True, slots=True)
class ServedCloud:
    base_url: str
    # The organization's first key: printed for the user; the demo itself never uses it.
    api_key: str
    # The demo's own calls (its setup, the live view's polling) go out with this key, so
    # they spend its rate limit (counted per key) and not the one of the printed key.
    demo_key: str
    # The bearer token of the cloud's Prometheus /metrics (docs/monitoring.md); "" when off.
    metrics_token: str = ""


def _stop_on_signals() -> asyncio.Event:
    """Ctrl-C / SIGTERM end the demo cleanly: every part shuts down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def say(line: str) -> None:
    print(line, flush=True)


async def run_demo(options: DemoOptions) -> int:
    from cloud.broker.embedded import embedded_broker

    # First, so a taken port the user asked for ends the demo before its data is emptied.
    listener, port_note = api_listener(options.api_port)
    with listener:
        stop = _stop_on_signals()
        if options.data_dir.exists():
            shutil.rmtree(options.data_dir)  # demo data only: each run starts fresh
        options.data_dir.mkdir(parents=True)
        mqtt_port = options.mqtt_port or free_port()
        api_port: int = listener.getsockname()[1]
        async with (
            embedded_broker(options.data_dir / "broker", "127.0.0.1", mqtt_port) as admin_url,
            serve_cloud(
                options.data_dir, api_port, admin_url, mqtt_port, listener=listener, metrics=True
            ) as cloud,
            demo_api(cloud) as api,
        ):
            for line in _header(cloud, mqtt_port, port_note):
                say(line)
            return await _farm(api, options, stop)


def _header(cloud: ServedCloud, mqtt_port: int, port_note: str) -> list[str]:
    """What the user needs to reach the farm; the note (a port that was taken) stays on
    screen above the URL it explains."""
    return [
        *([port_note] if port_note else []),
        f"API URL: {cloud.base_url}/v1",
        f"API key: {cloud.api_key}",
        f"Docs URL: {cloud.base_url}/docs",
        # The browser dashboard: signed in with the key above (docs/dashboard.md).
        f"Dashboard URL: {cloud.base_url}/",
        *(
            [
                f"Metrics: curl -H 'Authorization: Bearer {cloud.metrics_token}' "
                f"{cloud.base_url}/metrics"
            ]
            if cloud.metrics_token
            else []
        ),
        f"MQTT URL: mqtt://127.0.0.1:{mqtt_port}",
    ]


def demo_api(cloud: ServedCloud) -> httpx.AsyncClient:
    """The client of every call the demo makes itself: on its own key, not the printed one."""
    headers = {"Authorization": f"Bearer {cloud.demo_key}"}
    return httpx.AsyncClient(base_url=cloud.base_url, headers=headers, timeout=30)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the demo shuts the parts down in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_cloud(
    data_dir: Path,
    port: int,
    mqtt_url: str,
    mqtt_port: int,
    *,
    database_url: str = "",
    mqtt_ca_file: str = "",
    listener: socket.socket | None = None,
    metrics: bool = False,
) -> AsyncIterator[ServedCloud]:
    """The cloud API with its bridge, on this event loop, and an organization with two keys.

    `listener`: a socket already bound to `port` to serve on (the demo binds first to
    choose its port); without it uvicorn binds `port` itself. `metrics`: serve Prometheus
    /metrics behind a fresh token.
    """
    from cloud.app import build_context, create_app
    from cloud.auth.keys import ALL_SCOPES
    from cloud.db import migrate
    from cloud.orchestration.db import writing
    from cloud.server import KEEP_ALIVE_S
    from cloud.services.admin import add_api_key, create_org
    from cloud.settings import Settings

    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=str(data_dir / "cloud"),
        database_url=database_url,
        host="127.0.0.1",
        port=port,
        public_url=base_url,
        mqtt_url=mqtt_url,
        mqtt_host="127.0.0.1",
        mqtt_port=mqtt_port,
        mqtt_tls=mqtt_url.startswith("mqtts://"),
        mqtt_ca_file=mqtt_ca_file,
        # The demo's printers and files are all on this machine.
        allow_private_urls=True,
        metrics_token=secrets.token_urlsafe(24) if metrics else "",
    )
    ctx = build_context(settings)
    await migrate.upgrade(ctx.engine)
    async with writing(ctx) as session:
        org = await create_org(session, "Demo Farm", owner_email="owner@demo.invalid", plan="pro")
        demo_key = await add_api_key(session, org, name="demo", scopes=list(ALL_SCOPES))
    server = _QuietServer(
        uvicorn.Config(
            create_app(settings, context=ctx),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            # Through the root handler (shared/logs.py): it writes to the sys.stderr of the
            # moment, which the live view redirects above its tables.
            log_config=None,
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_S,  # as `apf cloud serve` (cloud/server.py says why)
        )
    )
    sockets = None if listener is None else [listener]
    task = asyncio.create_task(server.serve(sockets), name="cloud-api")
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (e.g. the port is taken)
            raise RuntimeError("the API server stopped while starting")
        await asyncio.sleep(0.05)  # waiting for the server's started flag
    try:
        yield ServedCloud(
            base_url=base_url,
            api_key=org.api_key,
            demo_key=demo_key,
            metrics_token=settings.metrics_token,
        )
    finally:
        server.should_exit = True
        # Not wait_for: cancelling uvicorn mid-shutdown would orphan its lifespan task (the
        # bridge and the webhook worker closing their database sessions), which the event
        # loop's teardown then cancels halfway through returning a connection to its pool.
        await _await_stopped(task, "the API server", API_SHUTDOWN_TIMEOUT_S)


async def _await_stopped(task: asyncio.Task[Any], what: str, timeout_s: float) -> None:
    """Wait for `task`, told to stop, to end; past `timeout_s` say what still runs and
    cancel it. An error it ended with is logged."""
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning(
            "%s did not stop within %.0f s; still running: %s",
            what,
            timeout_s,
            describe_pending_tasks(),
        )
        task.cancel()
        await asyncio.wait({task})
    elif (error := task.exception()) is not None:
        log.error("%s stopped with an error", what, exc_info=error)


_ASYNCIO_DIR = str(Path(asyncio.__file__).parent)


def describe_pending_tasks() -> str:
    """Each unfinished task's name and the line it waits on: what a hung shutdown waits for."""
    current = asyncio.current_task()
    described = []
    for pending in asyncio.all_tasks():
        if pending is current:
            continue
        # Follow the chain of awaits down to the innermost coroutine outside asyncio itself:
        # the line of ours (or of a library) that waits.
        awaited: Any = pending.get_coro()
        frame = None
        while awaited is not None:
            candidate = getattr(awaited, "cr_frame", None)
            if candidate is not None and _ASYNCIO_DIR not in candidate.f_code.co_filename:
                frame = candidate
            awaited = getattr(awaited, "cr_await", None)
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "not started"
        described.append(f"{pending.get_name()} at {where}")
    return "; ".join(sorted(described)) or "none"


async def _post(api: httpx.AsyncClient, url: str, **kwargs: Any) -> dict[str, Any]:
    response = await api.post(url, **kwargs)
    if response.status_code >= 300:
        raise RuntimeError(f"POST {url} failed: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def agent_mqtt_settings(registered: dict[str, Any]) -> MqttSettings:
    """The agent's broker login, from the answer to `POST /v1/agents`."""
    from agent.config import MqttSettings

    mqtt = registered["mqtt"]
    return MqttSettings(url=mqtt["url"], username=mqtt["username"], password=mqtt["password"])


async def _dashboard_lines(api: httpx.AsyncClient, org_id: str) -> list[str]:
    """A read-only MQTT login for dashboards, and how to make more."""
    created = await _post(api, "/v1/mqtt-credentials", json={"name": "demo-dashboard"})
    url = httpx.URL(created["url"].replace("mqtt://", "http://", 1))
    topic = f"apf/{org_id}/agents/+/printers/+/state"
    return [
        f"Dashboard MQTT: mosquitto_sub -h {url.host} -p {url.port} -u {created['username']} "
        f"-P {created['password']} -t '{topic}' -v",
        'More dashboard logins: curl -X POST "$APF_URL/mqtt-credentials" '
        '-H "Authorization: Bearer $APF_KEY" -d \'{"name": "my-dashboard"}\'',
    ]


async def _farm(
    api: httpx.AsyncClient,
    options: DemoOptions,
    stop_demo: asyncio.Event,
) -> int:
    from agent.config import AgentConfig
    from agent.runtime.agent import Agent
    from agent.sim import SimConfig, SimulatedPrinter
    from apf.demo.samples import BAMBU_JOBS, SAMPLE_JOBS, sample_gcode

    registered = await _post(api, "/v1/agents", json={"name": "demo-pi"})
    agent_id = registered["agent"]["id"]
    org_id = (await api.get("/v1/organization")).json()["id"]
    for line in await _dashboard_lines(api, org_id):
        say(line)
    async with contextlib.AsyncExitStack() as stack:
        for name, dialect, profile, (kind, color) in PRINTERS:
            sim = await stack.enter_async_context(
                SimulatedPrinter(
                    # Moves take time, as on a real printer, so the live view shows progress.
                    SimConfig(
                        dialect=dialect,
                        baud=250_000,
                        heat_rate_c_per_s=150.0,
                        move_s_per_block=MOVE_S,
                    )
                )
            )
            printer = await _post(
                api,
                "/v1/printers",
                json={
                    "name": name,
                    "model": f"simulated {dialect}",
                    "agent_id": agent_id,
                    "connection_url": f"serial://{sim.pty_path}?baud=250000&profile={profile}",
                    "group": "demo",
                    "tags": [dialect],
                },
            )
            await _post(
                api,
                "/v1/materials",
                json={
                    "type": kind,
                    "color": color,
                    "brand": "Demo",
                    "spool_weight": 1000,
                    "remaining_weight": 1000,
                    "cost_per_kg": 20.0,
                    "reorder_threshold": 100,
                    "printer_id": printer["id"],
                },
            )
            say(f"Printer: {name} ({dialect}) on {sim.pty_path} as {printer['id']}")
        if options.bambu:
            await _add_bambu(api, stack, agent_id)
        stop = asyncio.Event()
        agent = Agent(
            AgentConfig(
                agent_id=agent_id,
                org_id=org_id,
                data_dir=str(options.data_dir / "agent"),
                mqtt=agent_mqtt_settings(registered),
                log_level="WARNING",
            )
        )
        # Every sample job is queued before the agent connects, so the queue's order (priority,
        # then age, each on a printer with the right material) is what the view shows.
        job_ids = []
        agent_task: asyncio.Task[None] | None = None
        try:
            for job in SAMPLE_JOBS + (BAMBU_JOBS if options.bambu else ()):
                created = await _post(
                    api,
                    "/v1/jobs",
                    files={"file": (f"{job.name}.gcode", sample_gcode(job), "text/x.gcode")},
                    data={
                        "name": job.name,
                        "priority": job.priority.value,
                        "material": job.material,
                        **({"material_color": job.color} if job.color else {}),
                    },
                )
                job_ids.append(created["id"])
            say(f"Jobs: {len(job_ids)} sample jobs queued")
            agent_task = asyncio.create_task(agent.run(stop), name="agent")
            if options.headless:
                return await _wait_for_jobs(api, job_ids, stop_demo)
            await _live_view(api, stop_demo)
            say("\nDemo stopped.")
            return 0
        finally:
            stop.set()
            if agent_task is not None:
                await _await_stopped(agent_task, "the agent", AGENT_SHUTDOWN_TIMEOUT_S)


async def _add_bambu(
    api: httpx.AsyncClient, stack: contextlib.AsyncExitStack, agent_id: str
) -> None:
    """A simulated Bambu Lab printer on loopback, registered as a farm would register a real
    one: its address, serial, access code and certificate fingerprint. No spool is assigned:
    the queue learns what it holds from its AMS report."""
    from agent.sim.bambu.printer import SimulatorSettings, running_simulator

    sim = await stack.enter_async_context(
        running_simulator(
            SimulatorSettings(
                mqtt_port=0, ftps_port=0, speed=8.0, prepare_s=2.0, report_interval_s=0.5
            )
        )
    )
    where = sim.describe()
    url = (
        f"bambu://127.0.0.1:{where['mqtt_port']}?serial={where['serial']}"
        f"&ftps_port={where['ftps_port']}&fingerprint={where['fingerprint']}"
    )
    printer = await _post(
        api,
        "/v1/printers",
        json={
            "name": "bambu-d",
            "model": "simulated Bambu Lab P1S",
            "agent_id": agent_id,
            "connection_url": url,
            "api_key": where["access_code"],
            "group": "demo",
            "tags": ["bambu"],
        },
    )
    say(f"Printer: bambu-d (Bambu Lab, LAN) at 127.0.0.1:{where['mqtt_port']} as {printer['id']}")


async def _wait_for_jobs(api: httpx.AsyncClient, job_ids: list[str], stop: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOBS_TIMEOUT_S
    while loop.time() < deadline and not stop.is_set():
        statuses = {}
        for job_id in job_ids:
            statuses[job_id] = (await api.get(f"/v1/jobs/{job_id}")).json()["status"]
        failed = [j for j, s in statuses.items() if s in ("failed", "cancelled")]
        if failed:
            say(f"Result: job(s) did not complete: {', '.join(failed)}")
            return 1
        if all(s == "completed" for s in statuses.values()):
            await _say_where_jobs_printed(api, job_ids)
            say(f"Result: all {len(job_ids)} sample jobs completed")
            return 0
        await asyncio.sleep(0.5)  # polling the API with a deadline
    if stop.is_set():
        say("Result: interrupted before the sample jobs completed")
    else:
        say(f"Result: timed out after {JOBS_TIMEOUT_S:.0f}s waiting for the sample jobs")
    return 1


async def _say_where_jobs_printed(api: httpx.AsyncClient, job_ids: list[str]) -> None:
    printers = (await api.get("/v1/printers", params={"per_page": 100})).json()["data"]
    names = {p["id"]: p["name"] for p in printers}
    for job_id in job_ids:
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        say(f"Job: {job['name']} printed on {names.get(job['printer_id'], '?')}")


async def _live_view(api: httpx.AsyncClient, stop: asyncio.Event) -> None:
    """The farm, polled every VIEW_REFRESH_S until stopped, below the header already printed
    (its long lines, the API key and the MQTT command, stay whole and copyable up there)."""
    from apf.demo.view import FarmView

    with FarmView(sys.stdout) as view:
        while not stop.is_set():
            printers = (await api.get("/v1/printers", params={"per_page": 100})).json()["data"]
            jobs = await api.get("/v1/jobs", params={"per_page": 20, "sort": "-created_at"})
            view.update(printers, jobs.json()["data"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), VIEW_REFRESH_S)
