"""Downloads from the signed URL: verified, cached, capped, bounded in time."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest

from agent.drivers.base import InvalidFileError
from agent.files.cache import FileCache
from tests.agent.runtime.files_server import serving

GCODE = b"G28\nG1 X10 Y10 E1 F1200\n" * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_download_verifies_and_caches_by_sha256(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = FileCache(tmp_path, max_bytes=10_000_000, download_timeout_s=10)
    with serving() as server:
        server.files["/f/a.gcode"] = GCODE
        path = await cache.fetch(server.url("/f/a.gcode"), sha(GCODE), len(GCODE))
        assert path.read_bytes() == GCODE
        assert path.name == f"{sha(GCODE)}.gcode"
        again = await cache.fetch(server.url("/f/a.gcode"), sha(GCODE), len(GCODE))
        assert again == path
        assert server.requests == ["/f/a.gcode"]  # the second came from the cache
    assert "secret-sig" not in caplog.text


@pytest.mark.parametrize(
    ("served", "size", "digest", "message"),
    [
        (GCODE, len(GCODE), sha(b"other"), "does not match"),
        (GCODE, len(GCODE) + 5, sha(GCODE), "does not match"),
        (GCODE, len(GCODE) - 5, sha(GCODE), "longer than"),
    ],
)
async def test_a_file_that_does_not_match_the_job_is_refused(
    tmp_path: Path, served: bytes, size: int, digest: str, message: str
) -> None:
    cache = FileCache(tmp_path, max_bytes=10_000_000, download_timeout_s=10)
    with serving() as server:
        server.files["/f/a.gcode"] = served
        with pytest.raises(InvalidFileError, match=message):
            await cache.fetch(server.url("/f/a.gcode"), digest, size)
    assert os.listdir(tmp_path) == []  # nothing half-written is left


async def test_http_errors_and_hung_downloads_are_clear(tmp_path: Path) -> None:
    with serving() as server:
        cache = FileCache(tmp_path, max_bytes=10_000_000, download_timeout_s=30)
        with pytest.raises(InvalidFileError, match="HTTP 404") as info:
            await cache.fetch(server.url("/missing"), sha(GCODE), len(GCODE))
        assert "secret-sig" not in str(info.value)
        server.files["/slow"] = GCODE
        server.stall.add("/slow")
        hung = FileCache(tmp_path, max_bytes=10_000_000, download_timeout_s=0.5)
        with pytest.raises(InvalidFileError, match="took longer than"):
            await hung.fetch(server.url("/slow"), sha(GCODE), len(GCODE))


async def test_the_cache_cap_evicts_least_recently_used_but_never_a_pinned_file(
    tmp_path: Path,
) -> None:
    files = {f"/f/{i}": bytes([65 + i]) * 1000 for i in range(4)}
    cache = FileCache(tmp_path, max_bytes=2500, download_timeout_s=10)
    with serving() as server:
        server.files.update(files)
        first = await cache.fetch(server.url("/f/0"), sha(files["/f/0"]), 1000)
        cache.pin(first)
        second = await cache.fetch(server.url("/f/1"), sha(files["/f/1"]), 1000)
        third = await cache.fetch(server.url("/f/2"), sha(files["/f/2"]), 1000)
        # 3000 > 2500: the oldest unpinned one (second) went, the pinned first stayed.
        assert first.exists() and third.exists() and not second.exists()
        with pytest.raises(InvalidFileError, match="cache limit"):
            await cache.fetch(server.url("/f/3"), sha(files["/f/3"]), 3000)
