"""The spec's SDK snippets (end of api-reference.md) run as written against the real cloud.

`snippets/*.txt` are verbatim copies of the spec's text (checked below against the spec
when it is beside the repository, as in CI). Only three things are substituted:
``'YOUR_KEY'`` by a real key, the base URL (given the documented way, ``APF_BASE_URL``),
and the spec's illustrative file host ``https://example.com/model.gcode`` by a loopback
server holding ``model.gcode``: tests send no traffic beyond loopback, and the spec says
its hosts are illustrative. A short epilogue prints what the snippet got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.cloud import CloudProcess, Org
from tests.sdk.conftest import require_route, route_exists
from tests.sdk.fileserver import FileServer
from tests.sdk.js import JS_DIR, ensure_js_built

HERE = Path(__file__).parent / "snippets"
SPEC_URL = "https://example.com/model.gcode"
RUN_TIMEOUT_S = 120


def _spec_text(repo_root: Path) -> str | None:
    for candidate in (repo_root.parent / "shared" / "api-reference.md",):
        if candidate.is_file():
            return candidate.read_text()
    return None


@pytest.mark.parametrize("name", ["spec_snippet.py.txt", "spec_snippet.mjs.txt"])
def test_the_snippets_are_the_spec_verbatim(name: str, repo_root: Path) -> None:
    spec = _spec_text(repo_root)
    if spec is None:
        pytest.skip("api-reference.md is not beside the repository")
    assert (HERE / name).read_text() in spec


def _prepare(cloud: CloudProcess, org: Org, file_server: FileServer) -> tuple[str, dict[str, str]]:
    require_route(cloud, org, "/v1/jobs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
    env["APF_BASE_URL"] = cloud.base_url
    return file_server.url("model.gcode"), env


def _printing_printer(cloud: CloudProcess, org: Org) -> str:
    from autoprintfarm import Client

    with Client(api_key=org.api_key, base_url=cloud.base_url) as client:
        printer = client.printers.create(
            name="Prusa-A-01", connection_url="http://192.168.1.105", api_key="k"
        )
    cloud.set_printer_state(printer.id, status="printing")
    return printer.id


def _check_until_analytics(
    cloud: CloudProcess, org: Org, done: subprocess.CompletedProcess[str]
) -> None:
    """Before the analytics routes exist: the snippet ran every line up to the analytics
    call (the job is queued) and stopped there with the cloud's 501 "not implemented"."""
    from autoprintfarm import Client

    assert done.returncode != 0
    assert "Fleet analytics is not implemented" in done.stderr, done.stderr
    with Client(api_key=org.api_key, base_url=cloud.base_url) as client:
        (job,) = client.jobs.list().data
    assert (job.priority, job.status) == ("high", "queued")
    pytest.skip("the cloud does not serve /v1/analytics/fleet yet: the snippet ran up to it")


def _check(result: dict[str, Any], printer_id: str) -> None:
    assert result["printers"] == [printer_id]
    assert result["job"]["priority"] == "high"
    assert result["job"]["status"] == "queued"
    assert result["analytics"]["period"]["from"].startswith("2025-10-01")
    assert "total_printers" in result["analytics"]["metrics"]


def test_python_snippet(cloud: CloudProcess, org: Org, file_server: FileServer) -> None:
    file_url, env = _prepare(cloud, org, file_server)
    printer_id = _printing_printer(cloud, org)
    code = (HERE / "spec_snippet.py.txt").read_text()
    code = code.replace("'YOUR_KEY'", repr(org.api_key)).replace(SPEC_URL, file_url)
    code += (
        "import json, msgspec\n"
        "print(json.dumps({'printers': [p.id for p in printers],"
        " 'job': msgspec.to_builtins(job), 'analytics': msgspec.to_builtins(analytics)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if not route_exists(cloud, org, "/v1/analytics/fleet"):
        _check_until_analytics(cloud, org, done)
    assert done.returncode == 0, done.stderr
    _check(json.loads(done.stdout.strip().splitlines()[-1]), printer_id)


def test_javascript_snippet(cloud: CloudProcess, org: Org, file_server: FileServer) -> None:
    ensure_js_built()
    file_url, env = _prepare(cloud, org, file_server)
    printer_id = _printing_printer(cloud, org)
    code = (HERE / "spec_snippet.mjs.txt").read_text()
    code = code.replace("'YOUR_KEY'", json.dumps(org.api_key)).replace(SPEC_URL, file_url)
    code += (
        "console.log(JSON.stringify("
        "{ printers: printers.data.map((p) => p.id), job, analytics }));\n"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", code],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if not route_exists(cloud, org, "/v1/analytics/fleet"):
        _check_until_analytics(cloud, org, done)
    assert done.returncode == 0, done.stderr
    _check(json.loads(done.stdout.strip().splitlines()[-1]), printer_id)
