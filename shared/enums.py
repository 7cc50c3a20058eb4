"""Enumerations of the public contract: the values the API, MQTT payloads and webhooks carry.

Values are lower-case strings so they read the same in JSON, SQL and logs. New members may be
added; consumers must treat an unknown value as "unknown", never crash on it.
"""

from __future__ import annotations

from enum import StrEnum


class PrinterStatus(StrEnum):
    """What a printer is doing, as the agent sees it."""

    IDLE = "idle"
    PRINTING = "printing"
    PAUSED = "paused"
    OFFLINE = "offline"
    ERROR = "error"
    # Connected but not ready to take a job: connecting, homing, heating before a job starts.
    BUSY = "busy"


class JobStatus(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    PRINTING = "printing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_JOB_STATUSES


_FINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Larger is more urgent; the queue orders by this, then by age."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class MaterialStatus(StrEnum):
    ACTIVE = "active"
    LOW = "low"
    EMPTY = "empty"
    ARCHIVED = "archived"


class EventType(StrEnum):
    """Event names shared by the agent's events topic, the cloud's event log and webhooks."""

    JOB_CREATED = "job.created"
    JOB_STARTED = "job.started"
    JOB_PAUSED = "job.paused"
    JOB_RESUMED = "job.resumed"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    PRINTER_ONLINE = "printer.online"
    PRINTER_OFFLINE = "printer.offline"
    PRINTER_ERROR = "printer.error"
    MATERIAL_LOW = "material.low"
    MATERIAL_EMPTY = "material.empty"


class AgentState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class PrinterAction(StrEnum):
    """The actions of `POST /v1/printers/:id/actions` (and their MQTT commands)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    HOME = "home"
    COOLDOWN = "cooldown"


class ErrorCode(StrEnum):
    """Error codes of the API spec, also used in MQTT command replies."""

    INVALID_REQUEST = "invalid_request"
    INVALID_API_KEY = "invalid_api_key"
    INSUFFICIENT_PERMISSIONS = "insufficient_permissions"
    RESOURCE_NOT_FOUND = "resource_not_found"
    PRINTER_BUSY = "printer_busy"
    PRINTER_OFFLINE = "printer_offline"
    FILE_INVALID = "file_invalid"
    QUOTA_EXCEEDED = "quota_exceeded"
    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
    INTERNAL_ERROR = "internal_error"
    # Reply-only codes: a command the agent refused without touching the printer.
    COMMAND_EXPIRED = "command_expired"
    UNKNOWN_PRINTER = "unknown_printer"
