"""The demo itself: starts, completes its sample jobs through the whole system, shuts down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_headless_demo_completes_every_sample_job(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "apf",
            "demo",
            "--headless",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    lines = out.splitlines()
    url = next(line for line in lines if line.startswith("API URL: "))
    key = next(line for line in lines if line.startswith("API key: "))
    assert url.startswith("API URL: http://127.0.0.1:") and url.endswith("/v1")
    assert len(key.split(": ", 1)[1]) > 20
    assert sum(line.startswith("Printer: ") for line in lines) == 3
    assert "Result: all 6 sample jobs completed" in out
