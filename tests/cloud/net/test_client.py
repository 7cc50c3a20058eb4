"""guarded_client: pinned to the checked address, TLS still verified for the original name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from cloud.net import (
    FetchConnectionError,
    UnsafeURLError,
    fetch_to_file,
    guarded_client,
    resolve_public_url,
)
from tests.cloud.net.httpserver import LoopbackHTTPServer, Route
from tests.cloud.net.test_resolve import FakeDNS


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` made with the openssl CLI (skips without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_is_verified_against_the_original_name_while_dialling_the_ip(
    tmp_path: Path,
) -> None:
    cert, key = make_cert(tmp_path, "files.example.test")
    client_context = ssl.create_default_context(cafile=str(cert))
    dns = FakeDNS({"files.example.test": ["127.0.0.1"]})
    routes = {"/a.gcode": Route(body=b"G28\n")}
    async with LoopbackHTTPServer(routes, ssl_context=server_context(cert, key)) as server:
        result = await fetch_to_file(
            f"https://files.example.test:{server.port}/a.gcode", tmp_path / "a",
            max_bytes=100, allow_private=True, timeout_s=5, verify=client_context, resolver=dns,
        )  # fmt: skip
    assert result.size_bytes == 4
    assert server.requests[0].headers["host"] == f"files.example.test:{server.port}"


async def test_a_certificate_for_another_name_is_rejected(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "other.example.test")
    client_context = ssl.create_default_context(cafile=str(cert))
    dns = FakeDNS({"files.example.test": ["127.0.0.1"]})
    routes = {"/a.gcode": Route(body=b"G28\n")}
    async with LoopbackHTTPServer(routes, ssl_context=server_context(cert, key)) as server:
        with pytest.raises(FetchConnectionError, match="certificate"):
            await fetch_to_file(
                f"https://files.example.test:{server.port}/a.gcode", tmp_path / "a",
                max_bytes=100, allow_private=True, timeout_s=5, verify=client_context,
                resolver=dns,
            )  # fmt: skip
    assert server.requests == []
    assert not (tmp_path / "a").exists()


async def test_guarded_client_posts_to_the_checked_host() -> None:
    dns = FakeDNS({"hooks.example.test": ["127.0.0.1"]})
    async with LoopbackHTTPServer({"/hook": Route(status=204)}) as server:
        target = await resolve_public_url(
            f"http://hooks.example.test:{server.port}/hook", allow_private=True, resolver=dns
        )
        async with guarded_client(target, timeout_s=5) as client:
            response = await client.post(str(target.url), content=b'{"type":"job.completed"}')
    assert response.status_code == 204
    seen = server.requests[0]
    assert (seen.method, seen.path, seen.body) == ("POST", "/hook", b'{"type":"job.completed"}')
    assert seen.headers["host"] == f"hooks.example.test:{server.port}"


async def test_guarded_client_refuses_any_other_origin_and_does_not_follow_redirects() -> None:
    async with (
        LoopbackHTTPServer({"/r": Route(status=302, headers={"Location": "/x"})}) as server,
        LoopbackHTTPServer({"/x": Route(body=b"secret")}) as other,
    ):
        target = await resolve_public_url(f"{server.base}/r", allow_private=True)
        async with guarded_client(target, timeout_s=5) as client:
            with pytest.raises(UnsafeURLError, match="may only reach"):
                await client.get(f"{other.base}/x")
            with pytest.raises(UnsafeURLError):
                await client.get(f"https://127.0.0.1:{server.port}/r")  # other scheme
            response = await client.get(f"{server.base}/r")
    assert response.status_code == 302  # returned to the caller, not followed
    assert other.requests == []
    assert len(server.requests) == 1


async def test_guarded_client_ignores_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would carry the request somewhere unchecked.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    async with LoopbackHTTPServer({"/a": Route(body=b"ok")}) as server:
        target = await resolve_public_url(f"{server.base}/a", allow_private=True)
        async with guarded_client(target, timeout_s=5) as client:
            response = await client.get(str(target.url))
    assert response.content == b"ok"
    assert isinstance(response, httpx.Response)
