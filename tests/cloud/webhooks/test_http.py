"""The sender's HTTP/1.1 client against real loopback servers: TLS for the original name
while dialling the checked address, keep-alive reuse and recovery, odd answers, timeouts,
and DNS answers that change between save and delivery."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.sender import Sender
from tests.cloud.net.httpserver import LoopbackHTTPServer, Route
from tests.cloud.net.test_client import make_cert, server_context
from tests.cloud.net.test_resolve import FakeDNS
from tests.cloud.webhooks.receiver import WebhookReceiver

SECRET = "whsec_" + "A" * 44
BODY = b'{"id":"evt_1","type":"job.created","data":{}}'


def sender(dns: FakeDNS | None = None, **kw: object) -> Sender:
    config = WebhookConfig(
        allow_private_urls=bool(kw.pop("allow_private_urls", True)),
        request_timeout_s=float(kw.pop("request_timeout_s", 5.0)),  # type: ignore[arg-type]
        resolver=dns,
        **kw,  # type: ignore[arg-type]
    )
    return Sender(config)


async def test_tls_checks_the_users_host_name_while_dialling_the_checked_address(
    tmp_path: Path,
) -> None:
    cert, key = make_cert(tmp_path, "hooks.example.test")
    trust = ssl.create_default_context(cafile=str(cert))
    dns = FakeDNS({"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    routes = {"/in": Route(status=204)}
    async with LoopbackHTTPServer(routes, ssl_context=server_context(cert, key)) as server:
        async with sender(dns, ssl_context=trust) as s:
            good = await s.send(f"https://hooks.example.test:{server.port}/in", SECRET, "m1", BODY)
            wrong = await s.send(f"https://other.example.test:{server.port}/in", SECRET, "m2", BODY)
        async with sender(dns) as untrusting:  # the system store does not know our CA
            unknown = await untrusting.send(
                f"https://hooks.example.test:{server.port}/in", SECRET, "m3", BODY
            )
    assert (good.status_code, good.error) == (204, None)
    assert server.requests[0].headers["host"] == f"hooks.example.test:{server.port}"
    assert server.requests[0].body == BODY
    assert wrong.status_code is None and wrong.error and wrong.error.startswith("TLS failed")
    assert unknown.status_code is None and unknown.error and unknown.error.startswith("TLS failed")
    assert len(server.requests) == 1


async def test_keep_alive_is_reused_and_a_connection_closed_while_idle_is_replaced() -> None:
    accepted = 0
    async with WebhookReceiver() as receiver:
        original = receiver._handle

        async def counting(reader: object, writer: object) -> None:
            nonlocal accepted
            accepted += 1
            await original(reader, writer)  # type: ignore[arg-type]

        receiver._handle = counting  # type: ignore[method-assign]
        await receiver.stop()
        await receiver.start()
        async with sender() as s:
            for i in range(5):
                assert (await s.send(receiver.url(), SECRET, f"m{i}", BODY)).success
            assert accepted == 1
            await receiver.stop()  # closes the idle keep-alive connection
            await receiver.start()
            result = await s.send(receiver.url(), SECRET, "m9", BODY)
    assert (result.status_code, result.error) == (200, None)
    assert accepted == 2
    assert [r.headers["webhook-id"] for r in receiver.received][-1] == "m9"


async def test_connection_close_chunked_large_and_redirect_answers() -> None:
    async def big() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 4096

    routes = {
        "/close": Route(status=200),
        "/chunked": Route(status=201, chunks=big),
        "/moved": Route(status=301, headers={"Location": "/close"}),
        "/busy": Route(status=429, headers={"Retry-After": "120"}),
    }
    async with LoopbackHTTPServer(routes) as server, sender() as s:
        results = {
            path: await s.send(f"{server.base}{path}", SECRET, "m", BODY)
            for path in ("/close", "/close", "/chunked", "/moved", "/busy")
        }
    assert results["/close"].status_code == 200
    assert results["/chunked"].status_code == 201 and results["/chunked"].success
    assert (results["/moved"].status_code, results["/moved"].error) == (301, "HTTP 301")
    assert results["/busy"].retry_after_s == 120
    assert [r.path for r in server.requests] == ["/close", "/close", "/chunked", "/moved", "/busy"]


async def test_a_receiver_that_never_answers_times_out() -> None:
    server = LoopbackHTTPServer({"/slow": Route(hang=True)})
    async with server, sender(request_timeout_s=0.3) as s:
        result = await s.send(f"{server.base}/slow", SECRET, "m", BODY)
    assert (result.status_code, result.error) == (None, "timed out after 0.3 s")
    assert 250 <= result.latency_ms < 3000


async def test_dns_that_turns_private_after_the_save_is_refused_at_delivery() -> None:
    dns = FakeDNS({"hooks.example.test": ["93.184.215.14"]})
    async with sender(dns, allow_private_urls=False) as s:
        dns.answers["hooks.example.test"] = ["127.0.0.1"]
        result = await s.send("http://hooks.example.test:8080/in", SECRET, "m", BODY)
        dns.answers["hooks.example.test"] = ["93.184.215.14", "169.254.169.254"]
        mixed = await s.send("http://hooks.example.test:8080/in", SECRET, "m", BODY)
    assert result.error == (
        "URL refused: hooks.example.test resolves to a loopback address; "
        "the server's URL policy refuses internal addresses"
    )
    assert mixed.error and "instance-metadata" in mixed.error
    assert dns.calls == [("hooks.example.test", 8080)] * 2


async def test_a_request_the_receiver_saw_is_not_resent_after_a_broken_answer() -> None:
    """On a reused connection, an answer cut off midway means the request arrived: the
    attempt fails (and is retried later on the schedule) instead of being sent again now."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                seen.append(await reader.readexactly(length))
                if len(seen) == 1:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
                    await writer.drain()
                    break
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, sender() as s:
        first = await s.send(f"http://127.0.0.1:{port}/in", SECRET, "m1", BODY)
        second = await s.send(f"http://127.0.0.1:{port}/in", SECRET, "m2", BODY)
    assert first.success
    assert (second.status_code, second.error) == (None, "the receiver broke the HTTP exchange")
    assert len(seen) == 2
