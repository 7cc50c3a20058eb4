"""Typed results: msgspec Structs decoded leniently from the API's JSON.

Lenient on purpose: unknown fields are ignored (a newer cloud may add some) and every field
has a default, because `fields=id,name` sparse sets drop the others. A dropped string reads
``""``, a dropped list ``[]``, anything nullable ``None``. Enumerated values (``status``,
``priority``) are plain strings, so a value added by a newer cloud never breaks decoding;
compare them with string literals (the values are listed in the API reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class _Model(msgspec.Struct, kw_only=True, frozen=True):
    pass


class Pagination(_Model, frozen=True):
    page: int = 1
    per_page: int = 20
    total: int = 0
    total_pages: int = 0


class Temperatures(_Model, frozen=True):
    hotend: float | None = None
    bed: float | None = None


class ReportedMaterial(_Model, frozen=True):
    """Filament a printer itself reports loaded (a Bambu Lab AMS tray, its external spool):
    ``slot`` as the printer names it (``"AMS1 tray 2"``), ``color`` as ``"#RRGGBB"``."""

    slot: str = ""
    type: str | None = None
    color: str | None = None
    remaining_pct: float | None = None


class Printer(_Model, frozen=True):
    id: str = ""
    name: str = ""
    status: str = ""
    model: str | None = None
    firmware: str | None = None
    temperatures: Temperatures = msgspec.field(default_factory=Temperatures)
    current_job: str | None = None
    progress: float | None = None
    group: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    agent_id: str | None = None
    connection_type: str | None = None
    connection_url: str | None = None
    has_api_key: bool | None = None
    reported_materials: list[ReportedMaterial] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PrinterCommand(_Model, frozen=True):
    """A printer action: ``status`` is ``ok`` once done, ``sent`` while its agent has not
    answered. Between two copies of a job the cloud does a pause, resume or cancel itself:
    then ``id`` and ``expires_at`` are None. ``job_id``: the job it acted on, if any."""

    id: str | None = None
    printer_id: str = ""
    job_id: str | None = None
    action: str = ""
    status: str = ""
    error_code: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None


class GcodeCommand(_Model, frozen=True):
    """Console G-code sent to a printer (admin keys only): ``status`` is ``ok`` once the
    printer answered every line, with what it said in ``replies`` (``"T:210.0 /210.0 …"``);
    ``sent`` (or ``pending``) while its agent has not answered, ``replies`` then empty."""

    id: str = ""
    printer_id: str = ""
    lines: list[str] = msgspec.field(default_factory=list)
    status: str = ""
    replies: list[str] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    expires_at: datetime | None = None


class JobMaterial(_Model, frozen=True):
    type: str | None = None
    color: str | None = None
    estimated_usage: float | None = None


class Job(_Model, frozen=True):
    id: str = ""
    name: str = ""
    status: str = ""
    priority: str = ""
    printer_id: str | None = None
    progress: float | None = None
    file_url: str | None = None
    estimated_duration: int | None = None
    elapsed_time: int | None = None
    material: JobMaterial | None = None
    copies: int | None = None
    copies_completed: int | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    failure_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


class JobFileSlicer(_Model, frozen=True):
    name: str = ""
    version: str | None = None


class JobFileAnalysis(_Model, frozen=True):
    """What ``jobs.analyze`` found in a G-code file: what a job from it would carry
    (``estimated_duration`` in s, ``material``: the slicer's type, grams), more of the
    analysis, and ``warnings`` (sentences) to read before queueing it. Nothing was stored."""

    filename: str = ""
    size_bytes: int = 0
    estimated_duration: int | None = None
    estimated_duration_source: str = ""
    material: JobMaterial | None = None
    filament_used_mm: float | None = None
    layer_count: int | None = None
    layer_height_mm: float | None = None
    nozzle_diameter_mm: float | None = None
    first_layer_hotend_c: float | None = None
    first_layer_bed_c: float | None = None
    slicer: JobFileSlicer | None = None
    warnings: list[str] = msgspec.field(default_factory=list)


class Material(_Model, frozen=True):
    id: str = ""
    type: str = ""
    brand: str | None = None
    color: str | None = None
    spool_weight: float | None = None
    remaining_weight: float | None = None
    cost_per_kg: float | None = None
    printer_id: str | None = None
    reorder_threshold: float | None = None
    status: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Period(_Model, frozen=True):
    from_: datetime | None = msgspec.field(default=None, name="from")
    to: datetime | None = None


class FleetMetrics(_Model, frozen=True):
    """The spec's fleet figures. Rates are percentages; the cloud reports 0.0 when there is
    nothing to divide by (no printer, no finished print) in the period. None only when a
    server leaves a figure out (e.g. a sparse response)."""

    total_printers: int = 0
    active_printers: int = 0
    utilization_rate: float | None = None
    jobs_completed: int = 0
    success_rate: float | None = None
    # seconds, grams and the organization's currency, as the cloud reports them
    total_print_time: float = 0.0
    material_consumed: float = 0.0
    estimated_cost: float | None = None


class FleetAnalytics(_Model, frozen=True):
    period: Period = msgspec.field(default_factory=Period)
    metrics: FleetMetrics = msgspec.field(default_factory=FleetMetrics)


class Analytics(_Model, frozen=True):
    """Analytics of one printer, of jobs or of materials: a period and named figures.

    ``metrics`` stays a mapping: the figures per report are documented in docs/api.md and
    grow over time; ``data`` holds any per-item breakdown the report carries.
    """

    period: Period = msgspec.field(default_factory=Period)
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    data: list[dict[str, Any]] = msgspec.field(default_factory=list)
    printer_id: str | None = None


class Webhook(_Model, frozen=True):
    id: str = ""
    url: str = ""
    events: list[str] = msgspec.field(default_factory=list)
    enabled: bool = True
    # Only in the answer to the create call; never returned again.
    secret: str | None = None
    # Set when the cloud switched the endpoint off: "gone" (it answered 410) or "failing".
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebhookTestResult(_Model, frozen=True):
    """The outcome of ``POST /v1/webhooks/:id/test``: how your endpoint took the test event."""

    id: str = ""
    webhook_id: str | None = None
    message_id: str | None = None
    event: str | None = None
    success: bool | None = None
    status: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    created_at: datetime | None = None


class DeliveryAttempt(_Model, frozen=True):
    """One HTTP attempt at delivering one message to an endpoint."""

    id: str = ""
    webhook_id: str = ""
    # The `webhook-id` header: the same on every retry of one message.
    message_id: str = ""
    event: str = ""
    attempt: int = 0
    attempted_at: datetime | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    success: bool = False
    error: str | None = None
    # "succeeded", "retrying", "failed" or "test".
    outcome: str = ""
    next_retry_at: datetime | None = None


class PlanLimits(_Model, frozen=True):
    """The plan's limits; ``None`` means unlimited."""

    printers: int | None = None
    agents: int | None = None
    users: int | None = None
    storage_bytes: int | None = None
    active_jobs: int | None = None


class Usage(_Model, frozen=True):
    printers: int = 0
    agents: int = 0
    users: int = 0
    storage_bytes: int = 0
    active_jobs: int = 0


class Organization(_Model, frozen=True):
    id: str = ""
    name: str = ""
    plan: str = ""
    limits: PlanLimits = msgspec.field(default_factory=PlanLimits)
    usage: Usage = msgspec.field(default_factory=Usage)
    # Home Assistant MQTT discovery of the organization's printers (docs/home-assistant.md).
    home_assistant_enabled: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


class User(_Model, frozen=True):
    id: str = ""
    email: str = ""
    name: str = ""
    role: str = ""
    created_at: datetime | None = None


class Invitation(_Model, frozen=True):
    id: str = ""
    email: str = ""
    role: str = ""
    # Only in the answer to the invite call: what the invitee accepts with.
    token: str | None = None
    # In the list of open invitations: the inviting key's user (None: an organization key).
    invited_by: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None


class Agent(_Model, frozen=True):
    id: str = ""
    name: str = ""
    state: str = ""
    version: str | None = None
    mqtt_username: str | None = None
    last_seen_at: datetime | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked: bool = False


class MqttCredentials(_Model, frozen=True):
    url: str = ""
    username: str = ""
    password: str = ""
    client_id: str = ""
    topic_root: str = ""
    # The broker had the login when the answer was sent (false: applied once it is back).
    provisioned: bool = False


class AgentRegistration(_Model, frozen=True):
    """The answer to registering an agent or rotating its credentials: shown once."""

    agent: Agent = msgspec.field(default_factory=Agent)
    mqtt: MqttCredentials = msgspec.field(default_factory=MqttCredentials)
    config_toml: str = ""


class MqttCredential(_Model, frozen=True):
    """A read-only MQTT login for dashboards. ``password``, ``url`` and ``provisioned`` are
    set only in the answer to `create` (the password is never shown again)."""

    id: str = ""
    name: str = ""
    username: str = ""
    topics: list[str] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked: bool = False
    password: str | None = None
    url: str | None = None
    provisioned: bool | None = None


class ApiKey(_Model, frozen=True):
    """An API key of the organization, listed by its ``prefix``. ``key`` is set only in the
    answer to `create` (it is never shown again)."""

    id: str = ""
    name: str = ""
    prefix: str = ""
    scopes: list[str] = msgspec.field(default_factory=list)
    user_id: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked: bool = False
    key: str | None = None


class Deleted(_Model, frozen=True):
    id: str = ""
    deleted: bool = True


class WebhookEvent(_Model, frozen=True):
    """A verified webhook delivery: ``id`` from ``webhook-id``, the rest from the body."""

    id: str = ""
    type: str = ""
    timestamp: datetime | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
