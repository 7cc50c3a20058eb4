"""Each distribution holds its role's packages and nothing else (scripts/build-dists), and
installs into a fresh virtual environment with the import surface its users expect."""

from __future__ import annotations

import json
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement

from shared.version import __version__
from tests.packaging.conftest import REPO, fresh_venv, pip_install, run, wheel_named

# Third-party distributions only the cloud uses: none may reach a Pi.
CLOUD_ONLY = {"litestar", "sqlmodel", "sqlalchemy", "asyncpg", "alembic", "uvicorn", "apscheduler"}


def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def metadata(wheel: Path) -> tuple[str, str, list[Requirement]]:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(path).decode())
    requires = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    return meta["Name"], meta["Version"], requires


def top_levels(wheel: Path) -> set[str]:
    return {n.split("/")[0] for n in names(wheel) if ".dist-info/" not in n}


def test_the_sdk_wheel_is_the_sdk_alone(wheels: Path) -> None:
    wheel = wheel_named(wheels, "autoprintfarm")
    assert top_levels(wheel) == {"autoprintfarm"}
    name, version, requires = metadata(wheel)
    assert (name, version) == ("autoprintfarm", __version__)
    assert sorted(r.name for r in requires) == ["httpx", "msgspec"]
    # Its long description is the SDK's page, with the spec's example.
    with zipfile.ZipFile(wheel) as archive:
        meta = archive.read(f"autoprintfarm-{__version__}.dist-info/METADATA").decode()
    assert "from autoprintfarm import Client" in meta


def test_the_agent_wheel_has_no_cloud_code_and_no_cloud_dependency(wheels: Path) -> None:
    wheel = wheel_named(wheels, "autoprintfarm-agent")
    assert top_levels(wheel) == {"shared", "agent", "apf"}
    files = names(wheel)
    cloud_side = [
        n
        for n in files
        if n.startswith(
            ("apf/demo/", "apf/commands/cloud", "apf/commands/demo", "apf/commands/broker")
        )
    ]
    assert cloud_side == []
    assert "agent/firmware-profiles/marlin.toml" in files
    name, version, requires = metadata(wheel)
    assert (name, version) == ("autoprintfarm-agent", __version__)
    assert not CLOUD_ONLY & {r.name for r in requires}
    pinned = {r.name: str(r.specifier) for r in requires if r.name.startswith("autoprintfarm")}
    assert pinned == {"autoprintfarm": f"=={__version__}"}
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"autoprintfarm_agent-{__version__}.dist-info/entry_points.txt")
    assert b"apf = apf.main:main" in entry_points


def test_the_cloud_wheel_has_the_cloud_its_migrations_and_its_commands(wheels: Path) -> None:
    wheel = wheel_named(wheels, "autoprintfarm-cloud")
    assert top_levels(wheel) == {"cloud", "apf"}
    files = set(names(wheel))
    assert {"apf/commands/cloud.py", "apf/commands/broker.py", "apf/commands/demo.py"} <= files
    assert "apf/__init__.py" not in files  # the agent's wheel owns the package
    assert "cloud/migrations/env.py" in files and "cloud/migrations/script.py.mako" in files
    assert any(n.startswith("cloud/migrations/versions/") for n in files)
    # The dashboard's files are served from the package (cloud/dashboard/pages.py).
    assert {"cloud/dashboard/static/index.html", "cloud/dashboard/static/app.js"} <= files
    name, version, requires = metadata(wheel)
    assert (name, version) == ("autoprintfarm-cloud", __version__)
    pinned = {r.name: str(r.specifier) for r in requires if r.name.startswith("autoprintfarm")}
    assert pinned == {
        "autoprintfarm": f"=={__version__}",
        "autoprintfarm-agent": f"=={__version__}",
    }
    assert {r.name for r in requires} >= CLOUD_ONLY


def test_the_sdk_installs_alone_and_imports_without_the_system(
    wheels: Path, tmp_path: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    pip_install(bin_dir, wheel_named(wheels, "autoprintfarm"), cwd=tmp_path)
    probe = (
        "import importlib.util, autoprintfarm\n"
        "print(autoprintfarm.__version__)\n"
        "print(autoprintfarm.Client.__name__)\n"
        "for name in ('shared', 'agent', 'cloud', 'apf'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
    )
    done = run(bin_dir / "python", "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [__version__, "Client"]
    failed = run(bin_dir / "python", "-c", "import shared", cwd=tmp_path)
    assert failed.returncode == 1 and "No module named 'shared'" in failed.stderr


def test_the_agent_installs_without_the_cloud_and_says_where_apf_cloud_is(
    wheels: Path, tmp_path: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    pip_install(
        bin_dir, "--find-links", wheels, wheel_named(wheels, "autoprintfarm-agent"), cwd=tmp_path
    )
    version = run(bin_dir / "apf", "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"apf {__version__}", version.stderr
    for command in ("agent", "print", "sim", "serial", "gcode"):
        helped = run(bin_dir / "apf", command, "--help", cwd=tmp_path)
        assert helped.returncode == 0, (command, helped.stderr)
    cloud = run(bin_dir / "apf", "cloud", "serve", cwd=tmp_path)
    assert cloud.returncode == 2
    assert "pip install autoprintfarm-cloud" in cloud.stderr and "Traceback" not in cloud.stderr
    gcode = tmp_path / "part.gcode"
    gcode.write_text(";FLAVOR:Marlin\nG28\nG1 X10 Y10 E1 F1200\n")
    analysed = run(bin_dir / "apf", "gcode", "analyze", "--json", gcode, cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr
    probe = (
        "import importlib.util\n"
        "from agent.serial.profiles import load_profiles\n"
        "assert 'marlin' in load_profiles(), 'firmware profiles'\n"
        "for name in ('cloud', 'litestar', 'sqlalchemy', 'asyncpg', 'uvicorn'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
    )
    done = run(bin_dir / "python", "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_js_sdk_carries_the_same_version() -> None:
    # package.json is where npm needs it; autoprintfarm/_version.py is where it is decided.
    package = json.loads((REPO / "sdk" / "js" / "package.json").read_text())
    assert package["version"] == __version__
