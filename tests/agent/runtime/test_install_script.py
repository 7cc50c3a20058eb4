"""The install script's config template and unit stay in step with the agent's code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.config import parse_config
from shared.version import __version__


def dry_run(repo_root: Path) -> str:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    result = subprocess.run(
        ["bash", str(repo_root / "scripts/install-agent.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def written(output: str, path: str) -> str:
    match = re.search(rf"\+ write {re.escape(path)} \(mode \d+\):\n((?:    .*\n|\n)+)", output)
    assert match, f"{path} not written"
    return "\n".join(line[4:] for line in match.group(1).splitlines())


def test_the_config_template_is_a_valid_agent_config(repo_root: Path, tmp_path: Path) -> None:
    output = dry_run(repo_root)
    template = written(output, "/etc/autoprintfarm/agent.toml")
    password = tmp_path / "pw"
    password.write_text("secret\n")
    config = parse_config(template.replace("/etc/autoprintfarm/mqtt-password", str(password)))
    assert config.data_dir == "/var/lib/autoprintfarm-agent"
    assert config.mqtt.url.startswith("mqtts://")


def test_the_unit_runs_the_agent_and_restarts_on_failure(repo_root: Path) -> None:
    unit = written(dry_run(repo_root), "/etc/systemd/system/apf-agent.service")
    assert "ExecStart=/opt/autoprintfarm/bin/apf agent run --config " in unit
    assert "Restart=on-failure" in unit
    assert "SupplementaryGroups=dialout" in unit or "SupplementaryGroups=uucp" in unit


def test_the_pi_gets_the_agents_distribution_of_this_version(repo_root: Path) -> None:
    output = dry_run(repo_root)
    assert "scripts/build-dists --out " in output
    assert f"--find-links {_wheel_dir(output)} autoprintfarm-agent=={__version__}" in output
    assert "autoprintfarm-cloud" not in output and "[agent]" not in output


def _wheel_dir(output: str) -> str:
    match = re.search(r"build-dists --out (\S+)", output)
    assert match, output
    return match.group(1)
