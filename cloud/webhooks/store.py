"""The worker's queries: claim due deliveries, record attempts, release leases.

A claim is one statement on both databases:
`UPDATE webhook_deliveries SET lease… WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)
AND <still due and unleased> RETURNING id`. On PostgreSQL the inner `FOR UPDATE SKIP LOCKED`
lets replicas claim disjoint rows without waiting on each other (DESIGN.md "Scale path"); on
SQLite (which renders no FOR UPDATE) the UPDATE runs under the database's single write lock
and re-checks the lease, which is the same guarantee. A result is recorded only by the owner
of the lease (`WHERE lease_owner = me`), so a worker whose lease ran out cannot overwrite the
outcome of the worker that took over.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.core import table_of
from cloud.metrics.series import webhook_outcomes
from cloud.webhooks.messages import record_disabled, row_id
from cloud.webhooks.schedule import RetryPolicy
from cloud.webhooks.sender import AttemptResult
from cloud.webhooks.tables import (
    DISABLED_FAILING,
    DISABLED_GONE,
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

_D = table_of(WebhookDelivery)
_W = table_of(WebhookEndpoint)
_A = table_of(WebhookAttempt)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    org_id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: bytes
    attempts: int
    created_at: datetime
    url: str
    secret_sealed: str | None
    legacy_secret: str | None  # before the start-up sealing (cloud/webhooks/secrets.py)


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    result: AttemptResult


def _unleased(now: datetime) -> Any:
    return or_(_D.c.lease_until.is_(None), _D.c.lease_until < now)


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    limit: int,
    now: datetime,
    lease_s: float,
    exclude: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to `limit` due deliveries of enabled endpoints, except those of the endpoints
    in `exclude` (the caller's busiest), committed here."""
    due = (
        select(_D.c.id)
        .join(_W, _W.c.id == _D.c.webhook_id)
        .where(
            _D.c.status == PENDING,
            _D.c.next_attempt_at <= now,
            _unleased(now),
            _W.c.enabled.is_(True),
            *([_D.c.webhook_id.not_in(exclude)] if exclude else []),
        )
        .order_by(_D.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=_D)
    )
    claimed_ids = (
        (
            await session.execute(
                update(_D)
                .where(_D.c.id.in_(due), _D.c.status == PENDING, _unleased(now))
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
                .returning(_D.c.id)
            )
        )
        .scalars()
        .all()
    )
    if not claimed_ids:
        await session.commit()
        return []
    claimed = await _load(session, claimed_ids)
    await session.commit()
    return claimed


async def _load(session: AsyncSession, ids: Sequence[str]) -> list[Claimed]:
    rows = await session.execute(
        select(
            _D.c.id, _D.c.org_id, _D.c.webhook_id, _D.c.event_id, _D.c.event_type,
            _D.c.body, _D.c.attempts, _D.c.created_at, _W.c.url, _W.c.secret_sealed,
            _W.c.secret,
        )
        .join(_W, _W.c.id == _D.c.webhook_id)
        .where(_D.c.id.in_(ids))
    )  # fmt: skip
    return [
        Claimed(
            id=r.id,
            org_id=r.org_id,
            webhook_id=r.webhook_id,
            event_id=r.event_id,
            event_type=r.event_type,
            body=r.body.encode(),
            attempts=r.attempts,
            created_at=r.created_at,
            url=r.url,
            secret_sealed=r.secret_sealed,
            legacy_secret=r.secret,
        )
        for r in rows
    ]


async def record(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    *,
    owner: str,
    policy: RetryPolicy,
    now: datetime,
) -> int:
    """Write each attempt and its delivery's new state (committed here); the number kept.

    Three statements per batch however large it is (the hot path of the benchmark): find
    which leases are still ours (locked on PostgreSQL), update those deliveries and insert
    their attempts with executemany.
    """
    ids = [o.claimed.id for o in outcomes]
    still_ours = set(
        (
            await session.execute(
                select(_D.c.id).where(_D.c.id.in_(ids), _D.c.lease_owner == owner).with_for_update()
            )
        ).scalars()
    )
    plan = _plan(outcomes, still_ours, policy)
    updates, attempts = plan.updates, plan.attempts
    if updates:
        await session.execute(
            update(_D)
            .where(_D.c.id == bindparam("d_id"))
            .values(
                status=bindparam("d_status"),
                attempts=bindparam("d_attempts"),
                next_attempt_at=bindparam("d_next"),
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            ),
            updates,
        )
        await session.execute(insert(_A), attempts)
    await _update_endpoints(session, plan.successes, plan.failures, now)
    for webhook_id in plan.gone:
        await _disable(session, webhook_id, DISABLED_GONE, now)
    for c in plan.exhausted:
        await _disable(session, c.webhook_id, DISABLED_FAILING, now, failing_before=c.created_at)
    await session.commit()
    webhook_outcomes(a["outcome"] for a in attempts)  # counted once committed, not per try
    return len(updates)


