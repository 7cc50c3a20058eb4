"""Two cloud replicas against one, on one PostgreSQL and one Mosquitto: agent state applied
per second, and nothing lost, doubled or assigned twice when one replica is killed.

    .venv/bin/python bench/replicas.py --database-url postgresql://postgres@127.0.0.1:5432/test
        [--agents 20] [--printers 10] [--states 20000] [--events 100] [--jobs 60]

Each replica is a real `apf cloud serve` process (bridge, queue, webhook worker), sharing
the agents' topics through the shared-subscription group `cloud` of a Mosquitto closed as
deployed (logins and ACLs). The bench stands in for the agents with one MQTT client that
publishes as each of them (QoS 1, as agents do) and, like an agent's outbox, publishes an
agent's unacknowledged events again when the cloud asks (`resend`) or when its
acknowledgement has not moved for `RESEND_AFTER_S`.

Three rounds, each with agents and printers of its own:
1. one replica: `--states` printer snapshots over the agents' printers, then `--events`
   events per agent (printer error / offline, alternating, in sequence);
2. two replicas: the same workload;
3. two replicas, `--jobs` queued jobs and idle printers (both replicas' queues assign), the
   same workload, and one replica killed (SIGKILL) a third of the way through the events.
A round's rate is its messages over the time from the first publish until the database
shows every printer's last snapshot and every agent's events applied through the last.
Checked after each round, from the database: every agent's events 1..N applied exactly
once (`applied_agent_events`), each of their status changes logged once (the org event
log), no job with two prints, no printer with two active prints.

The database is a scratch one created beside the one named and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud.db.core import table_of
from cloud.db.models import StoredFileRow
from shared import wire
from shared.enums import AgentState, PrinterStatus
from shared.wire.topics import ROOT as TOPIC_ROOT
from tests.support.broker import BrokerOptions, TestBroker, make_broker
from tests.support.postgres import create_database, drop_database
from tests.support.replicas import cloud_replica

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests/shared/gcode_samples/prusaslicer.gcode"
# An agent re-sends its unacknowledged events after this long without progress.
RESEND_AFTER_S = 2.0
FINAL_HOTEND = 299.0  # the last snapshot of each printer carries it: "all applied" is visible
ROUND_TIMEOUT_S = float(os.environ.get("BENCH_ROUND_TIMEOUT_S", "300"))


# -- the farm in the database -----------------------------------------------------------------
@dataclass
class Farm:
    org_id: str
    agents: dict[str, list[str]] = field(default_factory=dict)  # agent id -> printer ids

    @property
    def state_printers(self) -> list[tuple[str, str]]:
        """(agent, printer) for every printer but each agent's first (which gets events)."""
        return [(a, p) for a, printers in self.agents.items() for p in printers[1:]]


async def _seed(url: str, org_id: str, *, agents: int, printers: int, jobs: int, tag: str) -> Farm:
    """Agents, printers (offline) and queued jobs, as a farm already set up."""
    from cloud.db.engine import create_engine, session_factory
    from cloud.db.models import Agent, Job, Printer
    from cloud.ids import IdPrefix, new_id
    from cloud.settings import database_url_for

    farm = Farm(org_id)
    engine = create_engine(database_url_for(url, "."))
    try:
        async with session_factory(engine)() as session:
            for a in range(agents):
                agent = Agent(
                    id=new_id(IdPrefix.AGENT),
                    org_id=org_id,
                    name=f"{tag}-agent-{a}",
                    mqtt_username=f"{tag}-{a}",
                )
                session.add(agent)
                farm.agents[agent.id] = [new_id(IdPrefix.PRINTER) for _ in range(printers)]
            await session.flush()
            for agent_id, ids in farm.agents.items():
                session.add_all(
                    Printer(
                        id=printer_id,
                        org_id=org_id,
                        agent_id=agent_id,
                        name=f"{tag}-{printer_id}",
                        connection_kind="serial",
                        connection_url="serial:///dev/null",
                    )
                    for printer_id in ids
                )
            files = table_of(StoredFileRow).c
            file_id = str(await session.scalar(select(files.id).where(files.org_id == org_id)))
            session.add_all(
                Job(id=new_id(IdPrefix.JOB), org_id=org_id, name=f"{tag}-job-{j}", file_id=file_id)
                for j in range(jobs)
            )
            await session.commit()
    finally:
        await engine.dispose()
    return farm


