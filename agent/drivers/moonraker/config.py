"""What the agent needs to know to drive one Klipper printer through Moonraker."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class MoonrakerConfig:
    # Moonraker's base URL, e.g. http://voron.local:7125 (a path prefix behind a proxy is
    # kept). The cloud's `moonraker://host:port` form arrives here as http://host:port.
    url: str
    # Sent as X-Api-Key; None when Moonraker trusts the agent's address
    # ([authorization] trusted_clients in moonraker.conf).
    api_key: str | None = field(default=None, repr=False)  # a secret: never in logs
    request_timeout_s: float = 10.0
    upload_timeout_s: float = 600.0
    # `POST /printer/gcode/script` answers only when the script has run: a G28 or a heat-up
    # can take minutes.
    gcode_timeout_s: float = 300.0
    # How long a G-code command waits for a websocket that is (re)opening: Klipper's
    # replies arrive only through it.
    gcode_reply_wait_s: float = 5.0
    # REST polling period while the websocket is down, and as a safety net while it is up.
    poll_interval_s: float = 2.0
    socket_poll_interval_s: float = 10.0
    # Wait before re-opening a failed websocket.
    socket_retry_s: float = 3.0
    # How long our job may be missing from Klipper's print_stats right after its start, or
    # after Moonraker came back, before its end is decided from Moonraker's history.
    end_grace_s: float = 5.0
    # Our uploads are named by content, so a reprint reuses the file; beyond this many of
    # them on the printer's host, the oldest ones are deleted after a job ends.
    keep_uploads: int = 20

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"Moonraker URL must start with http:// or https://: {self.url!r}")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("the Moonraker API key is empty (leave it out to send none)")
        if self.keep_uploads < 1:
            raise ValueError("keep_uploads must be at least 1")

    @property
    def websocket_url(self) -> str:
        base = self.url.rstrip("/")
        scheme, rest = base.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/websocket"
