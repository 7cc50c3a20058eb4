"""fetch_to_file against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloud.net import (
    FetchConnectionError,
    FetchStatusError,
    FetchTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
    UnsupportedEncodingError,
    fetch_to_file,
)
from tests.cloud.net.httpserver import LoopbackHTTPServer, Route
from tests.cloud.net.test_resolve import FakeDNS

BODY = b"G28\nG1 X10 Y10 F3000\n" * 5000  # 105 kB


def file_routes() -> dict[str, Route]:
    return {"/file.gcode": Route(headers={"Content-Type": "text/x-gcode"}, body=BODY)}


async def test_fetch_streams_the_body_to_disk_with_hash_and_type(tmp_path: Path) -> None:
    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer(file_routes()) as server:
        result = await fetch_to_file(
            f"{server.base}/file.gcode", dest, max_bytes=1 << 20, allow_private=True,
            timeout_s=5,
        )  # fmt: skip
    assert result.size_bytes == len(BODY)
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert result.content_type == "text/x-gcode"
    assert dest.read_bytes() == BODY
    seen = server.requests[0]
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["accept-encoding"] == "identity"


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    tmp_path: Path,
) -> None:
    # files.example.test exists only in this fake DNS: were httpx to look the name up a
    # second time (through the system resolver), the fetch would fail.
    dns = FakeDNS({"files.example.test": ["127.0.0.1"]})
    async with LoopbackHTTPServer(file_routes()) as server:
        result = await fetch_to_file(
            f"http://files.example.test:{server.port}/file.gcode", tmp_path / "a",
            max_bytes=1 << 20, allow_private=True, timeout_s=5, resolver=dns,
        )  # fmt: skip
    assert result.size_bytes == len(BODY)
    assert dns.calls == [("files.example.test", server.port)]
    assert server.requests[0].headers["host"] == f"files.example.test:{server.port}"
    assert result.final_url == f"http://files.example.test:{server.port}/file.gcode"


async def test_an_unreachable_address_falls_back_to_the_next_checked_one(tmp_path: Path) -> None:
    # The server listens on 127.0.0.1 only, so 127.0.0.2 refuses the connection.
    dns = FakeDNS({"two.example.test": ["127.0.0.2", "127.0.0.1"]})
    async with LoopbackHTTPServer(file_routes()) as server:
        result = await fetch_to_file(
            f"http://two.example.test:{server.port}/file.gcode", tmp_path / "a",
            max_bytes=1 << 20, allow_private=True, timeout_s=5, resolver=dns,
        )  # fmt: skip
    assert result.size_bytes == len(BODY)


async def test_private_target_is_refused_before_any_request(tmp_path: Path) -> None:
    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer(file_routes()) as server:
        with pytest.raises(UnsafeURLError, match="loopback"):
            await fetch_to_file(
                f"{server.base}/file.gcode", dest, max_bytes=1 << 20, allow_private=False,
                timeout_s=5,
            )  # fmt: skip
    assert server.requests == []
    assert not dest.exists()


async def test_declared_length_over_the_limit_is_refused_early(tmp_path: Path) -> None:
    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer(file_routes()) as server:
        with pytest.raises(ResponseTooLargeError) as info:
            await fetch_to_file(
                f"{server.base}/file.gcode", dest, max_bytes=1000, allow_private=True,
                timeout_s=5,
            )  # fmt: skip
    assert info.value.max_bytes == 1000
    assert "1000 bytes" in info.value.reason
    assert not dest.exists()


async def test_undeclared_body_over_the_limit_stops_and_leaves_no_file(tmp_path: Path) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(10_000):  # bounded: the client must stop long before
            sent.append(1)
            yield b"x" * 16384

    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer({"/big": Route(chunks=endless)}) as server:
        with pytest.raises(ResponseTooLargeError):
            await fetch_to_file(
                f"{server.base}/big", dest, max_bytes=100_000, allow_private=True, timeout_s=5
            )
    assert not dest.exists()
    assert len(sent) < 10_000


async def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    async with LoopbackHTTPServer(file_routes()) as server:
        result = await fetch_to_file(
            f"{server.base}/file.gcode", tmp_path / "a", max_bytes=len(BODY),
            allow_private=True, timeout_s=5,
        )  # fmt: skip
    assert result.size_bytes == len(BODY)


async def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer({"/hang": Route(hang=True)}) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(FetchTimeoutError, match=r"0\.3 s"):
            await fetch_to_file(
                f"{server.base}/hang", dest, max_bytes=100, allow_private=True, timeout_s=0.3
            )
        assert loop.time() - started < 2.0
    assert not dest.exists()


async def test_a_slow_drip_is_bounded_by_the_total_budget(tmp_path: Path) -> None:
    async def drip() -> AsyncIterator[bytes]:
        for _ in range(200):  # 200 x 20 ms = 4 s, far past the 0.5 s budget
            yield b"G1 X1\n"
            await asyncio.sleep(0.02)  # the server's pacing under test, not synchronisation

    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer({"/drip": Route(chunks=drip)}) as server:
        with pytest.raises(FetchTimeoutError):
            await fetch_to_file(
                f"{server.base}/drip", dest, max_bytes=1 << 20, allow_private=True, timeout_s=0.5
            )
    assert not dest.exists()


async def test_cancelling_a_fetch_removes_the_partial_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.gcode"
    async with LoopbackHTTPServer({"/hang": Route(hang=True)}) as server:
        task = asyncio.create_task(
            fetch_to_file(
                f"{server.base}/hang", dest, max_bytes=100, allow_private=True, timeout_s=30
            )
        )
        async with asyncio.timeout(5):
            await server.request_seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not dest.exists()


async def test_redirects_are_followed_and_each_hop_is_resolved_again(tmp_path: Path) -> None:
    dns = FakeDNS({"a.example.test": ["127.0.0.1"], "b.example.test": ["127.0.0.1"]})
    async with LoopbackHTTPServer(file_routes()) as server:
        server.routes["/start"] = Route(
            status=302, headers={"Location": f"http://b.example.test:{server.port}/file.gcode"}
        )
        result = await fetch_to_file(
            f"http://a.example.test:{server.port}/start", tmp_path / "a", max_bytes=1 << 20,
            allow_private=True, timeout_s=5, resolver=dns,
        )  # fmt: skip
    assert result.size_bytes == len(BODY)
    assert result.final_url == f"http://b.example.test:{server.port}/file.gcode"
    assert [host for host, _ in dns.calls] == ["a.example.test", "b.example.test"]
    assert [r.headers["host"] for r in server.requests] == [
        f"a.example.test:{server.port}",
        f"b.example.test:{server.port}",
    ]


async def test_a_redirect_hop_goes_through_the_url_policy(tmp_path: Path) -> None:
    async with LoopbackHTTPServer(file_routes()) as server:
        # Port 25 is refused by the policy whatever allow_private says.
        server.routes["/smtp"] = Route(status=307, headers={"Location": "http://127.0.0.1:25/"})
        with pytest.raises(UnsafeURLError, match="port 25"):
            await fetch_to_file(
                f"{server.base}/smtp", tmp_path / "a", max_bytes=1 << 20, allow_private=True,
                timeout_s=5,
            )  # fmt: skip
    assert len(server.requests) == 1  # the refused hop was never requested
    assert not (tmp_path / "a").exists()


async def test_redirect_loops_stop_at_the_limit(tmp_path: Path) -> None:
    async with LoopbackHTTPServer({"/loop": Route(status=302, headers={"Location": "/loop"})}) as s:
        with pytest.raises(TooManyRedirectsError, match="more than 3"):
            await fetch_to_file(
                f"{s.base}/loop", tmp_path / "a", max_bytes=100, allow_private=True, timeout_s=5,
                max_redirects=3,
            )  # fmt: skip
        assert len(s.requests) == 4
        with pytest.raises(TooManyRedirectsError, match="more than 0"):
            await fetch_to_file(
                f"{s.base}/loop", tmp_path / "a", max_bytes=100, allow_private=True, timeout_s=5,
                max_redirects=0,
            )  # fmt: skip
    assert not (tmp_path / "a").exists()


async def test_error_status_is_reported(tmp_path: Path) -> None:
    async with LoopbackHTTPServer({}) as server:
        with pytest.raises(FetchStatusError) as info:
            await fetch_to_file(
                f"{server.base}/missing.gcode", tmp_path / "a", max_bytes=100,
                allow_private=True, timeout_s=5,
            )  # fmt: skip
    assert info.value.status_code == 404
    assert "404" in info.value.reason
    assert not (tmp_path / "a").exists()


async def test_compressed_body_is_refused(tmp_path: Path) -> None:
    route = Route(headers={"Content-Encoding": "gzip"}, body=b"\x1f\x8b not really")
    async with LoopbackHTTPServer({"/z": route}) as server:
        with pytest.raises(UnsupportedEncodingError, match="gzip"):
            await fetch_to_file(
                f"{server.base}/z", tmp_path / "a", max_bytes=100, allow_private=True, timeout_s=5
            )


async def test_nothing_listening_is_a_connection_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on `port` now (bound, never listened, closed).
    with pytest.raises(FetchConnectionError, match="could not connect"):
        await fetch_to_file(
            f"http://127.0.0.1:{port}/a", tmp_path / "a", max_bytes=100, allow_private=True,
            timeout_s=5,
        )  # fmt: skip


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
async def test_an_ipv6_address_is_dialled_with_the_name_kept(tmp_path: Path) -> None:
    dns = FakeDNS({"v6.example.test": ["::1"]})
    async with LoopbackHTTPServer(file_routes(), host="::1") as server:
        result = await fetch_to_file(
            f"http://v6.example.test:{server.port}/file.gcode", tmp_path / "a",
            max_bytes=1 << 20, allow_private=True, timeout_s=5, resolver=dns,
        )  # fmt: skip
        literal = await fetch_to_file(
            f"{server.base}/file.gcode", tmp_path / "b", max_bytes=1 << 20, allow_private=True,
            timeout_s=5,
        )  # fmt: skip
    assert result.size_bytes == literal.size_bytes == len(BODY)
    assert [r.headers["host"] for r in server.requests] == [
        f"v6.example.test:{server.port}",
        f"[::1]:{server.port}",
    ]