async def _setup_org(url: str, data_dir: Path) -> str:
    """The organization, its stored file (for queued jobs), all through the cloud's code."""
    from cloud.db import migrate
    from cloud.db.engine import create_engine, session_factory
    from cloud.db.models import StoredFileRow
    from cloud.files import GcodeStore
    from cloud.services.admin import create_org
    from cloud.settings import database_url_for

    engine = create_engine(database_url_for(url, str(data_dir)))
    try:
        await migrate.upgrade(engine)
        async with session_factory(engine)() as session:
            org = await create_org(session, "Replicas", owner_email="r@x.test", plan="enterprise")
        data = SAMPLE.read_bytes()

        async def chunks() -> Any:
            yield data

        stored = await GcodeStore(data_dir / "files").save_stream(
            chunks(), filename="bench.gcode", max_bytes=1 << 20
        )
        async with session_factory(engine)() as session:
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
            await session.commit()
        return org.org_id
    finally:
        await engine.dispose()


# -- the agents' side -------------------------------------------------------------------------
class Agents:
    """One MQTT client publishing as every agent, re-sending events as an agent's outbox does."""

    def __init__(self, broker: TestBroker, farm: Farm, events_per_agent: int) -> None:
        self._farm = farm
        self._events = {
            agent: _events(farm.org_id, agent, printers[0], events_per_agent)
            for agent, printers in farm.agents.items()
        }
        self.acked = dict.fromkeys(farm.agents, 0)
        self._progress_at = dict.fromkeys(farm.agents, 0.0)
        self.resent = 0
        self._lock = threading.Lock()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-agents")
        self._client.username_pw_set(broker.username, broker.password)
        self._client.max_inflight_messages_set(200)
        self._client.on_message = self._on_ack
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_a: subscribed.set()
        self._client.subscribe(f"{TOPIC_ROOT}/{farm.org_id}/agents/+/acks", qos=1)
        if not subscribed.wait(10):
            raise SystemExit("could not subscribe to the acknowledgements")
        for agent in farm.agents:  # online, as a connecting agent says (retained)
            status = wire.AgentStatus(
                state=AgentState.ONLINE, session=1, agent_version="bench", ts=datetime.now(UTC)
            )
            topic = wire.status_topic(farm.org_id, agent)
            self._client.publish(topic, wire.encode(status), qos=1, retain=True)

    def _on_ack(self, _c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        agent = message.topic.split("/")[3]
        try:
            ack = msgspec.json.decode(message.payload, type=wire.EventAck)
        except msgspec.ValidationError:
            return
        with self._lock:
            if agent not in self.acked:
                return
            if ack.applied_seq > self.acked[agent]:
                self.acked[agent] = ack.applied_seq
                self._progress_at[agent] = time.monotonic()
        if ack.resend:
            self._resend(agent)

    def _resend(self, agent: str) -> None:
        with self._lock:
            acked = self.acked[agent]
            self._progress_at[agent] = time.monotonic()
        pending = self._events[agent][acked:]
        self.resent += len(pending)
        for topic, payload in pending:
            self._client.publish(topic, payload, qos=1)

    def publish_states(self, count: int) -> None:
        printers = self._farm.state_printers
        start = datetime.now(UTC)
        infos = []
        for i in range(count):
            agent, printer = printers[i % len(printers)]
            last = i >= count - len(printers)
            state = wire.PrinterState(
                printer_id=printer,
                status=PrinterStatus.IDLE,
                connected=True,
                ts=start + timedelta(microseconds=i),
                temperatures=wire.Temperatures(
                    hotend=FINAL_HOTEND if last else 200.0 + i % 50, bed=60.0
                ),
            )
            topic = wire.printer_state_topic(self._farm.org_id, agent, printer)
            infos.append(self._client.publish(topic, wire.encode(state), qos=1))
        for info in infos:
            info.wait_for_publish(timeout=120)

    def publish_events(self, upto: int | None = None) -> None:
        """Every agent's events, interleaved across agents (as a farm's would be), in order
        per agent; `upto` stops after that many rounds."""
        rounds = max(len(e) for e in self._events.values())
        for seq in range(rounds if upto is None else min(upto, rounds)):
            for events in self._events.values():
                if seq < len(events):
                    self._client.publish(*events[seq], qos=1)

    def publish_events_from(self, start: int) -> None:
        for events in self._events.values():
            for topic, payload in events[start:]:
                self._client.publish(topic, payload, qos=1)

    def resend_stalled(self) -> None:
        now = time.monotonic()
        for agent, events in self._events.items():
            with self._lock:
                stalled = (
                    self.acked[agent] < len(events)
                    and now - self._progress_at[agent] > RESEND_AFTER_S
                )
            if stalled:
                self._resend(agent)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _events(org_id: str, agent: str, printer: str, n: int) -> list[tuple[str, bytes]]:
    topic = wire.events_topic(org_id, agent)
    out: list[tuple[str, bytes]] = []
    for seq in range(1, n + 1):
        event_id, ts = f"{agent}-{seq}", datetime.now(UTC)
        event: msgspec.Struct
        if seq % 2:
            event = wire.PrinterErrorEvent(
                event_id=event_id, seq=seq, ts=ts, printer_id=printer, message=f"e{seq}"
            )
        else:
            event = wire.PrinterOfflineEvent(
                event_id=event_id, seq=seq, ts=ts, printer_id=printer, reason=f"o{seq}"
            )
        out.append((topic, wire.encode(event)))
    return out


# -- a round ----------------------------------------------------------------------------------
@dataclass
class RoundResult:
    name: str
    states: int
    events: int
    states_s: float
    events_s: float
    problems: list[str]
    resent: int

    @property
    def messages_per_s(self) -> float:
        return (self.states + self.events) / (self.states_s + self.events_s)


async def _states_done(url: str, farm: Farm) -> bool:
    ids = [p for _, p in farm.state_printers]
    conn = await asyncpg.connect(url)
    try:
        done = await conn.fetchval(
            "SELECT count(*) FROM printers WHERE id = ANY($1) AND hotend_c = $2",
            ids, FINAL_HOTEND,
        )  # fmt: skip
    finally:
        await conn.close()
    return int(done) == len(ids)


async def _describe(url: str, farm: Farm) -> Any:
    ids = [p for _, p in farm.state_printers]
    conn = await asyncpg.connect(url)
    try:
        return [
            dict(r)
            for r in await conn.fetch(
                "SELECT status, hotend_c = $2 AS final, count(*), max(reported_at) FROM printers "
                "WHERE id = ANY($1) GROUP BY 1, 2",
                ids,
                FINAL_HOTEND,
            )
        ]
    finally:
        await conn.close()


async def _events_done(url: str, farm: Farm, per_agent: int) -> bool:
    conn = await asyncpg.connect(url)
    try:
        low = await conn.fetchval(
            "SELECT min(applied_through_seq) FROM agent_links WHERE agent_id = ANY($1)",
            list(farm.agents),
        )
        count = await conn.fetchval(
            "SELECT count(*) FROM agent_links WHERE agent_id = ANY($1)", list(farm.agents)
        )
    finally:
        await conn.close()
    return int(count or 0) == len(farm.agents) and int(low or 0) >= per_agent


def _wait(condition: Any, agents: Agents | None, what: str) -> float:
    started = time.perf_counter()
    deadline = started + ROUND_TIMEOUT_S
    while not asyncio.run(condition()):
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        if agents is not None:
            agents.resend_stalled()
        time.sleep(0.05)  # a benchmark may poll: the figure is when the database agrees
    return time.perf_counter() - started


async def _check(url: str, farm: Farm, per_agent: int) -> list[str]:
    """What must hold whatever happened to the replicas."""
    problems: list[str] = []
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT agent_id, count(*) AS n, count(DISTINCT seq) AS seqs, min(seq) AS lo, "
            "max(seq) AS hi FROM applied_agent_events WHERE agent_id = ANY($1) GROUP BY agent_id",
            list(farm.agents),
        )
        applied = {r["agent_id"]: r for r in rows}
        for agent in farm.agents:
            r = applied.get(agent)
            if r is None or (r["n"], r["seqs"], r["lo"], r["hi"]) != (
                per_agent, per_agent, 1, per_agent,
            ):  # fmt: skip
                problems.append(f"agent {agent}: applied {dict(r) if r else None}")
        # Each error event after an offline one logs printer.online + printer.error, each
        # offline one printer.offline: 3 per pair, none more, none fewer.
        first_printers = [printers[0] for printers in farm.agents.values()]
        logged = await conn.fetchval(
            "SELECT count(*) FROM events WHERE resource_id = ANY($1) "
            "AND type IN ('printer.online', 'printer.error', 'printer.offline')",
            first_printers,
        )
        expected = len(farm.agents) * (per_agent // 2 * 3 + (per_agent % 2) * 2)
        if int(logged) != expected:
            problems.append(f"status events logged: {logged}, expected {expected}")
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT job_id FROM prints WHERE org_id = $1 "
            "GROUP BY job_id, copy_index HAVING count(*) > 1) AS doubled",
            farm.org_id,
        )
        if twice:
            problems.append(f"{twice} job copies assigned more than once")
        busy = await conn.fetchval(
            "SELECT count(*) FROM (SELECT printer_id FROM prints WHERE org_id = $1 AND status "
            "IN ('assigned', 'printing', 'paused') GROUP BY printer_id HAVING count(*) > 1) AS b",
            farm.org_id,
        )
        if busy:
            problems.append(f"{busy} printers with two active prints")
    finally:
        await conn.close()
    return problems


