"""The JS SDK's own tests (node's test runner, sdk/js/test/) against the real cloud.

This test prepares what the JS tests need on the cloud process (organizations and keys,
printers in states only an agent can cause, a loopback file URL, webhook signatures made by
the cloud's signer, a webhook receiver) and hands it over in `APF_SDK_TEST_FIXTURES`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoprintfarm import Client
from autoprintfarm import signature as webhook_signature
from tests.sdk.cloud import CloudProcess
from tests.sdk.conftest import route_exists
from tests.sdk.fileserver import FileServer
from tests.sdk.js import JS_DIR, ensure_js_built
from tests.sdk.receiver import Receiver

NODE_TIMEOUT_S = 300
ROUTES = (
    "/v1/jobs",
    "/v1/materials",
    "/v1/organization",
    "/v1/users",
    "/v1/agents",
    "/v1/analytics/fleet",
    "/v1/webhooks",
)
EVENT_BODY = json.dumps(
    {
        "type": "job.completed",
        "timestamp": "2025-10-06T14:25:00Z",
        "data": {"id": "job_xyz789", "status": "completed"},
    }
)


def _vectors() -> list[dict[str, Any]]:
    out = []
    for i, secret in enumerate(("webhook_secret_key", webhook_signature.generate_secret())):
        ts = 1_759_760_700 + i
        msg_id = f"msg_vector{i}"
        out.append(
            {
                "secret": secret,
                "timestamp": ts,
                "body": EVENT_BODY,
                "headers": {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(ts),
                    "webhook-signature": webhook_signature.sign(
                        secret, msg_id, ts, EVENT_BODY.encode()
                    ),
                },
            }
        )
    return out


def _limited(request: pytest.FixtureRequest) -> dict[str, str] | None:
    try:
        limited: CloudProcess = request.getfixturevalue("limited_cloud")
    except pytest.skip.Exception:
        return None
    return {"baseUrl": limited.base_url, "key": limited.create_org("js-limited").api_key}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _fixtures(
    cloud: CloudProcess,
    request: pytest.FixtureRequest,
    file_server: FileServer,
    gcode_file: Path,
    receiver: Receiver,
) -> dict[str, Any]:
    keys = {
        name: cloud.create_org(f"js-{name}").api_key
        for name in ("printers", "jobs", "jobsList", "resources", "webhooks", "baseUrl", "apiKeys")
    }
    busy = cloud.create_org("js-busy")
    keys["busy"] = busy.api_key
    keys["readonly"] = cloud.create_org("js-readonly", scopes=["printers:read"]).api_key
    free = cloud.create_org("js-free", plan="free")
    keys["free"] = free.api_key
    with Client(api_key=free.api_key, base_url=cloud.base_url) as client:
        for i in range(10):  # the free plan's printer limit
            client.printers.create(name=f"p{i}", connection_url="http://10.1.1.1", api_key="k")
    with Client(api_key=busy.api_key, base_url=cloud.base_url) as client:
        busy_printer = client.printers.create(
            name="busy", connection_url="http://10.1.1.2", api_key="k"
        ).id
        offline_printer = client.printers.create(
            name="offline", connection_url="http://10.1.1.3", api_key="k"
        ).id
        idle_printer = client.printers.create(
            name="idle", connection_url="http://10.1.1.5", api_key="k"
        ).id
    agent_id = cloud.create_agent(busy.org_id)
    cloud.set_printer_state(busy_printer, status="printing", agent_id=agent_id)
    cloud.set_printer_state(idle_printer, status="idle", agent_id=agent_id)
    printing_job = None
    if route_exists(cloud, busy, "/v1/jobs"):
        with Client(api_key=busy.api_key, base_url=cloud.base_url) as client:
            # A printer of its own: the printer tests act on the busy one meanwhile.
            job_printer = client.printers.create(
                name="busy-job", connection_url="http://10.1.1.4", api_key="k", agent_id=agent_id
            ).id
            printing_job = client.jobs.create(file=gcode_file, printer_id=job_printer).id
        cloud.start_copy(printing_job, job_printer, agent_id)
    probe = cloud.create_org("js-probe")
    return {
        "baseUrl": cloud.base_url,
        "keys": keys,
        "busyPrinter": busy_printer,
        "offlinePrinter": offline_printer,
        "idlePrinter": idle_printer,
        "printingJob": printing_job,
        "gcodePath": str(gcode_file),
        "fileUrl": file_server.url("model.gcode"),
        "routes": [path for path in ROUTES if route_exists(cloud, probe, path)],
        "limited": _limited(request),
        "webhookVectors": _vectors(),
        "receiverUrl": receiver.url,
    }


def test_node_suite(
    cloud: CloudProcess,
    request: pytest.FixtureRequest,
    file_server: FileServer,
    gcode_file: Path,
    receiver: Receiver,
) -> None:
    ensure_js_built()
    fixtures = _fixtures(cloud, request, file_server, gcode_file, receiver)
    env = {k: v for k, v in os.environ.items() if not k.startswith("APF_")}
    env["APF_SDK_TEST_FIXTURES"] = json.dumps(fixtures)
    started = time.monotonic()
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "--test-concurrency=2", "test/"],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    # The runner's summary: every test ran or skipped with a reason; none failed.
    assert "ℹ fail 0" in report, report
    assert "ℹ pass 0" not in report, report
    assert time.monotonic() - started < NODE_TIMEOUT_S
    print(report)


def test_types_accept_the_spec_snippet_and_the_readme() -> None:
    """`tsc` over sdk/js/typecheck/: the spec's snippet (verbatim, as TypeScript) and the
    README's calls compile against the published declarations."""
    ensure_js_built()
    snippet = (JS_DIR / "typecheck" / "spec-snippet.ts").read_text()
    verbatim = (Path(__file__).parent / "snippets" / "spec_snippet.mjs.txt").read_text()
    assert snippet.startswith(verbatim)
    done = subprocess.run(
        ["npm", "run", "--silent", "typecheck"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
