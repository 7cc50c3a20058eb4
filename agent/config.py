"""The agent's configuration: one typed TOML file, decoded strictly.

An unknown key, a wrong type or a bad value stops start-up with a message that names the
key (msgspec reports the path, e.g. ``Object contains unknown field `pasword` - at
`$.mqtt```). Secrets (the MQTT password, printer keys, passwords and access codes) never
appear in ``repr`` or in logs.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from shared.broker_url import BrokerUrlError, parse_broker_url
from shared.wire.messages import (
    BambuConnection,
    Connection,
    MoonrakerConnection,
    OctoPrintConnection,
    PrinterConfig,
    PrusaLinkConnection,
    SerialConnection,
)

Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file and the key."""


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class MqttSettings(_Strict, frozen=True, kw_only=True):
    # mqtt://host[:port] or mqtts://host[:port]; user:password@ in the URL is accepted too.
    url: str
    username: str | None = None
    password: str | None = None
    # A file holding the password (kept out of the TOML, e.g. a systemd credential).
    password_file: str | None = None
    # CA bundle to verify the broker with (mqtts only); the system store when unset.
    ca_file: str | None = None
    # Client certificate and key for brokers that authenticate agents by certificate.
    cert_file: str | None = None
    key_file: str | None = None
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    # The MQTT client id; the agent id when unset. It must be stable: the broker keeps the
    # persistent session (queued QoS 1 commands) under it.
    client_id: str | None = None

    def __repr__(self) -> str:
        return f"MqttSettings(url={redact_url(self.url)!r}, username={self.username!r})"


class SerialSettings(_Strict, frozen=True, kw_only=True, tag_field="kind", tag="serial"):
    port: str
    baud: PositiveInt | None = None
    profile: str = "auto"


class OctoPrintSettings(_Strict, frozen=True, kw_only=True, tag_field="kind", tag="octoprint"):
    url: str
    api_key: str

    def __repr__(self) -> str:
        return f"OctoPrintSettings(url={self.url!r}, api_key='***')"


class MoonrakerSettings(_Strict, frozen=True, kw_only=True, tag_field="kind", tag="moonraker"):
    # Moonraker's http(s) URL, e.g. http://127.0.0.1:7125 for a Moonraker on this Pi.
    url: str
    # None when Moonraker trusts the agent's address ([authorization] trusted_clients).
    api_key: str | None = None

    def __repr__(self) -> str:
        return f"MoonrakerSettings(url={self.url!r}, api_key={'***' if self.api_key else None})"


class PrusaLinkSettings(_Strict, frozen=True, kw_only=True, tag_field="kind", tag="prusalink"):
    # PrusaLink's http URL, e.g. http://prusa-mk4.local
    url: str
    # HTTP Digest credentials from the printer's screen, or an API key.
    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    def __repr__(self) -> str:
        return f"PrusaLinkSettings(url={self.url!r}, username={self.username!r}, secrets='***')"


