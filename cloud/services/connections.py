"""How a printer is reached: an OctoPrint, Moonraker, PrusaLink or Bambu Lab URL, or a
serial port on an agent.

- OctoPrint: `http(s)://host[:port][/prefix]`, its API key in `api_key`.
- Klipper through Moonraker: `moonraker://host[:port][/prefix]` (HTTP, port 7125 unless
  given) or `moonrakers://host[:port][/prefix]` (HTTPS behind a proxy, port 443 unless
  given); `api_key` optional (Moonraker may trust the agent's address instead).
- Prusa through PrusaLink: `prusalink://host[:port]` (HTTP, port 80 unless given);
  `api_key` is the printer's `username:password` (HTTP Digest, from its screen) or, where
  the firmware still offers one, its API key.
- Bambu Lab in LAN mode: `bambu://host[:mqtt_port]?serial=SERIAL[&ftps_port=N]
  [&fingerprint=HEX]` (MQTT over TLS on 8883 and implicit FTPS on 990 unless given; other
  ports serve simulators and port forwards); `api_key` is the printer's LAN access code.
  `fingerprint`, the SHA-256 of the printer's self-signed certificate, is pinned when given.
- Serial: `serial:///dev/ttyACM0?baud=115200&profile=marlin` (path of the port on the
  agent's machine; baud and firmware profile as query parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit, urlunsplit

from cloud.problems import invalid

# Rates Marlin's configuration offers for BAUDRATE (Configuration.h), plus 1 Mbaud boards.
BAUD_RATES = frozenset(
    {2400, 9600, 19200, 38400, 57600, 115200, 230400, 250000, 460800, 500000, 921600, 1000000}
)
# Firmware dialects named in DESIGN.md (`firmware-profiles/`); "auto" lets the agent detect.
PROFILES = frozenset(
    {"auto", "marlin", "prusa", "klipper", "reprapfirmware", "smoothieware", "repetier"}
)
PARAM = "connection_url"


# Where each scheme's requests go when the URL names no port.
DEFAULT_PORTS = {
    "http": 80,
    "https": 443,
    "moonraker": 7125,
    "moonrakers": 443,
    "prusalink": 80,
    "bambu": 8883,  # MQTT over TLS
}
# Bambu Lab printers serve their SD card over implicit FTPS here.
BAMBU_FTPS_PORT = 990
_BAMBU_SERIAL = re.compile(r"[A-Za-z0-9]{4,32}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_KINDS = {
    "http": "octoprint",
    "https": "octoprint",
    "moonraker": "moonraker",
    "moonrakers": "moonraker",
    "prusalink": "prusalink",
}
_NAMES = {
    "octoprint": "OctoPrint",
    "moonraker": "Moonraker",
    "prusalink": "PrusaLink",
    "bambu": "Bambu Lab",
}
# Kinds whose `api_key` is kept (sealed) and handed to the agent.
KINDS_WITH_SECRET = frozenset({"octoprint", "moonraker", "prusalink", "bambu"})


@dataclass(frozen=True, slots=True)
class Connection:
    kind: str  # "octoprint" | "moonraker" | "prusalink" | "bambu" | "serial"
    url: str


@dataclass(frozen=True, slots=True)
class BambuAddress:
    """Where the agent reaches a Bambu Lab printer, from its stored bambu:// URL."""

    host: str
    serial: str
    mqtt_port: int
    ftps_port: int
    fingerprint: str | None


def parse_connection(url: str) -> Connection:
    parts = urlsplit(url.strip())
    kind = _KINDS.get(parts.scheme)
    if kind is not None:
        what = _NAMES[kind]
        _check_address(parts, what)
        if parts.query or parts.fragment:
            raise invalid(f"The {what} URL takes no query or fragment.", param=PARAM)
        return Connection(kind, urlunsplit(parts))
    if parts.scheme == "bambu":
        return Connection("bambu", _check_bambu(parts))
    if parts.scheme == "serial":
        return Connection("serial", _check_serial(parts.path, parts.netloc, parts.query, url))
    raise invalid(
        "connection_url must be http(s):// (OctoPrint), moonraker:// (Klipper), "
        "prusalink:// (Prusa), bambu:// (Bambu Lab) or serial:///dev/… (USB serial).",
        param=PARAM,
    )


