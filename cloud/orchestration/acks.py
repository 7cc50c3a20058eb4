"""How far the cloud has applied each agent's events: the sequence it acknowledges.

An agent keeps each event until the cloud acknowledges it (a broker's PUBACK proves
nothing: a broker drops a QoS 1 message for a subscriber whose session it lost or whose
queue is full, DESIGN.md). The cloud says
``applied_seq`` = N, meaning every event with seq <= N is applied, and the agent deletes
them. N is the highest *contiguous* applied sequence, not the highest applied one: the
bridge applies an event after a gap once its hold expires (cloud/bridge/ordering.py), and
acknowledging past the gap would let the agent delete the missing event, which it still has.

A gap can be permanent, though: the agent's bounded outbox drops printer events when full,
and such an event never comes. So a gap is given up once the event just after it was
applied `GAP_GIVE_UP` ago *and* the agent has been online for that long without a break:
an agent that still had the missing event has re-sent it by then (it re-sends everything
unacknowledged on every connect, when the bridge asks, and on a timer). An agent that is
away is never given up on, or its retained ack would delete the event it still holds.

Read from the database, never from memory: with several replicas on a shared subscription
any one may have applied any event. The stored value is only ever raised (a conditional
UPDATE), and what is published is read back after the update, so a replica never publishes
less than the database says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.models import Agent
from cloud.db.types import utcnow
from cloud.orchestration.db import writing
from cloud.orchestration.tables import AgentLink, AppliedAgentEvent
from shared.enums import AgentState

log = logging.getLogger(__name__)

GAP_GIVE_UP = timedelta(seconds=60)
# At most this many applied events are examined per call; the next call goes on from there.
WALK_LIMIT = 5000


def applied_through(
    through: int,
    applied: Iterable[tuple[int, datetime]],
    now: datetime,
    give_up: timedelta | None,
) -> int:
    """Walk `applied` (seq, applied_at), ascending seqs above `through`, as far as it is
    contiguous, or past a gap whose next event was applied at least `give_up` ago (None:
    never past a gap)."""
    for seq, applied_at in applied:
        if seq <= through:
            continue  # the same seq twice (an agent whose database was replaced)
        if seq != through + 1 and (give_up is None or now - applied_at < give_up):
            break
        if seq != through + 1:
            log.warning("events %d-%d never came; acknowledging past them", through + 1, seq - 1)
        through = seq
    return through


async def advance(app: CloudContext, agent_id: str) -> tuple[str, int] | None:
    """Raise the agent's applied-through sequence as far as its applied events allow.

    Returns (org id, the stored value) to acknowledge, or None for an agent the cloud does
    not know. Reads outside the write lock (on SQLite the applier queues on it); only the
    conditional UPDATE, when there is something to raise, takes it.
    """
    now = utcnow()
    async with app.background()() as session:
        link = await session.get(AgentLink, agent_id)
        if link is None:
            return None
        org_id, through = link.org_id, link.applied_through_seq
        settled = (
            link.state == AgentState.ONLINE.value
            and link.online_since is not None
            and now - link.online_since >= GAP_GIVE_UP
        )
        rows = (
            await session.execute(
                select(col(AppliedAgentEvent.seq), col(AppliedAgentEvent.applied_at))
                .where(
                    col(AppliedAgentEvent.agent_id) == agent_id,
                    col(AppliedAgentEvent.seq) > through,
                )
                .order_by(col(AppliedAgentEvent.seq))
                .limit(WALK_LIMIT)
            )
        ).all()
    give_up = GAP_GIVE_UP if settled else None
    raised = applied_through(through, ((r[0], r[1]) for r in rows), now, give_up)
    if raised == through:
        return org_id, through
    async with writing(app) as session:
        await session.execute(
            update(AgentLink)
            .where(
                col(AgentLink.agent_id) == agent_id,
                col(AgentLink.applied_through_seq) < raised,
            )
            .values(applied_through_seq=raised)
        )
        await session.commit()
        # Read back: another replica may have raised it further meanwhile.
        stored = (
            await session.execute(
                select(col(AgentLink.applied_through_seq)).where(
                    col(AgentLink.agent_id) == agent_id
                )
            )
        ).scalar_one()
        await session.commit()
    return org_id, int(stored)


async def known_agents(app: CloudContext) -> list[str]:
    """Agents the cloud has heard from and not revoked: those owed an acknowledgement after
    the bridge (re)connects."""
    async with app.background()() as session:
        stmt = (
            select(col(AgentLink.agent_id))
            .join(Agent, col(Agent.id) == col(AgentLink.agent_id))
            .where(col(Agent.revoked_at).is_(None))
            .order_by(col(AgentLink.agent_id))
        )
        return list((await session.execute(stmt)).scalars())