@dataclass(slots=True)
class _Plan:
    """What a batch of results changes: delivery rows, log rows, endpoint health."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    successes: dict[str, datetime] = field(default_factory=dict)
    failures: dict[str, datetime] = field(default_factory=dict)
    exhausted: list[Claimed] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


def _plan(outcomes: Sequence[Outcome], still_ours: set[str], policy: RetryPolicy) -> _Plan:
    plan = _Plan()
    for outcome in outcomes:
        c, r = outcome.claimed, outcome.result
        attempt_no = c.attempts + 1
        if c.id not in still_ours:
            # The lease expired and another worker took over, or the endpoint was deleted.
            logger.info("delivery %s: result of attempt %d dropped (lease lost)", c.id, attempt_no)
            continue
        status, next_at, label = _next_state(r, attempt_no, policy)
        plan.updates.append(
            {"d_id": c.id, "d_status": status, "d_attempts": attempt_no, "d_next": next_at}
        )
        plan.attempts.append(_attempt_row(c, r, attempt_no, label, next_at))
        if r.success:
            latest = plan.successes.get(c.webhook_id, r.attempted_at)
            plan.successes[c.webhook_id] = max(r.attempted_at, latest)
            continue
        plan.failures.setdefault(c.webhook_id, r.attempted_at)
        if r.gone:
            plan.gone.append(c.webhook_id)
        elif status == FAILED:
            plan.exhausted.append(c)
    return plan


def _next_state(
    r: AttemptResult, attempt_no: int, policy: RetryPolicy
) -> tuple[str, datetime | None, str]:
    if r.success:
        return SUCCEEDED, None, "succeeded"
    if r.gone:
        return FAILED, None, "failed"
    delay_s = policy.delay_after(attempt_no, r.retry_after_s)
    if delay_s is None:
        return FAILED, None, "failed"
    return PENDING, r.attempted_at + timedelta(seconds=delay_s), "retrying"


def _attempt_row(
    c: Claimed, r: AttemptResult, attempt_no: int, label: str, next_at: datetime | None
) -> dict[str, Any]:
    return {
        "id": row_id("att"),
        "org_id": c.org_id,
        "webhook_id": c.webhook_id,
        "delivery_id": c.id,
        "event_id": c.event_id,
        "event_type": c.event_type,
        "attempt": attempt_no,
        "attempted_at": r.attempted_at,
        "status_code": r.status_code,
        "latency_ms": r.latency_ms,
        "error": r.error,
        "outcome": label,
        "next_retry_at": next_at,
    }


async def _update_endpoints(
    session: AsyncSession,
    successes: dict[str, datetime],
    failures: dict[str, datetime],
    now: datetime,
) -> None:
    if successes:
        await session.execute(
            update(_W)
            .where(_W.c.id == bindparam("w_id"))
            .values(failing_since=None, last_success_at=bindparam("w_at"), updated_at=now),
            [{"w_id": k, "w_at": v} for k, v in successes.items()],
        )
    # A batch with a success and a failure for one endpoint: the success says it works.
    failed = [{"w_id": k, "w_at": v} for k, v in failures.items() if k not in successes]
    if failed:
        await session.execute(
            update(_W)
            .where(_W.c.id == bindparam("w_id"))
            .values(
                failing_since=func.coalesce(_W.c.failing_since, bindparam("w_at")),
                last_failure_at=bindparam("w_at"),
            ),
            failed,
        )


async def _disable(
    session: AsyncSession,
    webhook_id: str,
    reason: str,
    now: datetime,
    *,
    failing_before: datetime | None = None,
) -> None:
    """Switch the endpoint off once (conditional update) and tell the organization."""
    stmt = update(_W).where(_W.c.id == webhook_id, _W.c.enabled.is_(True))
    if failing_before is not None:
        # Only when nothing succeeded since the message was created: the whole retry
        # schedule (about 27.6 h by default) failed, not one unlucky message.
        stmt = stmt.where(
            or_(_W.c.last_success_at.is_(None), _W.c.last_success_at < failing_before)
        )
    values = {"enabled": False, "disabled_reason": reason, "disabled_at": now, "updated_at": now}
    if (await session.execute(stmt.values(**values))).rowcount != 1:  # type: ignore[attr-defined]
        return
    row = (await session.execute(select(_W).where(_W.c.id == webhook_id))).one()
    logger.warning("webhook %s of org %s disabled: %s", webhook_id, row.org_id, reason)
    record_disabled(session, row)


async def release_ids(session: AsyncSession, *, owner: str, ids: Collection[str]) -> None:
    """Give back leases taken but not used (their endpoint was at its concurrency cap)."""
    await session.execute(
        update(_D)
        .where(_D.c.id.in_(ids), _D.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
    await session.commit()


async def release(session: AsyncSession, *, owner: str) -> int:
    """Give back this worker's unfinished leases so the next process sends them at once."""
    result = await session.execute(
        update(_D)
        .where(_D.c.lease_owner == owner, _D.c.status == PENDING)
        .values(lease_owner=None, lease_until=None)
    )
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune(session: AsyncSession, *, before: datetime) -> int:
    """Forget attempts, and finished deliveries, older than `before` (committed here).

    Pending deliveries are kept whatever their age: a held message is never dropped.
    """
    attempts = await session.execute(delete(_A).where(_A.c.attempted_at < before))
    deliveries = await session.execute(
        delete(_D).where(_D.c.status != PENDING, _D.c.updated_at < before)
    )
    await session.commit()
    return int(attempts.rowcount) + int(deliveries.rowcount)  # type: ignore[attr-defined]
