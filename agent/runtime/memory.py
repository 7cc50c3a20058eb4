"""The OctoPrint driver's durable job memory, kept in the agent's SQLite store."""

from __future__ import annotations

import json
from dataclasses import asdict

from agent.drivers.octoprint.jobs import JobRecord
from agent.sync.store import Store


class StoredJobMemory:
    """One `JobRecord` per printer under a meta key; survives agent restarts."""

    def __init__(self, store: Store, printer_id: str) -> None:
        self._store = store
        self._key = f"octoprint_job:{printer_id}"

    async def get(self) -> JobRecord | None:
        raw = await self._store.get_meta(self._key)
        if not raw:
            return None
        data = json.loads(raw)
        return JobRecord(
            job_id=str(data["job_id"]),
            path=str(data["path"]),
            prints_before=int(data["prints_before"]),
            started_at=float(data["started_at"]),
            cancel_requested=bool(data.get("cancel_requested", False)),
        )

    async def set(self, record: JobRecord) -> None:
        await self._store.set_meta(self._key, json.dumps(asdict(record)))

    async def clear(self) -> None:
        await self._store.set_meta(self._key, "")
