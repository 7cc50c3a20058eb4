"""`apf cloud serve` in a subprocess, set up through the CLI like a user would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_listener


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    api_key: str
    data_dir: Path


def cli(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apf", "cloud", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
    env.update(extra)
    return env


def prepare_in_process(data_dir: Path, database_url: str | None = None) -> str:
    """Migrate and create an organization without the CLI's start-up cost; its API key."""
    from cloud.db import migrate
    from cloud.db.engine import create_engine, session_factory
    from cloud.services.admin import create_org
    from cloud.settings import database_url_for

    async def run() -> str:
        engine = create_engine(database_url_for(database_url or "", str(data_dir)))
        try:
            await migrate.upgrade(engine)
            async with session_factory(engine)() as session:
                made = await create_org(
                    session, "Schema Farm", owner_email="o@x.test", plan="enterprise"
                )
            return made.api_key
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def running_server(
    data_dir: Path,
    *,
    database_url: str | None = None,
    env_extra: dict[str, str] | None = None,
    via_cli: bool = True,
) -> Iterator[RunningServer]:
    env = clean_env(**(env_extra or {}))
    db = ["--database-url", database_url] if database_url else []
    if via_cli:
        done = cli("migrate", "--data-dir", str(data_dir), *db, env=env)
        assert done.returncode == 0, done.stderr
        made = cli("admin", "create-org", "Schema Farm", "--plan", "enterprise",
                   "--data-dir", str(data_dir), *db, env=env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        api_key = made.stdout.strip().splitlines()[-1]
    else:
        api_key = prepare_in_process(data_dir, database_url)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apf",
            "cloud",
            "serve",
            "--data-dir",
            str(data_dir),
            *db,
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_listener("127.0.0.1", port, 30, alive=proc)
        yield RunningServer(f"http://127.0.0.1:{port}", api_key, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