class BambuSettings(_Strict, frozen=True, kw_only=True, tag_field="kind", tag="bambu"):
    # The printer's address on the LAN, e.g. 192.168.1.40 (its screen shows it).
    host: str
    # Its serial number, which names its MQTT topics.
    serial: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{4,32}$")]
    # The LAN access code from its screen (Settings → Network / LAN Only).
    access_code: str
    # Other ports than the printer's own serve simulators and port forwards.
    mqtt_port: Port = 8883
    ftps_port: Port = 990
    # SHA-256 of the printer's certificate (64 hex digits, colons allowed): pinned when
    # given, instead of trusting the certificate seen first.
    fingerprint: (
        Annotated[str, msgspec.Meta(pattern=r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")] | None
    ) = None

    def __repr__(self) -> str:
        return f"BambuSettings(host={self.host!r}, serial={self.serial!r}, access_code='***')"


class LocalPrinter(_Strict, frozen=True, kw_only=True):
    printer_id: Id
    name: str
    connection: (
        SerialSettings | OctoPrintSettings | MoonrakerSettings | PrusaLinkSettings | BambuSettings
    )
    model: str | None = None

    def to_wire(self) -> PrinterConfig:
        conn: Connection
        match self.connection:
            case SerialSettings(port=port, baud=baud, profile=profile):
                conn = SerialConnection(port=port, baud=baud, profile=profile)
            case OctoPrintSettings(url=url, api_key=key):
                conn = OctoPrintConnection(url=url, api_key=key)
            case MoonrakerSettings(url=url, api_key=key):
                conn = MoonrakerConnection(url=url, api_key=key)
            case PrusaLinkSettings(url=url, username=user, password=password, api_key=key):
                conn = PrusaLinkConnection(url=url, username=user, password=password, api_key=key)
            case BambuSettings() as bambu:
                conn = BambuConnection(
                    host=bambu.host,
                    serial=bambu.serial,
                    access_code=bambu.access_code,
                    mqtt_port=bambu.mqtt_port,
                    ftps_port=bambu.ftps_port,
                    fingerprint=bambu.fingerprint.replace(":", "").lower()
                    if bambu.fingerprint
                    else None,
                )
        return PrinterConfig(
            printer_id=self.printer_id, name=self.name, connection=conn, model=self.model
        )


class FilesSettings(_Strict, frozen=True, kw_only=True):
    # Downloaded G-code is kept by sha256 so a reprint needs no download; oldest evicted first.
    cache_max_mb: PositiveInt = 2048
    download_timeout_s: PositiveFloat = 600.0


class OutboxSettings(_Strict, frozen=True, kw_only=True):
    # Rows kept while the link is down; past it telemetry goes first, job events never.
    max_rows: Annotated[int, msgspec.Meta(ge=100)] = 100_000
    # While offline, one telemetry sample per printer per this interval goes to the outbox.
    offline_telemetry_interval_s: PositiveFloat = 60.0


class MetricsSettings(_Strict, frozen=True, kw_only=True):
    # host:port where Prometheus scrapes GET /metrics (e.g. "127.0.0.1:9464"; "[::1]:9464"
    # for IPv6). Off when unset: the agent opens no port it was not asked to.
    listen: str | None = None


class AgentConfig(_Strict, frozen=True, kw_only=True):
    agent_id: Id
    org_id: Id
    data_dir: str
    mqtt: MqttSettings
    log_level: LogLevel = "INFO"
    # The retained state of every printer is republished this often even without a change.
    heartbeat_s: PositiveFloat = 60.0
    # At most one telemetry message per printer per this interval (coalesced).
    telemetry_interval_s: PositiveFloat = 1.0
    files: FilesSettings = FilesSettings()
    outbox: OutboxSettings = OutboxSettings()
    metrics: MetricsSettings = MetricsSettings()
    printers: list[LocalPrinter] = []

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def mqtt_client_id(self) -> str:
        return self.mqtt.client_id or self.agent_id


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: str | None
    cert_file: str | None
    key_file: str | None

    def __repr__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def redact_url(url: str) -> str:
    """The URL without credentials or query (a signed URL's signature is a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def broker_endpoint(settings: MqttSettings) -> BrokerEndpoint:
    try:
        address = parse_broker_url(settings.url)
    except BrokerUrlError as exc:
        raise ConfigError(f"mqtt.url: {exc}") from None
    tls = address.tls
    username = settings.username or address.username
    password = settings.password or address.password
    if settings.password_file is not None:
        try:
            password = Path(settings.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"mqtt.password_file: cannot read it ({exc.strerror})") from None
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(settings, key)
        if value is not None and not tls:
            raise ConfigError(f"mqtt.{key} is set but mqtt.url is not mqtts://")
        if value is not None and not Path(value).is_file():
            raise ConfigError(f"mqtt.{key}: no such file {value!r}")
    return BrokerEndpoint(
        host=address.host,
        port=address.port,
        tls=tls,
        username=username,
        password=password,
        ca_file=settings.ca_file,
        cert_file=settings.cert_file,
        key_file=settings.key_file,
    )


_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


def listen_address(settings: MetricsSettings) -> tuple[str, int] | None:
    """``(host, port)`` to serve metrics on, None when off; port 0 takes any free port."""
    value = settings.listen
    if value is None:
        return None
    problem = f"metrics.listen: expected host:port, e.g. 127.0.0.1:9464, not {value!r}"
    host, colon, port_text = value.rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(problem)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(problem) from None
    elif not _HOST_NAME.match(host):
        # Also a bare IPv6 address: its colons make the port ambiguous without brackets.
        raise ConfigError(problem)
    return host, int(port_text)


def parse_config(text: str, source: str = "<config>") -> AgentConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(raw, AgentConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    seen: set[str] = set()
    for printer in config.printers:
        if printer.printer_id in seen:
            raise ConfigError(f"{source}: printers: printer_id {printer.printer_id!r} twice")
        seen.add(printer.printer_id)
    try:
        broker_endpoint(config.mqtt)
        listen_address(config.metrics)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def load_config(path: Path) -> AgentConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
    return parse_config(text, str(path))
