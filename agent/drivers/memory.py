"""A driver's durable memory of the one job it started, for printers that print by themselves.

OctoPrint and Klipper keep printing while the agent restarts or loses its link. Their
drivers keep a small record of the job they started (which AutoPrintFarm job, which file
on the printer's host) so that a new driver instance re-attaches to it instead of taking
it for somebody else's print. Each driver defines its own record type; this module keeps
one record per printer, either in the agent's SQLite store or in memory (CLI, tests).
"""

from __future__ import annotations

import logging
from typing import Generic, Protocol, TypeVar

import msgspec

log = logging.getLogger(__name__)

R = TypeVar("R")


class JobMemory(Protocol[R]):
    """Durable storage for at most one record of type R per printer."""

    async def get(self) -> R | None: ...

    async def set(self, record: R) -> None: ...

    async def clear(self) -> None: ...


class InMemoryJobMemory(Generic[R]):
    """A `JobMemory` that lives as long as the process (the CLI, tests)."""

    def __init__(self, record: R | None = None) -> None:
        self._record = record

    async def get(self) -> R | None:
        return self._record

    async def set(self, record: R) -> None:
        self._record = record

    async def clear(self) -> None:
        self._record = None


class MetaStore(Protocol):
    """The key/value part of the agent's store (`agent.sync.store.Store`)."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...


class StoredJobMemory(Generic[R]):
    """One record under a meta key, as JSON; survives agent restarts.

    A value that no longer decodes (written by another version, or damaged) reads as no
    record, with a warning: the driver then treats the printer's print as unknown rather
    than failing to start.
    """

    def __init__(self, store: MetaStore, key: str, record_type: type[R]) -> None:
        self._store = store
        self._key = key
        self._type = record_type

    async def get(self) -> R | None:
        raw = await self._store.get_meta(self._key)
        if not raw:
            return None
        try:
            return msgspec.json.decode(raw, type=self._type)
        except msgspec.DecodeError as exc:
            log.warning("ignoring the unreadable job memory under %s: %s", self._key, exc)
            return None

    async def set(self, record: R) -> None:
        await self._store.set_meta(self._key, msgspec.json.encode(record).decode())

    async def clear(self) -> None:
        await self._store.set_meta(self._key, "")
