"""The firewall rules docs/deploy.md gives for Mosquitto (which has no failed-login lockout of
its own) slow a login guesser down: run in a network namespace with only loopback, so
nothing but the test's own traffic meets them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mosquitto

ATTEMPTS = 100


def documented_rules(repo_root: Path) -> str:
    text = (repo_root / "docs" / "deploy.md").read_text()
    match = re.search(r"<!-- nftables -->\n```\n(.*?)```", text, re.DOTALL)
    assert match, "docs/deploy.md has no nftables block"
    return match.group(1)


def test_the_documented_rate_limit_stops_a_guesser_after_its_burst(
    repo_root: Path, tmp_path: Path
) -> None:
    for tool in ("nft", "unshare", "ip", "mosquitto"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    if os.geteuid() != 0:
        pytest.skip("a network namespace with its own firewall needs root")
    rules = tmp_path / "apf-mqtt.nft"
    rules.write_text(documented_rules(repo_root))
    done = subprocess.run(
        [
            "unshare",
            "--net",
            sys.executable,
            "-m",
            "tests.support.firewall_probe",
            str(rules),
            str(tmp_path),
            str(ATTEMPTS),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The burst (40, less the probe's own wait for the listener) reaches the broker, then
    # one connection every 3 s (20 a minute) while the guesser keeps knocking; each that
    # reached it was a refused login. Unthrottled, Mosquitto takes ~9,500 a second.
    allowed = 40 + result["elapsed_s"] / 3 + 1
    assert 30 <= result["answered"] <= allowed, result
    assert result["refused_logins"] == result["answered"], result
    assert result["not_let_through"] >= ATTEMPTS - allowed, result
