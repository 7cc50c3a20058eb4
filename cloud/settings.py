"""Settings of the cloud service: one strict Struct, read from a TOML file and `APF_*` variables.

Precedence: built-in defaults < TOML file < environment < explicit overrides (command-line
flags). Unknown keys are errors that name the key, so a typo never silently falls back to a
default (msgspec's `forbid_unknown_fields`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

ENV_PREFIX = "APF_"
# Variables with the prefix that belong to other parts of the system (the agent, the test
# suite) and must not be read as cloud settings.
_FOREIGN_ENV = frozenset(
    # APF_API_KEY and APF_BASE_URL configure the SDKs, not the server.
    {"APF_CONFIG", "APF_CLOUD_SETTINGS_JSON", "APF_API_KEY", "APF_BASE_URL"}
)
_FOREIGN_PREFIXES = ("APF_AGENT_", "APF_TEST_", "APF_BROKER_", "APF_SDK_", "APF_DEMO_", "APF_CI")


class SettingsError(ValueError):
    """A settings file or variable is unreadable, unknown or out of range."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything `create_app` needs; nothing is read from the environment after this."""

    data_dir: str = "./data"
    # Empty means SQLite at `<data_dir>/apf.sqlite3`; otherwise a SQLAlchemy URL such as
    # `postgresql+asyncpg://user:pass@host/db` (a bare `postgresql://` is accepted too).
    database_url: str = ""
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    # Public base URL used in signed download links and agent config snippets.
    public_url: str = ""
    allow_private_urls: bool = False
    max_upload_bytes: Annotated[int, msgspec.Meta(gt=0)] = 256 * 1024 * 1024
    fetch_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 600
    # "memory" (per process) or "database" (shared by every process on the same database).
    rate_limit_backend: Literal["memory", "database"] = "memory"
    # The broker address agents are told (registration snippet): reachable from the shop LAN.
    mqtt_host: str = "127.0.0.1"
    mqtt_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    mqtt_tls: bool = False
    # The broker the cloud's bridge connects to (mqtt:// or mqtts://, with credentials).
    # Empty: no bridge in this process (the API serves; nothing reaches agents).
    mqtt_url: str = ""
    # With several replicas: a shared-subscription group, so each agent message is handled
    # by one replica (Mosquitto, EMQX and the embedded broker share subscriptions).
    mqtt_shared_group: str = ""
    mqtt_ca_file: str = ""
    # "dynsec": the cloud creates, rotates and removes agent and dashboard logins on the
    # broker through its dynamic-security control topic (Mosquitto's plugin, or the
    # embedded broker), logging in as the `mqtt_url` user, which must be allowed to
    # administer it. "off": the operator provisions broker logins by other means.
    mqtt_provisioning: Literal["dynsec", "off"] = "dynsec"
    # Secret for signed file download URLs; generated into the data dir when empty.
    signing_key: str = ""
    # Key that seals secrets at rest (printer keys, MQTT passwords): 64 hex digits, the
    # same on every replica. Empty: derived from the signing key. `secrets_old_keys`
    # (comma-separated) still open values sealed before a rotation (cloud/sealing.py).
    secrets_key: str = ""
    secrets_old_keys: str = ""
    db_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    db_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    docs_enabled: bool = True
    # How long a dashboard sign-in lasts, in hours (cloud/dashboard/sessions.py): the browser
    # then signs in with its API key again. Up to 30 days; the cookie holds no key itself.
    dashboard_session_hours: Annotated[int, msgspec.Meta(ge=1, le=720)] = 12
    # The browser dashboard at `/` (cloud/dashboard/pages.py); off: those pages answer 404
    # and the cloud serves the /v1 API alone.
    dashboard_enabled: bool = True
    # Bearer token that `GET /metrics` (Prometheus) asks for; empty: no /metrics at all (404).
    # At least 16 printable characters, no spaces: it guards farm-wide counts.
    metrics_token: Annotated[str, msgspec.Meta(pattern=r"^(?:|[!-~]{16,})$")] = ""
    # SQLite: a write sent without the process's write lock can stall 10 s (cloud/db/writer.py).
    # "log": a warning with where it came from, once per statement; "raise": refused (tests).
    sqlite_unlocked_writes: Literal["log", "raise"] = "log"
    debug: bool = False

    @property
    def resolved_database_url(self) -> str:
        return database_url_for(self.database_url, self.data_dir)

    @property
    def files_dir(self) -> Path:
        return Path(self.data_dir) / "files"


def database_url_for(database_url: str, data_dir: str) -> str:
    """The SQLAlchemy async URL: SQLite under the data dir unless a URL is given."""
    if not database_url:
        path = Path(data_dir).resolve() / "apf.sqlite3"
        return f"sqlite+aiosqlite:///{path}"
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if database_url.startswith(plain):
            return driver + database_url[len(plain) :]
    return database_url


_FIELDS: dict[str, Any] = {f.name: f for f in msgspec.structs.fields(Settings)}


def _env_values(environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _FOREIGN_ENV:
            continue
        if name.startswith(_FOREIGN_PREFIXES):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in _FIELDS:
            raise SettingsError(f"unknown setting {name} (known: {_known_env()})")
        values[key] = raw
    return values


def _known_env() -> str:
    return ", ".join(ENV_PREFIX + k.upper() for k in sorted(_FIELDS))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc
    # Accept either top-level keys or a `[cloud]` table, so one file can hold several parts.
    section = raw.get("cloud", raw)
    if not isinstance(section, dict):
        raise SettingsError(f"settings file {path}: [cloud] must be a table")
    return dict(section)


def load_settings(
    *,
    toml_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults, the TOML file, `APF_*` variables and overrides into a `Settings`."""
    env = os.environ if environ is None else environ
    if toml_path is None and env.get("APF_CONFIG"):
        toml_path = env["APF_CONFIG"]
    merged: dict[str, Any] = {}
    if toml_path is not None:
        merged.update(_read_toml(Path(toml_path)))
    merged.update(_env_values(env))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        # `strict=False` lets "8000" and "1" from the environment become int and bool.
        return msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
