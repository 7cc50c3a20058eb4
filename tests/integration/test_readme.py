"""The README's quick start works as written: the demo runs, and every example against it
succeeds (curl with --fail, so an HTTP error fails the test)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _block_after(marker: str, language: str) -> str:
    start = README.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(README, start)
    assert match is not None
    return match.group(1)


def _wait_for_lines(log: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        found = dict(
            re.findall(r"^(API URL|API key): (\S+)", log.read_text(errors="replace"), re.MULTILINE)
        )
        if len(found) == 2:
            return found
        time.sleep(0.1)  # polling the demo's output with a deadline
    raise AssertionError("the demo did not print its API URL and key")


def test_quick_start_examples_work_against_the_demo(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apf",
                "demo",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path / "demo"),
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        found = _wait_for_lines(log, demo, 90)
        url, key = found["API URL"], found["API key"]
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + 150
        while True:  # the examples assume the sample jobs are done and the printers idle
            jobs = httpx.get(f"{url}/jobs", headers=headers, params={"status": "completed"})
            if jobs.json()["pagination"]["total"] == 6:
                break
            assert time.monotonic() < deadline, "sample jobs did not complete"
            time.sleep(0.5)

        script = _block_after("While it runs, try the API", "sh")
        script = re.sub(r"^export APF_URL=.*$", f"export APF_URL={url}", script, flags=re.M)
        script = re.sub(r"^export APF_KEY=.*$", f"export APF_KEY={key}", script, flags=re.M)
        strict = 'set -euo pipefail\ncurl() { command curl --fail-with-body -sS "$@"; }\n'
        result = subprocess.run(
            ["bash", "-c", strict + script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert '"status":"ok"' in result.stdout.replace(" ", "")  # the home action was done

        snippet = _block_after("Or with the Python SDK", "python")
        snippet = snippet.replace('api_key="…"', f'api_key="{key}"')
        snippet = snippet.replace("http://127.0.0.1:8000", url.removesuffix("/v1"))
        result = subprocess.run(
            [sys.executable, "-c", snippet],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            assert demo.wait(timeout=30) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
    assert "Traceback" not in log.read_text(errors="replace")
