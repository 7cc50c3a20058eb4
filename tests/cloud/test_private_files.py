"""What the cloud keeps on disk is its own user's alone: directories 0700, files 0600."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from cloud.app import build_context
from cloud.db import migrate
from cloud.settings import Settings
from tests.cloud.api.test_jobs import make_job
from tests.cloud.conftest import SQLITE_ONLY, OrgClient


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@SQLITE_ONLY
async def test_the_database_keys_and_stored_files_are_private(owner: OrgClient) -> None:
    await make_job(owner)  # a write (the WAL) and a stored G-code file
    data = Path(owner.api.settings.data_dir)
    stored = [p for p in owner.api.settings.files_dir.rglob("*.gcode")]
    assert stored, "the upload is on disk"
    assert {p.name: mode(p) for p in (data / "apf.sqlite3", data / "apf.sqlite3-wal")} == {
        "apf.sqlite3": 0o600,
        "apf.sqlite3-wal": 0o600,
    }
    assert (mode(data / "signing.key"), mode(data)) == (0o600, 0o700)
    assert {mode(p) for p in stored} == {0o600}
    files = owner.api.settings.files_dir
    assert {mode(files), mode(stored[0].parent)} == {0o700}


def test_an_earlier_versions_open_files_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "apf.sqlite3"

    async def start() -> None:
        ctx = build_context(Settings(data_dir=str(data)))
        try:
            await migrate.upgrade(ctx.engine)
        finally:
            await ctx.engine.dispose()

    asyncio.run(start())
    os.chmod(database, 0o644)  # as the umask left it before
    os.chmod(data, 0o755)
    asyncio.run(start())
    assert (mode(database), mode(data)) == (0o600, 0o700)
