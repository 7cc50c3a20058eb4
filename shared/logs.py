"""Logging for every entry point (`apf`, the cloud's worker processes, the agent).

Human-readable lines by default; `APF_LOG_FORMAT=json` gives one JSON object per line
(time in ISO 8601 UTC, level, logger, message, and the ids in play), which log shippers
read without a parsing rule.

The ids in play (request, organization, agent, printer, job) live in one context variable:
asyncio copies the context into every task it creates, so an id bound by the API's
middleware or by a printer's supervisor follows the work it starts without being passed
down by hand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TextIO

__all__ = [
    "ID_KEYS",
    "LogFormatError",
    "bind_log_ids",
    "configure_logging",
    "current_log_ids",
    "log_context",
]

ID_KEYS = ("request_id", "org_id", "agent_id", "printer_id", "job_id")
FORMAT_ENV = "APF_LOG_FORMAT"
LEVEL_ENV = "APF_LOG_LEVEL"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Never mutated: each change sets a new mapping, so a task's copy of the context stays its own.
_ids: ContextVar[Mapping[str, str]] = ContextVar("apf_log_ids", default=MappingProxyType({}))


class LogFormatError(ValueError):
    """`APF_LOG_FORMAT` names a format there is none of."""


def _merged(
    request_id: str | None,
    org_id: str | None,
    agent_id: str | None,
    printer_id: str | None,
    job_id: str | None,
) -> dict[str, str]:
    given = dict(
        request_id=request_id,
        org_id=org_id,
        agent_id=agent_id,
        printer_id=printer_id,
        job_id=job_id,
    )
    return {**_ids.get(), **{key: value for key, value in given.items() if value}}


@contextlib.contextmanager
def log_context(
    *,
    request_id: str | None = None,
    org_id: str | None = None,
    agent_id: str | None = None,
    printer_id: str | None = None,
    job_id: str | None = None,
) -> Iterator[None]:
    """Records logged inside the block (and in tasks it starts) carry these ids; ids bound
    with `bind_log_ids` inside the block end with it too."""
    token = _ids.set(_merged(request_id, org_id, agent_id, printer_id, job_id))
    try:
        yield
    finally:
        _ids.reset(token)


def bind_log_ids(
    *,
    request_id: str | None = None,
    org_id: str | None = None,
    agent_id: str | None = None,
    printer_id: str | None = None,
    job_id: str | None = None,
) -> None:
    """Add ids learnt part-way through (the organization once a key is resolved) until the
    enclosing `log_context` ends."""
    _ids.set(_merged(request_id, org_id, agent_id, printer_id, job_id))


def current_log_ids() -> Mapping[str, str]:
    return _ids.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ids from the context, or from `extra={...}` when the
    caller passed them explicitly (those win: they are the more specific)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_log_ids())
        for key in ID_KEYS:
            value = record.__dict__.get(key)
            if isinstance(value, str) and value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(_TEXT_FORMAT)
    raise LogFormatError(f"{FORMAT_ENV}={log_format!r}: use 'text' (the default) or 'json'")


class _Handler(logging.StreamHandler[TextIO]):
    """Writes to `sys.stderr` as it is at each record, not as it was when logging was
    configured: pytest's capture and rich's live displays swap it while a command runs."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str | int | None = None, *, stream: TextIO | None = None) -> None:
    """One handler on the root logger, in the format `APF_LOG_FORMAT` asks for.

    Called again (a worker process, a test) it replaces the handler it installed before and
    leaves other handlers alone. Without `level`, `APF_LOG_LEVEL` (which `apf` sets for the
    worker processes it spawns) or WARNING.
    """
    log_format = os.environ.get(FORMAT_ENV, "text").strip().lower() or "text"
    handler = _Handler(stream)
    handler.setFormatter(_formatter(log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get(LEVEL_ENV, "WARNING"))
