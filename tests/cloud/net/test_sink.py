"""HashingFileSink: blocks hashed, written and observed in order, errors surfaced."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from cloud.net import HashingFileSink, SizeLimitExceededError


async def test_blocks_are_written_hashed_and_observed_in_order(tmp_path: Path) -> None:
    seen: list[bytes] = []
    threads: set[int] = set()

    def observe(block: bytes) -> None:
        threads.add(threading.get_ident())
        seen.append(block)

    data = bytes(range(256)) * 1000  # 256,000 bytes
    path = tmp_path / "out"
    async with HashingFileSink(
        path, max_bytes=len(data), flush_bytes=10_000, observer=observe
    ) as s:
        for start in range(0, len(data), 3000):
            await s.write(data[start : start + 3000])
        size_bytes, sha256 = await s.finish()
    assert (size_bytes, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert path.read_bytes() == data
    assert b"".join(seen) == data
    assert len(seen) > 10
    assert threading.get_ident() not in threads  # never on the event loop's thread


async def test_an_observer_error_comes_out_of_the_sink(tmp_path: Path) -> None:
    blocks: list[int] = []

    def observe(block: bytes) -> None:
        blocks.append(len(block))
        if len(blocks) == 2:
            raise ValueError("not G-code")

    with pytest.raises(ValueError, match="not G-code"):
        async with HashingFileSink(
            tmp_path / "out", max_bytes=1 << 20, flush_bytes=1000, observer=observe
        ) as sink:
            for _ in range(100):
                await sink.write(b"x" * 500)
            await sink.finish()
    assert len(blocks) == 2  # nothing was processed after the failing block


async def test_the_limit_refuses_the_chunk_that_would_pass_it(tmp_path: Path) -> None:
    async with HashingFileSink(tmp_path / "out", max_bytes=10) as sink:
        await sink.write(b"x" * 10)
        with pytest.raises(SizeLimitExceededError):
            await sink.write(b"y")
        assert await sink.finish() == (10, hashlib.sha256(b"x" * 10).hexdigest())