def _check_address(parts: SplitResult, what: str) -> None:
    """The host and port of a network printer's URL; ``what`` names the kind in messages."""
    if not parts.hostname:
        raise invalid(f"The {what} URL has no host.", param=PARAM)
    if parts.username is not None or parts.password is not None:
        # A URL is shown in responses, logs and printer messages; a secret is not.
        raise invalid(
            "Put the printer's credentials in 'api_key', not in the URL (user:password@).",
            param=PARAM,
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise invalid(f"The {what} URL has a bad port: {exc}.", param=PARAM) from exc


def _check_bambu(parts: SplitResult) -> str:
    """The bambu:// URL as stored: its parameters checked, the fingerprint normalised."""
    what = _NAMES["bambu"]
    _check_address(parts, what)
    if parts.path not in ("", "/") or parts.fragment:
        raise invalid(f"The {what} URL takes no path or fragment.", param=PARAM)
    if parts.port == 0:
        raise invalid(f"The {what} URL has a bad port: 0.", param=PARAM)
    try:
        params = parse_qs(parts.query, strict_parsing=bool(parts.query), keep_blank_values=True)
    except ValueError as exc:
        raise invalid(f"Bad {what} URL query: {exc}.", param=PARAM) from exc
    unknown = sorted(set(params) - {"serial", "ftps_port", "fingerprint"})
    if unknown:
        raise invalid(
            f"Unknown {what} URL parameter '{unknown[0]}'; known: serial, ftps_port, fingerprint.",
            param=PARAM,
        )
    for name, values in params.items():
        if len(values) > 1:
            raise invalid(f"The {what} URL gives '{name}' twice.", param=PARAM)
    query = {"serial": params.get("serial", [""])[0]}
    if not query["serial"]:
        raise invalid(
            f"A {what} URL needs the printer's serial number: bambu://host?serial=SERIAL.",
            param=PARAM,
        )
    if not _BAMBU_SERIAL.fullmatch(query["serial"]):
        raise invalid("'serial' must be 4 to 32 letters and digits.", param=PARAM)
    if "ftps_port" in params:
        port = params["ftps_port"][0]
        if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise invalid("'ftps_port' must be a port number, 1 to 65535.", param=PARAM)
        query["ftps_port"] = str(int(port))
    if "fingerprint" in params:
        fingerprint = params["fingerprint"][0].replace(":", "").lower()
        if not _FINGERPRINT.fullmatch(fingerprint):
            raise invalid(
                "'fingerprint' must be the SHA-256 fingerprint of the printer's certificate: "
                "64 hex digits, colons allowed.",
                param=PARAM,
            )
        query["fingerprint"] = fingerprint
    return urlunsplit(("bambu", parts.netloc, "", urlencode(query), ""))


def bambu_address(url: str) -> BambuAddress:
    """Host, ports, serial and fingerprint of a stored bambu:// URL (checked when stored)."""
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    ftps_port = params.get("ftps_port")
    return BambuAddress(
        host=parts.hostname or "",
        serial=params["serial"][-1],
        mqtt_port=parts.port or DEFAULT_PORTS["bambu"],
        ftps_port=int(ftps_port[-1]) if ftps_port else BAMBU_FTPS_PORT,
        fingerprint=params.get("fingerprint", [None])[-1],
    )


def http_url(url: str) -> str:
    """The http base URL the agent's driver uses for a stored prusalink:// URL."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return urlunsplit(("http", f"{host}:{port}", parts.path, "", ""))


def prusalink_credentials(secret: str) -> tuple[str | None, str | None, str | None]:
    """(username, password, api_key) from the `api_key` a PrusaLink printer was given."""
    user, colon, password = secret.partition(":")
    if colon:
        return user, password, None
    return None, None, secret


def moonraker_http_url(url: str) -> str:
    """The http(s) base URL the agent's driver uses for a stored moonraker(s):// URL."""
    parts = urlsplit(url)
    secure = parts.scheme == "moonrakers"
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return urlunsplit(("https" if secure else "http", f"{host}:{port}", parts.path, "", ""))


def _check_serial(path: str, netloc: str, query: str, url: str) -> str:
    if netloc or not path.startswith("/") or len(path) < 2:
        raise invalid("A serial URL looks like serial:///dev/ttyACM0?baud=115200.", param=PARAM)
    try:
        params = parse_qs(query, strict_parsing=bool(query), keep_blank_values=False)
    except ValueError as exc:
        raise invalid(f"Bad serial URL query: {exc}.", param=PARAM) from exc
    unknown = sorted(set(params) - {"baud", "profile"})
    if unknown:
        raise invalid(f"Unknown serial URL parameter '{unknown[0]}'.", param=PARAM)
    if "baud" in params:
        baud = params["baud"][-1]
        if not baud.isdigit() or int(baud) not in BAUD_RATES:
            raise invalid(f"Unsupported baud rate '{baud}'.", param=PARAM)
    if "profile" in params and params["profile"][-1] not in PROFILES:
        raise invalid(
            f"Unknown firmware profile '{params['profile'][-1]}'; known: "
            f"{', '.join(sorted(PROFILES))}.",
            param=PARAM,
        )
    return url.strip()


def display_url(url: str) -> str:
    """The URL without any user:password part (stored by versions that accepted one)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def origin(url: str) -> tuple[str, str, tuple[int | None, ...]]:
    """Scheme, host and ports: where requests for ``url`` go (and its key with them)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    ports: tuple[int | None, ...] = (port or DEFAULT_PORTS.get(parts.scheme),)
    if parts.scheme == "bambu":
        # A Bambu printer's access code also logs in to its FTPS port.
        ports += (bambu_address(url).ftps_port,)
    return parts.scheme, (parts.hostname or "").lower(), ports
