"""What the agent needs to know to drive one Prusa printer through PrusaLink."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PrusaLinkConfig:
    # PrusaLink's base URL, e.g. http://prusa-mk4.local (the cloud's prusalink://host form
    # arrives here as http://host).
    url: str
    # HTTP Digest credentials from the printer's screen (Settings → Network → PrusaLink),
    # or, where the firmware still offers one, an API key sent as X-Api-Key.
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    request_timeout_s: float = 10.0
    upload_timeout_s: float = 600.0
    # PrusaLink answers a start once the printer has taken it; past this, the start is
    # unanswered, not refused: the status then shows whether it began (`start_confirm_s`).
    start_timeout_s: float = 30.0
    start_confirm_s: float = 30.0
    # PrusaLink pushes nothing to API clients: its status is polled.
    poll_interval_s: float = 1.0
    # A new upload is listed by PrusaLink's file system watcher after a moment; the start
    # waits this long for it.
    listing_timeout_s: float = 20.0
    # How long our job may be missing from PrusaLink's status right after its start, or
    # after PrusaLink came back, before its end is decided.
    end_grace_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"PrusaLink URL must start with http:// or https://: {self.url!r}")
        if self.api_key is None and not (self.username and self.password):
            raise ValueError("PrusaLink needs a username and password, or an API key")