async def _assigned(url: str, org_id: str, tag: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        prints = await conn.fetchval(
            "SELECT count(*) FROM prints p JOIN jobs j ON j.id = p.job_id "
            "WHERE p.org_id = $1 AND j.name LIKE $2",
            org_id, f"{tag}-job-%",
        )  # fmt: skip
        jobs = await conn.fetchval(
            "SELECT count(DISTINCT p.job_id) FROM prints p JOIN jobs j ON j.id = p.job_id "
            "WHERE p.org_id = $1 AND j.name LIKE $2",
            org_id, f"{tag}-job-%",
        )  # fmt: skip
    finally:
        await conn.close()
    return int(prints), int(jobs)


def run_round(
    name: str,
    url: str,
    broker: TestBroker,
    farm: Farm,
    args: argparse.Namespace,
    *,
    kill: subprocess.Popen[bytes] | None = None,
) -> RoundResult:
    agents = Agents(broker, farm, args.events)
    try:
        started = time.perf_counter()
        agents.publish_states(args.states)
        states_s = time.perf_counter() - started
        try:
            states_s += _wait(lambda: _states_done(url, farm), None, "the snapshots")
        except SystemExit:
            print(asyncio.run(_describe(url, farm)))
            raise
        started = time.perf_counter()
        if kill is None:
            agents.publish_events()
        else:
            third = max(1, args.events // 3)
            agents.publish_events(upto=third)
            kill.send_signal(signal.SIGKILL)  # mid-run: what it held unacknowledged is lost
            kill.wait(timeout=10)
            agents.publish_events_from(third)
        events_s = time.perf_counter() - started
        events_s += _wait(lambda: _events_done(url, farm, args.events), agents, "the events")
        problems = asyncio.run(_check(url, farm, args.events))
        return RoundResult(
            name,
            args.states,
            args.events * len(farm.agents),
            states_s,
            events_s,
            problems,
            agents.resent,
        )
    finally:
        agents.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--printers", type=int, default=10, help="per agent")
    parser.add_argument("--states", type=int, default=20_000, help="snapshots per round")
    parser.add_argument("--events", type=int, default=100, help="events per agent per round")
    parser.add_argument("--jobs", type=int, default=60, help="queued jobs in the kill round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="apf-replicas-") as tmp:
        work = Path(tmp)
        url = create_database(args.database_url)
        (work / "broker").mkdir()
        broker = make_broker(work / "broker", BrokerOptions(unbounded_queues=True), "mosquitto")
        broker.start()
        try:
            data_dir = work / "data"
            org_id = asyncio.run(_setup_org(url, data_dir))
            env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
            env.update(
                {
                    "APF_DATABASE_URL": url,
                    "APF_DATA_DIR": str(data_dir),
                    "APF_MQTT_URL": broker.url,
                    "APF_MQTT_SHARED_GROUP": "cloud",
                    "APF_ALLOW_PRIVATE_URLS": "1",
                    "APF_SIGNING_KEY": "k" * 40,
                }
            )
            results: list[RoundResult] = []
            sizes = {"agents": args.agents, "printers": args.printers}
            with cloud_replica(env, work / "a.log", wait_for_bridge=True):
                farm = asyncio.run(_seed(url, org_id, **sizes, jobs=0, tag="one"))
                results.append(run_round("one replica", url, broker, farm, args))
                with cloud_replica(env, work / "b.log", wait_for_bridge=True):
                    farm = asyncio.run(_seed(url, org_id, **sizes, jobs=0, tag="two"))
                    results.append(run_round("two replicas", url, broker, farm, args))
            with (
                cloud_replica(env, work / "c.log", wait_for_bridge=True) as victim,
                cloud_replica(env, work / "d.log", wait_for_bridge=True),
            ):
                farm = asyncio.run(_seed(url, org_id, **sizes, jobs=args.jobs, tag="kill"))
                results.append(
                    run_round(
                        "two, one killed mid-run", url, broker, farm, args, kill=victim.process
                    )
                )
                prints, jobs = asyncio.run(_assigned(url, org_id, "kill"))
            logs = "".join((work / f"{n}.log").read_text() for n in "abcd")
        except BaseException:
            for log in sorted(work.glob("*.log")):
                lines = [
                    line
                    for line in log.read_text(errors="replace").splitlines()
                    if "apscheduler" not in line
                ]
                print(f"--- {log.name} (last lines)", *lines[-40:], sep="\n")
            raise
        finally:
            broker.stop()
            drop_database(args.database_url, url)

    print(
        f"PostgreSQL + Mosquitto (shared subscriptions), {args.agents} agents x "
        f"{args.printers} printers; per round {args.states} snapshots and "
        f"{args.events} events per agent"
    )
    print(f"{'round':26} {'snapshots/s':>12} {'events/s':>9} {'msg/s':>8} {'resent':>7}  problems")
    for r in results:
        print(
            f"{r.name:26} {r.states / r.states_s:12,.0f} {r.events / r.events_s:9,.0f} "
            f"{r.messages_per_s:8,.0f} {r.resent:7}  {'; '.join(r.problems) or 'none'}"
        )
    one, two = results[0], results[1]
    print(
        f"two replicas / one: snapshots {two.states_s and one.states_s / two.states_s:.2f}x, "
        f"events {one.events_s / two.events_s:.2f}x, all messages "
        f"{two.messages_per_s / one.messages_per_s:.2f}x"
    )
    print(f"kill round: {jobs} of {args.jobs} jobs assigned, {prints} prints (one per job)")
    tracebacks = logs.count("Traceback")
    print(f"tracebacks in the replicas' logs: {tracebacks}")
    gaps = [line for line in logs.splitlines() if "sequence gap" in line]
    print(f"events applied past a gap (replicas' logs): {len(gaps)}", *gaps[:5], sep="\n  ")


if __name__ == "__main__":
    main()
