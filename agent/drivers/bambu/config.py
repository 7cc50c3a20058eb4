"""What the agent needs to know to drive one Bambu Lab printer over its LAN protocol."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# A certificate's SHA-256 fingerprint as lowercase hex (colons and case are normalised away).
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def normalise_fingerprint(text: str) -> str:
    """`AB:CD:…` or `abcd…` → `abcd…`; ValueError when it is not a SHA-256 fingerprint."""
    cleaned = text.replace(":", "").strip().lower()
    if not _FINGERPRINT.match(cleaned):
        raise ValueError(f"not a SHA-256 certificate fingerprint: {text!r}")
    return cleaned


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as lowercase hex without colons."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class BambuConfig:
    # The printer's address on the LAN (its screen: Settings → Network).
    host: str
    # The printer's serial number: it names the MQTT topics device/{serial}/….
    serial: str
    # The 8-character LAN access code from the printer's screen: MQTT and FTPS password.
    access_code: str = field(repr=False)
    # Fixed on a real printer; other values serve simulators and port forwards.
    mqtt_port: int = 8883
    ftps_port: int = 990
    # The printer's certificate is self-signed: pinned on first use unless given here. One
    # device certificate (CN = serial) serves MQTT and FTPS, so one pin checks both.
    fingerprint: str | None = None
    # Each request's acknowledgement, and each network step of an upload (connect, a
    # block, a reply): the whole upload of a large file may take longer.
    request_timeout_s: float = 10.0
    # After a refused login the printer counts failures and locks LAN access for a while;
    # the agent waits this long before it tries the same access code again.
    refused_login_backoff_s: float = 300.0
    # How long our job may be missing from the reports right after its start before its
    # end is decided (the printer reports IDLE or an old FINISH until it has taken the file).
    end_grace_s: float = 10.0
    # After a start the printer refused (card full, Developer Mode off, …) the printer is
    # reported `error` with the reason this long, so the queue does not hand it the same
    # job again at once; then it is offered jobs again.
    refused_start_hold_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("a Bambu printer needs its host")
        if not re.fullmatch(r"[A-Za-z0-9]{4,32}", self.serial):
            raise ValueError(f"a Bambu serial number is 4–32 letters and digits: {self.serial!r}")
        if not self.access_code:
            raise ValueError("a Bambu printer needs its LAN access code")
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))
