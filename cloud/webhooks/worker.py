"""The delivery worker: fan-out, claims, bounded concurrent sends, batched result writes.

`async with WebhookWorker(sessions, config, box=..., write_lock=...):` runs three named tasks
it owns:
- fan-out: turns new `events` rows into delivery rows (`cloud.webhooks.fanout`);
- dispatcher: claims due deliveries while fewer than `max_in_flight` are in flight and
  starts one send task each (the set of send tasks is the bound);
- recorder: takes results from a bounded queue and writes them in batches, one
  transaction per batch (`cloud.webhooks.store.record`).
Leaving the block stops claiming, lets in-flight attempts finish for up to
`shutdown_timeout_s`, records their results and releases the leases of any abandoned, so a
restart loses no message and sends a finished one again never.

Every loop survives database errors (logged, retried after a pause): a failing database
must not kill delivery for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.types import utcnow
from cloud.db.writer import WriteLock
from cloud.metrics.series import webhook_attempt_took
from cloud.sealing import SealError, SecretBox
from cloud.webhooks import fanout, store
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.secrets import open_secret
from cloud.webhooks.sender import AttemptResult, Sender

logger = logging.getLogger(__name__)

_ERROR_PAUSE_S: Final = 1.0
_RECORD_BATCH: Final = 200
_RECORD_TRIES: Final = 5
_STOP: Final = object()


class WebhookWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: WebhookConfig | None = None,
        *,
        box: SecretBox,
        write_lock: WriteLock,
    ) -> None:
        self.config = config or WebhookConfig()
        self._box = box  # opens each endpoint's sealed secret to sign with
        # Three writing loops: each write transaction queues on the process's writer lock
        # (cloud.db.writer): the app's, the one every other writer of the process takes.
        self._write_lock = write_lock
        self.owner = "wkr_" + secrets.token_hex(8)
        self._sessions = sessions
        self._sender = Sender(self.config)
        self._results: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * self.config.max_in_flight)
        self._sends: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[str] = Counter()
        #: Leases claimed beyond an endpoint's cap, given back by the next claim.
        self._giving_back: list[str] = []
        self._slot_free = asyncio.Event()
        self._wake_fanout = asyncio.Event()
        self._wake_dispatch = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._recorder: asyncio.Task[None] | None = None
        #: Counters for benchmarks and tests (attempts recorded, deliveries fanned out).
        self.recorded = 0
        self.fanned_out = 0

    async def __aenter__(self) -> Self:
        await self._sender.__aenter__()
        self._recorder = asyncio.create_task(self._record_loop(), name="webhooks-recorder")
        self._loops = [
            asyncio.create_task(self._fanout_loop(), name="webhooks-fanout"),
            asyncio.create_task(self._dispatch_loop(), name="webhooks-dispatch"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for task in self._loops:
                task.cancel()
            await asyncio.wait(self._loops)
            if self._sends:
                _done, late = await asyncio.wait(
                    set(self._sends), timeout=self.config.shutdown_timeout_s
                )
                for task in late:
                    task.cancel()
                if late:
                    await asyncio.wait(late)
            if self._recorder is not None:
                try:
                    async with asyncio.timeout(self.config.shutdown_timeout_s):
                        await self._results.put(_STOP)
                        await asyncio.wait([self._recorder])
                except TimeoutError:
                    logger.warning("webhook results not all recorded at shutdown")
                self._recorder.cancel()  # a no-op when it finished; else its results are lost
                await asyncio.wait([self._recorder])  # and their leases are released below
            await self._guarded(self._release)
        finally:
            await self._sender.__aexit__(exc_type, exc, tb)

    def wake(self) -> None:
        """Look for new events now instead of at the next poll (after a local commit)."""
        self._wake_fanout.set()

    async def _guarded(self, step: Callable[[], Awaitable[Any]], *, write: bool = True) -> bool:
        try:
            if not write:
                await step()
            else:
                async with self._write_lock.held():
                    await step()
        except Exception:  # a database outage or a bug: log it, keep the loop alive
            logger.exception("webhook worker step failed; retrying in %.1f s", _ERROR_PAUSE_S)
            await asyncio.sleep(_ERROR_PAUSE_S)  # back-off pause after a failure, not a sync
            return False
        return True

    async def _prune(self) -> None:
        before = utcnow() - timedelta(seconds=self.config.retention_s)
        async with self._sessions() as session:
            pruned = await store.prune(session, before=before)
        if pruned:
            logger.info("pruned %d webhook log rows older than %s", pruned, before)

    async def _release(self) -> None:
        async with self._sessions() as session:
            released = await store.release(session, owner=self.owner)
        if released:
            logger.info("released %d unfinished webhook deliveries", released)

    async def _pause(self, wake: asyncio.Event) -> None:
        """Wait for a wake-up or the poll interval, whichever comes first."""
        try:
            async with asyncio.timeout(self.config.poll_interval_s):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()

    async def _fanout_loop(self) -> None:
        next_prune = time.monotonic() + self.config.prune_interval_s
        while True:
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.config.prune_interval_s
                await self._guarded(self._prune)
            wanted = False
            created = 0

            async def look() -> None:
                nonlocal wanted
                async with self._sessions() as session:
                    wanted = await fanout.needed(
                        session, now=utcnow(), grace_s=self.config.commit_grace_s
                    )

            async def step() -> None:
                nonlocal created
                async with self._sessions() as session:
                    created = await fanout.fan_out(
                        session,
                        now=utcnow(),
                        batch=self.config.fanout_batch,
                        grace_s=self.config.commit_grace_s,
                    )

            found = await self._guarded(look, write=False) and wanted
            if found and await self._guarded(step) and created > 0:
                self.fanned_out += created
                self._wake_dispatch.set()  # new deliveries: let the dispatcher claim them
                continue
            await self._pause(self._wake_fanout)

    async def _dispatch_loop(self) -> None:
        while True:
            free = self.config.max_in_flight - len(self._sends)
            # Claim in batches: one claim per finished send would cost a write transaction
            # per delivery. Wait until a quarter of the slots are free (or none is busy).
            if self._sends and free < max(1, self.config.max_in_flight // 4):
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            claimed: list[store.Claimed] = []
            cap = self.config.max_in_flight_per_endpoint
            busy = tuple(w for w, n in self._per_endpoint.items() if n >= cap)

            async def step(limit: int = free, exclude: tuple[str, ...] = busy) -> None:
                nonlocal claimed
                async with self._sessions() as session:
                    if self._giving_back:
                        ids, self._giving_back = self._giving_back, []
                        await store.release_ids(session, owner=self.owner, ids=ids)
                    claimed = await store.claim(
                        session,
                        owner=self.owner,
                        limit=min(limit, self.config.fanout_batch),
                        now=utcnow(),
                        lease_s=self.config.lease_s,
                        exclude=exclude,
                    )

            await self._guarded(step)
            started = self._start_sends(claimed)
            if not started:
                await self._pause(self._wake_dispatch)

    def _start_sends(self, claimed: list[store.Claimed]) -> int:
        """Start a send per claimed delivery, up to each endpoint's cap; give back the rest."""
        cap = self.config.max_in_flight_per_endpoint
        extra: list[str] = []
        for item in claimed:
            if self._per_endpoint[item.webhook_id] >= cap:
                extra.append(item.id)
                continue
            self._per_endpoint[item.webhook_id] += 1
            task = asyncio.create_task(self._send(item), name=f"webhook-send-{item.id}")
            self._sends.add(task)
            task.add_done_callback(functools.partial(self._send_done, item.webhook_id))
        if extra:
            self._giving_back.extend(extra)
        return len(claimed) - len(extra)

    def _send_done(self, webhook_id: str, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._per_endpoint[webhook_id] -= 1
        if self._per_endpoint[webhook_id] <= 0:
            del self._per_endpoint[webhook_id]
        self._slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("webhook send task failed", exc_info=task.exception())

    async def _send(self, item: store.Claimed) -> None:
        try:
            secret = open_secret(self._box, item.webhook_id, item.secret_sealed, item.legacy_secret)
        except SealError as exc:
            # Sealed under a key no longer configured: nothing can be signed; an attempt
            # that failed, with the reason where the endpoint's owner sees it.
            reason = f"the endpoint's secret cannot be opened ({exc}); set it again"
            await self._results.put(store.Outcome(item, AttemptResult(utcnow(), None, 0.0, reason)))
            return
        try:
            result = await self._sender.send(item.url, secret, item.event_id, item.body)
            webhook_attempt_took(result.latency_ms)
        except Exception as exc:  # a bug must cost one attempt, not the worker
            logger.exception("webhook delivery %s: unexpected error", item.id)
            result = AttemptResult(utcnow(), None, 0.0, f"internal error: {type(exc).__name__}")
        await self._results.put(store.Outcome(item, result))

    async def _record_loop(self) -> None:
        stopping = False
        while not stopping:
            first = await self._results.get()
            batch: list[store.Outcome] = []
            for item in [first, *_drain(self._results, _RECORD_BATCH - 1)]:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
            for _try in range(_RECORD_TRIES if batch else 0):

                async def step(outcomes: list[store.Outcome] = batch) -> None:
                    async with self._sessions() as session:
                        self.recorded += await store.record(
                            session,
                            outcomes,
                            owner=self.owner,
                            policy=self.config.retry,
                            now=utcnow(),
                        )

                if await self._guarded(step):
                    break
            else:
                if batch:
                    # Give up on these results rather than block every later one; their leases
                    # expire and the messages are sent again (at least once, never lost).
                    logger.error("dropped the results of %d webhook attempts", len(batch))


def _drain(queue: asyncio.Queue[Any], limit: int) -> list[Any]:
    items: list[Any] = []
    while len(items) < limit:
        try:
            items.append(queue.get_nowait())
        except asyncio.QueueEmpty:
            break
    return items


def webhook_lifespan(
    sessions: async_sessionmaker[AsyncSession],
    config: WebhookConfig,
    box: SecretBox,
    write_lock: WriteLock,
) -> Callable[[Any], Any]:
    """A Litestar `lifespan` entry: the worker runs while the app does."""

    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        async with WebhookWorker(sessions, config, box=box, write_lock=write_lock):
            yield

    return run
