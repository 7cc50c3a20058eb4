"""Build the JS SDK for the tests (npm ci and tsc only when needed, via its own script)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[2] / "sdk" / "js"
BUILD_TIMEOUT_S = 600


def ensure_js_built() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the JS SDK tests")
    done = subprocess.run(
        [str(JS_DIR / "scripts" / "ensure-built")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"building sdk/js failed:\n{done.stdout}\n{done.stderr}")
