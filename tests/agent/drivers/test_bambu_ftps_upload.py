"""The agent's Bambu upload client against the simulated printer's implicit-FTPS card.

`upload()` and `delete()` block (the driver runs them in a thread), so the tests run them
with `asyncio.to_thread` while the simulator serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from agent.drivers.bambu import ftps
from agent.drivers.bambu.config import certificate_fingerprint
from agent.sim.bambu.certs import make_printer_certificate, server_context
from agent.sim.bambu.ftps import FtpsServer
from tests.support.ports import free_port

SERIAL = "01P00A987654321"
CODE = "87654321"
HOST = "127.0.0.1"
T = TypeVar("T")
ServerFactory = Callable[..., AbstractAsyncContextManager[FtpsServer]]


async def blocking(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(work, *args, **kwargs), 30)


async def put(port: int, source: Path, remote: str, **options: Any) -> str:
    """`ftps.upload` to the local server, in a thread, with the right access code."""
    options = {"fingerprint": None, "timeout": 10, **options}
    code = options.pop("access_code", CODE)
    return await blocking(ftps.upload, HOST, port, code, source, remote, **options)


@pytest.fixture(scope="module")
def printer_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_printer_certificate(SERIAL, tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def fingerprint(printer_cert: tuple[Path, Path]) -> str:
    leaf = x509.load_pem_x509_certificates(printer_cert[0].read_bytes())[0]
    return hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest()


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return tmp_path / "card"


@pytest.fixture
def make_server(printer_cert: tuple[Path, Path], card: Path) -> ServerFactory:
    @asynccontextmanager
    async def factory(**options: Any) -> AsyncIterator[FtpsServer]:
        server = FtpsServer(
            root=card, ssl_context=server_context(*printer_cert), password=CODE, port=0, **options
        )
        async with server:
            yield server

    return factory


BODY = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture
def gcode(tmp_path: Path) -> Path:
    path = tmp_path / "job.gcode"
    path.write_bytes(BODY)
    return path


def test_the_fingerprint_is_the_sha256_of_the_der_certificate() -> None:
    der = b"\x30\x82 not really a certificate"
    assert certificate_fingerprint(der) == hashlib.sha256(der).hexdigest()


async def test_upload_stores_the_file_and_returns_the_fingerprint(
    make_server: ServerFactory, card: Path, gcode: Path, fingerprint: str
) -> None:
    progress: list[int] = []
    async with make_server() as server:
        seen = await put(
            server.port, gcode, "/cache/apf-0123456789abcdef.gcode", progress=progress.append
        )
        # Pinned, in the colon form a person may paste: the same printer is accepted.
        pinned = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
        again = await put(server.port, gcode, "/model/copy.gcode", fingerprint=pinned)
    assert seen == again == fingerprint
    assert await blocking((card / "cache" / "apf-0123456789abcdef.gcode").read_bytes) == BODY
    assert await blocking((card / "model" / "copy.gcode").read_bytes) == BODY
    assert progress[-1] == len(BODY)
    assert progress == sorted(progress)
    assert all(b - a <= ftps.BLOCK_BYTES for a, b in zip([0, *progress], progress, strict=False))


async def test_a_changed_certificate_is_refused_before_the_access_code_is_sent(
    make_server: ServerFactory, card: Path, gcode: Path, fingerprint: str
) -> None:
    wrong = "ab" * 32
    async with make_server() as server:
        with pytest.raises(ftps.CertificateMismatchError) as caught:
            await put(server.port, gcode, "/cache/x.gcode", fingerprint=wrong)
    message = str(caught.value)
    assert fingerprint in message and wrong in message
    assert server.stats.logins_attempted == 0  # the server never saw a PASS
    assert not (card / "cache" / "x.gcode").exists()


async def test_a_refused_access_code_says_so_and_warns_of_the_lockout(
    make_server: ServerFactory, gcode: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_code = "00000000"
    async with make_server() as server:
        with pytest.raises(ftps.AccessCodeRefusedError) as caught:
            await put(server.port, gcode, "/cache/x.gcode", access_code=wrong_code)
    message = str(caught.value)
    assert "refused the access code" in message
    assert "locks LAN access" in message
    assert isinstance(caught.value, ftps.UploadError)
    assert wrong_code not in message and CODE not in message
    assert wrong_code not in caplog.text and CODE not in caplog.text


async def test_a_full_card_is_reported_and_keeps_no_partial_file(
    make_server: ServerFactory, card: Path, gcode: Path
) -> None:
    async with make_server(capacity_bytes=1024 * 1024) as server:
        with pytest.raises(ftps.StorageFullError) as caught:
            await put(server.port, gcode, "/cache/big.gcode")
    assert "storage is full" in str(caught.value)
    assert list((card / "cache").iterdir()) == []


async def test_no_card_is_reported(make_server: ServerFactory, gcode: Path) -> None:
    async with make_server() as server:
        server.card.present = False
        with pytest.raises(ftps.NoStorageError) as caught:
            await put(server.port, gcode, "/cache/x.gcode")
    assert "no storage card" in str(caught.value)


async def test_an_unreachable_port_is_reported(gcode: Path) -> None:
    port = free_port()
    with pytest.raises(ftps.PrinterUnreachableError) as caught:
        await put(port, gcode, "/cache/x.gcode", timeout=5)
    assert f"cannot reach the printer's FTPS port {port} at {HOST}" in str(caught.value)


async def test_a_port_that_never_answers_is_reported(gcode: Path) -> None:
    # A listener that never accepts: TCP connects (the kernel's backlog), TLS never starts.
    with socket.create_server((HOST, 0), backlog=1) as silent:
        port = silent.getsockname()[1]
        with pytest.raises(ftps.PrinterUnreachableError) as caught:
            await put(port, gcode, "/cache/x.gcode", timeout=0.5)
    message = str(caught.value)
    assert f"cannot reach the printer's FTPS port {port} at {HOST}" in message
    assert "no answer within the timeout" in message


async def test_a_short_file_on_the_printer_is_an_error(
    make_server: ServerFactory, gcode: Path
) -> None:
    def lose_the_tail(path: Path) -> None:
        # What a card that lost the end of the data would hold.
        with path.open("r+b") as file:
            file.truncate(1000)

    async with make_server(on_stored=lose_the_tail) as server:
        with pytest.raises(ftps.UploadError) as caught:
            await put(server.port, gcode, "/cache/x.gcode")
    assert f"holds 1000 bytes of /cache/x.gcode but {len(BODY)} were sent" in str(caught.value)


async def test_delete_removes_a_file_and_a_missing_one_is_fine(
    make_server: ServerFactory, card: Path, gcode: Path, fingerprint: str
) -> None:
    stored = card / "cache" / "old.gcode"
    async with make_server() as server:
        await put(server.port, gcode, "/cache/old.gcode")
        assert await blocking(stored.exists)
        for _ in range(2):
            await blocking(
                ftps.delete, HOST, server.port, CODE, "/cache/old.gcode",
                fingerprint=fingerprint, timeout=10,
            )  # fmt: skip
        assert not await blocking(stored.exists)


async def test_a_restarted_server_is_reached_on_the_same_port(
    make_server: ServerFactory, gcode: Path
) -> None:
    async with make_server() as server:
        port = server.port
        await server.stop()
        await server.start()
        assert server.port == port
        await put(port, gcode, "/cache/x.gcode")
