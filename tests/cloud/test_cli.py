"""`apf cloud migrate | admin create-org | serve` as a user runs them."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import httpx

from cloud.db.migrate import head_revision
from tests.cloud.server import clean_env, cli, running_server


def test_serve_refuses_unmigrated_database(tmp_path: Path) -> None:
    done = cli("serve", "--data-dir", str(tmp_path), "--port", "1", env=clean_env())
    assert done.returncode == 2
    assert "apf cloud migrate" in done.stderr
    assert "none (empty database)" in done.stderr
    made = cli("admin", "create-org", "x", "--data-dir", str(tmp_path), env=clean_env())
    assert made.returncode == 2 and "apf cloud migrate" in made.stderr


def test_migrate_then_create_org_prints_key_last(tmp_path: Path) -> None:
    env = clean_env()
    first = cli("migrate", "--data-dir", str(tmp_path), env=env)
    assert first.returncode == 0, first.stderr
    again = cli("migrate", "--data-dir", str(tmp_path), env=env)  # idempotent
    assert again.returncode == 0 and f"revision {head_revision()} " in again.stdout
    assert (tmp_path / "apf.sqlite3").is_file()
    made = cli("admin", "create-org", "Acme", "--data-dir", str(tmp_path), env=env)
    assert made.returncode == 0, made.stderr
    last = made.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("apf_") and " " not in last
    bad = cli("admin", "create-org", "Acme", "--plan", "gold", "--data-dir", str(tmp_path), env=env)
    assert bad.returncode == 2 and "unknown plan" in bad.stderr


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    done = cli("migrate", "--data-dir", str(tmp_path), env=clean_env(APF_DATA_DRI="x"))
    assert done.returncode == 2
    assert "APF_DATA_DRI" in done.stderr
    toml = tmp_path / "cloud.toml"
    toml.write_text("[cloud]\nport = 8000\nbogus = 1\n")
    done = cli("migrate", "--config", str(toml), env=clean_env())
    assert done.returncode == 2 and "bogus" in done.stderr


def test_serve_answers_with_the_printed_key(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        r = httpx.get(f"{server.base_url}/v1/organization", headers=headers, timeout=10)
        assert r.status_code == 200
        assert r.json()["name"] == "Schema Farm"
        docs = httpx.get(f"{server.base_url}/docs/", timeout=10)
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        schema = httpx.get(f"{server.base_url}/docs/openapi.json", timeout=10).json()
        assert "/v1/jobs" in schema["paths"]


def test_an_idle_connection_outlives_the_clients_pool_expiry(tmp_path: Path) -> None:
    # httpx drops an idle pooled connection after 5 s; a server closing it at that same
    # moment makes the client's next request fail with a read error. The server waits longer.
    with running_server(tmp_path) as server:
        conn = http.client.HTTPConnection(server.base_url.removeprefix("http://"), timeout=10)
        try:
            assert healthz(conn) == 200
            # Idle, as a pooled connection between requests. Had the server closed it, the
            # next request would raise RemoteDisconnected: http.client does not reconnect
            # a connection it believes open.
            time.sleep(HTTPX_POOL_EXPIRY_S + 1)
            assert healthz(conn) == 200
        finally:
            conn.close()


HTTPX_POOL_EXPIRY_S = 5.0


def healthz(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/healthz")
    answer = conn.getresponse()
    answer.read()
    return answer.status
