"""What the runtime must remember across a crash: executed commands and jobs in flight.

- Commands: a command id is recorded *before* it is carried out and its reply stored with
  it, so a command delivered twice (QoS 1 is at-least-once, and the cloud re-sends until it
  gets a reply) is executed at most once and answered with the same reply again.
- Jobs: a job is recorded before the driver is asked to start it and removed in the same
  transaction that stores its outcome event (see `Outbox.add_event`), so after a crash every
  job is reported exactly once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import aiosqlite

from agent.sync.store import Store

DESIRED_CONFIG_KEY = "desired_config"
# An executed command is remembered at least this long after it expires, so a late
# duplicate still gets the original answer instead of command_expired.
COMMAND_MEMORY_S = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: str
    printer_id: str
    # None while the command is being carried out.
    reply: bytes | None


@dataclass(frozen=True, slots=True)
class JobRecord:
    printer_id: str
    job_id: str
    driver_kind: str
    started_at: float
    filament_mm: float | None
    detail: dict[str, object]


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- commands --------------------------------------------------------------------

    async def command(self, command_id: str) -> CommandRecord | None:
        rows = await self._store.read(
            "SELECT command_id, printer_id, reply FROM commands WHERE command_id = ?",
            (command_id,),
        )
        if not rows:
            return None
        reply = rows[0][2]
        return CommandRecord(
            command_id=str(rows[0][0]),
            printer_id=str(rows[0][1]),
            reply=bytes(reply) if isinstance(reply, bytes | bytearray) else None,
        )

    async def begin_command(self, command_id: str, printer_id: str, expires_at: float) -> bool:
        """Record the command as being carried out; False if it was already recorded."""
        async with self._store.transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO commands (command_id, printer_id, reply, received_at, "
                "keep_until) VALUES (?, ?, NULL, ?, ?)",
                (command_id, printer_id, time.time(), expires_at + COMMAND_MEMORY_S),
            )
            return cursor.rowcount == 1

    async def unfinished_commands(self) -> list[CommandRecord]:
        rows = await self._store.read(
            "SELECT command_id, printer_id FROM commands WHERE reply IS NULL ORDER BY received_at"
        )
        return [CommandRecord(str(r[0]), str(r[1]), None) for r in rows]

    async def prune_commands(self, now: float | None = None) -> int:
        async with self._store.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM commands WHERE reply IS NOT NULL AND keep_until < ?",
                (time.time() if now is None else now,),
            )
            return cursor.rowcount

    # --- jobs in flight ----------------------------------------------------------------

    async def record_job(self, job: JobRecord) -> None:
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT INTO jobs (printer_id, job_id, driver_kind, started_at, filament_mm, "
                "detail) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (printer_id) DO UPDATE SET "
                "job_id = excluded.job_id, driver_kind = excluded.driver_kind, "
                "started_at = excluded.started_at, filament_mm = excluded.filament_mm, "
                "detail = excluded.detail",
                (
                    job.printer_id,
                    job.job_id,
                    job.driver_kind,
                    job.started_at,
                    job.filament_mm,
                    json.dumps(job.detail),
                ),
            )

    async def jobs(self) -> list[JobRecord]:
        rows = await self._store.read(
            "SELECT printer_id, job_id, driver_kind, started_at, filament_mm, detail FROM jobs"
        )
        return [_job(r) for r in rows]

    async def job(self, printer_id: str) -> JobRecord | None:
        rows = await self._store.read(
            "SELECT printer_id, job_id, driver_kind, started_at, filament_mm, detail FROM jobs "
            "WHERE printer_id = ?",
            (printer_id,),
        )
        return _job(rows[0]) if rows else None

    async def forget_job(self, printer_id: str) -> None:
        async with self._store.transaction() as db:
            await forget_job_in(db, printer_id)

    # --- the cloud's last desired configuration --------------------------------------

    async def desired_config(self) -> bytes | None:
        value = await self._store.get_meta(DESIRED_CONFIG_KEY)
        return value.encode() if value is not None else None

    async def save_desired_config(self, payload: bytes) -> None:
        await self._store.set_meta(DESIRED_CONFIG_KEY, payload.decode())


async def finish_command_in(db: aiosqlite.Connection, command_id: str, reply: bytes) -> None:
    await db.execute("UPDATE commands SET reply = ? WHERE command_id = ?", (reply, command_id))


async def forget_job_in(
    db: aiosqlite.Connection, printer_id: str, job_id: str | None = None
) -> int:
    """Delete the in-flight record; returns how many rows went (0 or 1)."""
    if job_id is None:
        cursor = await db.execute("DELETE FROM jobs WHERE printer_id = ?", (printer_id,))
    else:
        cursor = await db.execute(
            "DELETE FROM jobs WHERE printer_id = ? AND job_id = ?", (printer_id, job_id)
        )
    return cursor.rowcount


def _job(row: tuple[object, ...]) -> JobRecord:
    detail = json.loads(str(row[5]))
    return JobRecord(
        printer_id=str(row[0]),
        job_id=str(row[1]),
        driver_kind=str(row[2]),
        started_at=float(str(row[3])),
        filament_mm=None if row[4] is None else float(str(row[4])),
        detail=detail if isinstance(detail, dict) else {},
    )
