"""The container image's install steps (deploy/install-cloud.sh, which deploy/Dockerfile
runs) as a plain script in a fresh venv, then the installed cloud started the way the
image's entry point starts it, and asked over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared.version import __version__
from tests.packaging.conftest import REPO, run
from tests.support.ports import free_port

SERVE_WITHIN_S = 60


def get(url: str, key: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def wait_healthy(url: str, server: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + SERVE_WITHIN_S
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1][-3000:]
        try:
            status, body = get(url)
        except OSError:
            # Not listening yet: uvicorn binds after the app has loaded.
            time.sleep(0.2)
            continue
        assert status == 200, body
        return body
    raise AssertionError(f"no answer from {url} within {SERVE_WITHIN_S} s")


def test_install_script_gives_a_cloud_that_migrates_serves_and_answers(
    wheels: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "opt"
    installed = run(REPO / "deploy" / "install-cloud.sh", prefix, wheels, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert f"apf {__version__}" in installed.stdout
    apf = prefix / "bin" / "apf"
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APF_", "PYTHON"))}
    env["APF_DATA_DIR"] = str(data)

    def apf_run(*args: str) -> subprocess.CompletedProcess[str]:
        return run(apf, *args, cwd=tmp_path, env=env)

    migrated = apf_run("cloud", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    created = apf_run("cloud", "admin", "create-org", "Packaged Farm")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [str(apf), "cloud", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/healthz", server)
        assert health == {"status": "ok", "version": __version__}
        status, printers = get(f"http://127.0.0.1:{port}/v1/printers", key)
        assert status == 200 and printers["data"] == [], printers
        status, refused = get(f"http://127.0.0.1:{port}/v1/printers", "apf_wrong")
        assert status == 401, refused
        # The dashboard's page and files come from the installed package.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/farm", timeout=5) as page:
            assert page.status == 200 and b'type="module"' in page.read()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
