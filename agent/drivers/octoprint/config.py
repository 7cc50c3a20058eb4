"""What the agent needs to know to drive one OctoPrint printer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class OctoPrintConfig:
    # OctoPrint's base URL, e.g. http://octopi.local (a path prefix behind a proxy is kept).
    url: str
    # An application key (Settings → Application Keys) or a user's key; sent as X-Api-Key.
    api_key: str = field(repr=False)  # a secret: never in logs or reprs
    # How OctoPrint connects to its printer when it is not connected; None means
    # OctoPrint's own saved defaults (Settings → Serial Connection).
    port: str | None = None
    baudrate: int | None = None
    printer_profile: str | None = None
    request_timeout_s: float = 10.0
    upload_timeout_s: float = 300.0
    # REST polling period while the push socket is down, and as a safety net while it is up.
    poll_interval_s: float = 2.0
    push_poll_interval_s: float = 5.0
    # Wait before re-opening a failed push socket.
    push_retry_s: float = 5.0
    # At most one `POST /api/connection` connect per this many seconds.
    connect_retry_s: float = 30.0
    # How long our job may be missing from OctoPrint's state (or still starting) before
    # its end is decided without a logged outcome.
    end_grace_s: float = 5.0
    gcode_reply_timeout_s: float = 5.0
    # Delete our upload from OctoPrint's storage once the job's end is reported.
    delete_finished_uploads: bool = True

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"OctoPrint URL must start with http:// or https://: {self.url!r}")
        if not self.api_key.strip():
            raise ValueError("an OctoPrint API key is required")
