"""Putting each agent's events back in sequence order before they are applied.

An agent numbers its events 1, 2, 3, … and publishes them in that order, but a replay
after a reconnect, a QoS 1 redelivery or several cloud replicas sharing a subscription can
still hand them over out of order. Applying `job.completed` before `job.started` would lose
the start, so an event that arrives ahead of a missing one is held until the missing one
comes, for at most `hold_s`; after that it is applied anyway and the gap is logged (an event
the agent never delivers must not stall the farm). Pure: the caller passes the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cloud.bridge.inbound import EventIn


@dataclass
class _Held:
    item: EventIn
    since_s: float


@dataclass
class EventOrder:
    hold_s: float = 2.0
    # agent id -> highest sequence known to be applied
    _applied: dict[str, int] = field(default_factory=dict)
    _held: dict[str, dict[int, _Held]] = field(default_factory=dict)

    def knows(self, agent_id: str) -> bool:
        return agent_id in self._applied

    def learn(self, agent_id: str, last_seq: int) -> None:
        """What the database says was applied (on first sight of an agent, or to refresh)."""
        self._applied[agent_id] = max(self._applied.get(agent_id, 0), last_seq)

    def offer(self, item: EventIn, now_s: float) -> list[EventIn]:
        """Take one event; return the events now ready to apply, in order."""
        agent = item.agent_id
        held = self._held.setdefault(agent, {})
        # A copy of an event already held (the agent re-sent it) keeps the first one's wait.
        held.setdefault(item.event.seq, _Held(item, now_s))
        return self._ready(agent, now_s)

    def applied(self, item: EventIn) -> None:
        agent = item.agent_id
        self._applied[agent] = max(self._applied.get(agent, 0), item.event.seq)

    def expired(self, now_s: float) -> list[EventIn]:
        """Held events whose wait is over, for every agent, in order."""
        out: list[EventIn] = []
        for agent in list(self._held):
            out += self._ready(agent, now_s)
        return out

    def waiting_agents(self) -> list[str]:
        return list(self._held)

    def oldest_wait_s(self, agent_id: str, now_s: float) -> float:
        """How long this agent's longest-held event has waited (0 if none is held)."""
        held = self._held.get(agent_id)
        if not held:
            return 0.0
        return now_s - min(entry.since_s for entry in held.values())

    def held_count(self) -> int:
        return sum(len(h) for h in self._held.values())

    def _ready(self, agent: str, now_s: float) -> list[EventIn]:
        held = self._held.get(agent, {})
        ready: list[EventIn] = []
        applied = self._applied.get(agent, 0)
        for seq in sorted(held):
            entry = held[seq]
            # In order (or a duplicate of something applied), or waited long enough. An
            # agent none of whose events is applied yet starts at 1 like any other: with
            # several replicas, "nothing applied" often means "event 1 is being applied by
            # another replica right now" (bench/replicas.py applied a new agent's events
            # 35-100 before 1-33 when the replica holding 1-33 was killed). One that really
            # starts later (a cloud database restored from an old backup) waits one hold.
            if seq <= applied + 1 or now_s - entry.since_s >= self.hold_s:
                ready.append(entry.item)
                del held[seq]
                applied = max(applied, seq)
            else:
                break
        if not held:
            self._held.pop(agent, None)
        return ready
