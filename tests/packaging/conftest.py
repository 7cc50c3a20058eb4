"""Wheels built once per run by scripts/build-dists, and fresh virtual environments to
install them into (pip takes third-party packages from the configured index or its cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dists")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build-dists"), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def wheel_named(wheels: Path, distribution: str) -> Path:
    found = sorted(wheels.glob(f"{distribution.replace('-', '_')}-*.whl"))
    assert len(found) == 1, found
    return found[0]


def fresh_venv(where: Path) -> Path:
    venv.create(where, with_pip=True)
    return where / "bin"


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """In `cwd` (not the repository, whose packages would shadow the installed ones), with
    no PYTHONPATH, so what imports is what was installed; `env` replaces the environment."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def pip_install(bin_dir: Path, *args: str | Path, cwd: Path) -> None:
    done = run(
        bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", *args, cwd=cwd
    )
    assert done.returncode == 0, done.stderr[-3000:]
