"""A real cloud process for the SDK tests: `apf cloud serve` on a free loopback port.

The SDKs are tested the way users meet the API: over HTTP against the server process, with
keys made the documented way (`apf cloud admin create-org` prints the first key on the last
line). States the API cannot reach without an agent (a printer that is printing) are set in
the database, as the MQTT bridge would set them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.ports import free_port, wait_for_listener

START_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Org:
    org_id: str
    api_key: str


def cloud_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment without any APF_* variable of the caller (the SDK's APF_API_KEY and
    APF_BASE_URL among them), plus the test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
    env.update(extra)
    return env


class CloudProcess:
    def __init__(self, data_dir: Path, settings: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.env = cloud_env(settings or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "cloud.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / 'apf.sqlite3').resolve()}"

    def _apf(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "apf.main", *args, "--data-dir", str(self.data_dir)]
        done = subprocess.run(
            cmd, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._apf("cloud", "migrate")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "apf.main",
                    "cloud",
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_listener(self.host, self.port, START_TIMEOUT_S, alive=self._proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"the cloud did not start; log:\n{self.log_text()}") from None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        # A write the server sent to SQLite without its write lock (cloud/db/writer.py).
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        unlocked = [line for line in log.splitlines() if "without the cloud's write lock" in line]
        assert not unlocked, "\n".join(unlocked)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return "(no log)"

    def create_org_cli(self, name: str, plan: str = "pro") -> str:
        """The documented path: the first API key alone on the last line of stdout."""
        out = self._apf("cloud", "admin", "create-org", name, "--plan", plan).stdout
        return out.strip().splitlines()[-1].strip()

    def create_org(self, name: str, plan: str = "pro", scopes: list[str] | None = None) -> Org:
        """A new organization and a key with ``scopes`` (all when None), made in-process."""

        async def make(session: Any) -> Org:
            from cloud.services.admin import create_org, new_api_key

            created = await create_org(session, name, owner_email=f"owner@{name}.test", plan=plan)
            if scopes is None:
                return Org(created.org_id, created.api_key)
            row, secret = new_api_key(
                created.org_id, scopes=scopes, user_id=created.user_id, name="limited"
            )
            session.add(row)
            await session.commit()
            return Org(created.org_id, secret)

        result: Org = self.run_db(make)
        return result

    def run_db(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``fn(session)`` on the cloud's database and commit (test setup only)."""

        async def run() -> Any:
            from cloud.db.engine import create_engine, session_factory

            engine = create_engine(self.database_url, pool_size=1)
            try:
                async with session_factory(engine)() as session:
                    result = await fn(session)
                    await session.commit()
                    return result
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def set_printer_state(self, printer_id: str, **columns: Any) -> None:
        """Write printer columns as the MQTT bridge would (status, agent_id, …)."""

        async def write(session: Any) -> None:
            from sqlalchemy import update

            from cloud.db.models import Printer

            table = Printer.__table__  # type: ignore[attr-defined]
            await session.execute(update(table).where(table.c.id == printer_id).values(**columns))

        self.run_db(write)

    def start_copy(self, job_id: str, printer_id: str, agent_id: str) -> None:
        """The job's first copy printing on the printer, as the queue's claim and the
        agent's job.started leave it: the job printing there, its run active."""

        async def write(session: Any) -> None:
            from cloud.db.models import Job
            from cloud.db.types import utcnow
            from cloud.ids import IdPrefix, new_id
            from cloud.lifecycle.states import RunStatus
            from cloud.orchestration.tables import PrintRun
            from shared.enums import JobStatus

            job = await session.get(Job, job_id)
            job.status, job.printer_id = JobStatus.PRINTING.value, printer_id
            job.started_at = utcnow()
            session.add(
                PrintRun(
                    id=new_id(IdPrefix.PRINT),
                    org_id=job.org_id,
                    job_id=job_id,
                    printer_id=printer_id,
                    agent_id=agent_id,
                    command_id=new_id(IdPrefix.COMMAND),
                    status=RunStatus.PRINTING.value,
                    assigned_at=utcnow(),
                    started_at=utcnow(),
                )
            )

        self.run_db(write)

    def create_agent(self, org_id: str, name: str = "pi") -> str:
        """An agent row, online, so printers can name it (as `apf agent` enrolment would)."""

        async def write(session: Any) -> str:
            from cloud.db.models import Agent
            from cloud.ids import IdPrefix, new_id

            agent_id = new_id(IdPrefix.AGENT)
            session.add(
                Agent(
                    id=agent_id,
                    org_id=org_id,
                    name=name,
                    mqtt_username=f"u-{agent_id}",
                    state="online",
                )
            )
            return agent_id

        result: str = self.run_db(write)
        return result
