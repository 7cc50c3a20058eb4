"""The JS SDK's npm tarball holds only what installing it needs, at package.json's version.

`npm pack --dry-run --json` runs the package's prepack (a clean build, which also writes
src/version.ts from package.json) and lists the tarball without writing it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.sdk.js import JS_DIR, ensure_js_built

PACK_TIMEOUT_S = 600
# The package's own files, besides the build in dist/ and the sources its maps point to.
TOP_LEVEL = ("package.json", "README.md")
FORBIDDEN_DIRS = ("test", "testing", "typecheck", "node_modules", "scripts")


def _package_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((JS_DIR / "package.json").read_text())
    return data


def _allowed(path: str) -> bool:
    parts = PurePosixPath(path).parts
    if len(parts) == 1:
        return path in TOP_LEVEL or path.upper().startswith("LICENSE")
    return parts[0] in ("dist", "src")


@pytest.fixture(scope="module")
def pack() -> dict[str, Any]:
    """What `npm pack --dry-run --json` reports for the package (one entry)."""
    ensure_js_built()
    done = subprocess.run(
        ["npm", "pack", "--dry-run", "--json", "--loglevel=error"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=PACK_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        entries: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"npm pack printed no JSON ({exc}):\n{done.stdout}\n{done.stderr}")
    assert len(entries) == 1, entries
    return entries[0]


@pytest.fixture(scope="module")
def files(pack: dict[str, Any]) -> set[str]:
    return {str(f["path"]) for f in pack["files"]}


def test_tarball_holds_only_the_build_the_sources_and_the_package_files(files: set[str]) -> None:
    assert {"package.json", "README.md", "dist/index.js", "dist/index.d.ts"} <= files
    assert sorted(p for p in files if not _allowed(p)) == []
    leaked = sorted(p for p in files if PurePosixPath(p).parts[0] in FORBIDDEN_DIRS)
    assert leaked == []
    assert not any(p.startswith("tsconfig") or p == "package-lock.json" for p in files)


def test_dist_holds_no_compiled_test(files: set[str]) -> None:
    assert not any(".test." in p or "/test/" in p for p in files), sorted(files)


def test_sources_ship_only_for_the_source_maps(files: set[str]) -> None:
    """src/ ships because dist/'s maps point to it; each .ts in it has its compiled .js."""
    maps = {p for p in files if p.startswith("dist/") and p.endswith(".map")}
    sources = {p for p in files if p.startswith("src/")}
    assert bool(maps) == bool(sources), (sorted(maps), sorted(sources))
    for src in sources:
        assert src.endswith(".ts") and not src.endswith(".d.ts"), src
        stem = PurePosixPath(src).relative_to("src").with_suffix("")
        assert f"dist/{stem}.js" in files, src
    for m in maps:
        mapped = json.loads((JS_DIR / m).read_text())
        for ref in mapped["sources"]:
            target = (JS_DIR / m).parent / ref
            assert target.resolve().relative_to(JS_DIR.resolve()).as_posix() in files, (m, ref)


def test_tarball_dist_and_lock_carry_the_package_json_version(pack: dict[str, Any]) -> None:
    version = _package_json()["version"]
    assert pack["version"] == version
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    assert lock["version"] == version
    assert lock["packages"][""]["version"] == version
    done = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            "import { VERSION } from './dist/index.js'; process.stdout.write(VERSION);",
        ],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == version
    assert f"'{version}'" in (JS_DIR / "dist" / "version.js").read_text()
