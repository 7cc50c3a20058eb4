"""Two cloud processes on one PostgreSQL and one Mosquitto: every job printed exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from agent.config import AgentConfig, MqttSettings
from agent.runtime.agent import Agent
from agent.sim import SimConfig, SimulatedPrinter
from tests.support.broker import TestBroker
from tests.support.replicas import REPO, cloud_replica

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

JOBS = 50
PRINTERS = 6


def apf(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apf", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def job_gcode(n: int) -> bytes:
    # M117 puts a message on the printer's display; the simulator records it, so each job's
    # line shows where, and how many times, it was printed.
    lines = ["G90", "M83", f"M117 job-{n}"] + [
        f"G1 X{i % 50} Y{n % 50} E0.1 F3000" for i in range(30)
    ]
    return ("\n".join(lines) + "\n").encode()


async def test_two_replicas_print_every_job_exactly_once(
    mqtt_broker: TestBroker, postgres_url: str, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_shared_subscriptions:
        pytest.skip(f"{mqtt_broker.kind} has no shared subscriptions")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
    env.update(
        {
            "APF_DATABASE_URL": postgres_url,
            "APF_DATA_DIR": str(tmp_path / "shared-data"),
            "APF_MQTT_URL": mqtt_broker.url,
            "APF_MQTT_SHARED_GROUP": "cloud",
            "APF_ALLOW_PRIVATE_URLS": "1",
            "APF_SIGNING_KEY": "k" * 40,
            "APF_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    await asyncio.to_thread(apf, "cloud", "migrate", env=env)
    created = await asyncio.to_thread(apf, "cloud", "admin", "create-org", "Replicas", env=env)
    key = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    with (
        cloud_replica(env, tmp_path / "a.log") as replica_a,
        cloud_replica(env, tmp_path / "b.log") as replica_b,
    ):
        async with (
            httpx.AsyncClient(base_url=replica_a.url, headers=headers, timeout=30) as a,
            httpx.AsyncClient(base_url=replica_b.url, headers=headers, timeout=30) as b,
            contextlib.AsyncExitStack() as stack,
        ):
            agent_id = (await a.post("/v1/agents", json={"name": "pi"})).json()["agent"]["id"]
            org_id = (await a.get("/v1/organization")).json()["id"]
            sims = []
            for i in range(PRINTERS):
                sim = await stack.enter_async_context(
                    SimulatedPrinter(
                        SimConfig(dialect="marlin", baud=None, heat_rate_c_per_s=500.0)
                    )
                )
                sims.append(sim)
                r = await (a if i % 2 else b).post(
                    "/v1/printers",
                    json={
                        "name": f"p{i}",
                        "agent_id": agent_id,
                        "connection_url": f"serial://{sim.pty_path}?profile=marlin",
                    },
                )
                assert r.status_code == 201, r.text
            stop = asyncio.Event()
            config = AgentConfig(
                agent_id=agent_id,
                org_id=org_id,
                data_dir=str(tmp_path / "agent"),
                mqtt=MqttSettings(url=mqtt_broker.url),
            )
            agent = Agent(config)
            agent_task = asyncio.create_task(agent.run(stop))
            try:
                job_ids = []
                for n in range(JOBS):
                    r = await (a if n % 2 else b).post(
                        "/v1/jobs",
                        files={"file": (f"j{n}.gcode", job_gcode(n))},
                        data={"name": f"job-{n}"},
                    )
                    assert r.status_code == 201, r.text
                    job_ids.append(r.json()["id"])

                async def all_done() -> bool:
                    page = (await a.get("/v1/jobs", params={"per_page": 100})).json()["data"]
                    bad = [j for j in page if j["status"] in ("failed", "cancelled")]
                    assert not bad, bad
                    return all(j["status"] == "completed" for j in page)

                deadline = asyncio.get_running_loop().time() + 240
                while not await all_done():
                    assert asyncio.get_running_loop().time() < deadline, "jobs did not finish"
                    await asyncio.sleep(0.5)
                # Whichever replica applied each event, the acknowledgements (read from the
                # database) let the agent delete every one of them.
                assert agent.outbox.keep_until_acked
                while await agent.outbox.count():
                    assert asyncio.get_running_loop().time() < deadline, "events not acked"
                    await asyncio.sleep(0.1)
            finally:
                stop.set()
                await asyncio.wait_for(agent_task, 30)
            printed = Counter(
                line for sim in sims for line in sim.executed if line.startswith("M117 job-")
            )
            assert printed == Counter({f"M117 job-{n}": 1 for n in range(JOBS)})
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "Traceback" not in logs, logs[-4000:]
