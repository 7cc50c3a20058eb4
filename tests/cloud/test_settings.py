"""Settings: defaults, TOML, environment, precedence and strictness."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import SettingsError, database_url_for, load_settings


def test_defaults_and_sqlite_url(tmp_path: Path) -> None:
    s = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/apf.sqlite3"
    assert (s.port, s.allow_private_urls) == (8000, False)


def test_precedence_toml_env_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[cloud]\nport = 9000\nhost = "0.0.0.0"\nmqtt_port = 1999\n')
    s = load_settings(
        toml_path=toml,
        environ={"APF_PORT": "9100", "APF_ALLOW_PRIVATE_URLS": "1"},
        overrides={"host": "127.0.0.2", "port": None},
    )
    assert (s.port, s.host, s.mqtt_port, s.allow_private_urls) == (9100, "127.0.0.2", 1999, True)


@pytest.mark.parametrize(
    "environ,needle",
    [
        ({"APF_PORTT": "1"}, "APF_PORTT"),
        ({"APF_PORT": "http"}, "port"),
        ({"APF_PORT": "70000"}, "port"),
        ({"APF_RATE_LIMIT_BACKEND": "redis"}, "rate_limit_backend"),
    ],
)
def test_bad_environment(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        load_settings(environ=environ)


def test_foreign_prefixes_are_ignored() -> None:
    s = load_settings(environ={"APF_TEST_DATABASE_URL": "x", "APF_AGENT_CONFIG": "y"})
    assert s.database_url == ""


def test_bad_toml(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("port = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(toml_path=toml, environ={})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(toml_path=tmp_path / "missing.toml", environ={})


def test_database_url_forms() -> None:
    assert database_url_for("postgresql://u@h/db", ".") == "postgresql+asyncpg://u@h/db"
    assert database_url_for("postgres://u@h/db", ".") == "postgresql+asyncpg://u@h/db"
    assert database_url_for("postgresql+asyncpg://u@h/db", ".") == "postgresql+asyncpg://u@h/db"
