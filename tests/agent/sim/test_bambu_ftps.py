"""The simulated Bambu printer's card over implicit FTPS, driven by stdlib ftplib.

The client is ftplib's FTP_TLS with TLS from the first byte, as bambulabs-api's
`ImplicitFTP_TLS` does it (README fact 10). ftplib unwraps every data connection after a
transfer, so each successful STOR/RETR/LIST here also proves the server's close_notify.
"""

from __future__ import annotations

import asyncio
import ftplib
import io
import os
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.sim.bambu.certs import make_printer_certificate, server_context
from agent.sim.bambu.ftps import FtpsServer
from agent.sim.bambu.logins import LoginGuard

SERIAL = "01S00A123456789"
CODE = "12345678"
T = TypeVar("T")
ServerFactory = Callable[..., AbstractAsyncContextManager[FtpsServer]]


class ImplicitFtps(ftplib.FTP_TLS):
    """ftplib with TLS from the first byte; the printer's certificate is self-signed."""

    def __init__(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(context=context, timeout=10)

    def connect(
        self,
        host: str = "",
        port: int = 0,
        timeout: float = -999,
        source_address: tuple[str, int] | None = None,
    ) -> str:
        self.host, self.port = host, port
        self.sock = self.context.wrap_socket(
            socket.create_connection((host, port), self.timeout), server_hostname=host
        )
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def logged_in(port: int, password: str = CODE) -> ImplicitFtps:
    ftp = ImplicitFtps()
    ftp.connect("127.0.0.1", port)
    ftp.login("bblp", password)
    ftp.prot_p()
    return ftp


def try_login(port: int, password: str) -> str:
    """The reply to PASS (an error reply as its text)."""
    ftp = ImplicitFtps()
    ftp.connect("127.0.0.1", port)
    try:
        return ftp.login("bblp", password)
    except ftplib.error_perm as exc:
        return str(exc)
    finally:
        ftp.close()


def reply(ftp: ftplib.FTP, command: str) -> str:
    try:
        return ftp.sendcmd(command)
    except ftplib.Error as exc:
        return str(exc)


async def blocking(work: Callable[..., T], *args: Any) -> T:
    """Run a blocking ftplib client in a thread, bounded in time."""
    return await asyncio.wait_for(asyncio.to_thread(work, *args), 30)


@pytest.fixture(scope="module")
def printer_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_printer_certificate(SERIAL, tmp_path_factory.mktemp("tls"))


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return tmp_path / "card"


@pytest.fixture
def make_server(printer_cert: tuple[Path, Path], card: Path) -> ServerFactory:
    """`async with make_server(capacity_bytes=...) as server:` on 127.0.0.1, a free port."""

    @asynccontextmanager
    async def factory(**options: Any) -> AsyncIterator[FtpsServer]:
        server = FtpsServer(
            root=card, ssl_context=server_context(*printer_cert), password=CODE, port=0, **options
        )
        async with server:
            yield server

    return factory


def test_the_certificate_is_named_like_a_printers(printer_cert: tuple[Path, Path]) -> None:
    cert_path, key_path = printer_cert
    leaf, ca = x509.load_pem_x509_certificates(cert_path.read_bytes())
    issuer = "CN=BBL CA,O=BBL Technologies Co.\\, Ltd,C=CN"
    assert leaf.subject.rfc4514_string() == f"CN={SERIAL}"
    assert leaf.issuer.rfc4514_string() == issuer == ca.subject.rfc4514_string()
    public_key = leaf.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    assert key_path.stat().st_mode & 0o077 == 0


async def test_files_go_up_and_come_back_byte_for_byte(
    make_server: ServerFactory, card: Path
) -> None:
    big = os.urandom(6 * 1024 * 1024 + 123)
    small = b"G28\nG1 X10 Y10\n"

    def client(port: int) -> tuple[bytes, bytes]:
        ftp = logged_in(port)
        ftp.storbinary("STOR /cache/apf-big.gcode", io.BytesIO(big), 65536)
        ftp.storbinary("STOR cache/apf-small.gcode", io.BytesIO(small))  # relative to /
        back_big, back_small = io.BytesIO(), io.BytesIO()
        ftp.retrbinary("RETR cache/apf-big.gcode", back_big.write)
        ftp.cwd("/cache")
        ftp.retrbinary("RETR apf-small.gcode", back_small.write)
        ftp.quit()
        return back_big.getvalue(), back_small.getvalue()

    async with make_server() as server:
        back_big, back_small = await blocking(client, server.port)
    assert back_big == big
    assert back_small == small
    assert (card / "cache" / "apf-big.gcode").read_bytes() == big
    assert server.stats.files_stored == 2


async def test_listing_and_file_commands(make_server: ServerFactory, card: Path) -> None:
    def client(port: int) -> dict[str, Any]:
        ftp = logged_in(port)
        ftp.storbinary("STOR /model/a.3mf", io.BytesIO(b"x" * 1000))
        seen: dict[str, Any] = {"root": sorted(ftp.nlst("/")), "syst": ftp.sendcmd("SYST")}
        lines: list[str] = []
        ftp.dir("/model", lines.append)
        seen["list"] = lines
        seen["size"] = ftp.size("/model/a.3mf")
        seen["mdtm"] = ftp.sendcmd("MDTM /model/a.3mf")
        seen["mkd"] = ftp.mkd("/model/plates")
        ftp.rename("/model/a.3mf", "/model/plates/b.3mf")
        seen["after_rename"] = ftp.nlst("/model/plates")
        ftp.cwd("/model/plates")
        seen["pwd"] = ftp.pwd()
        seen["rmd_full"] = reply(ftp, "RMD /model/plates")
        ftp.delete("b.3mf")
        seen["dele_missing"] = reply(ftp, "DELE b.3mf")
        ftp.sendcmd("CDUP")
        seen["pwd_up"] = ftp.pwd()
        ftp.rmd("plates")
        seen["noop"] = ftp.voidcmd("NOOP")
        ftp.quit()
        return seen

    async with make_server() as server:
        seen = await blocking(client, server.port)
    assert seen["root"] == ["cache", "model"]
    assert seen["syst"] == "215 UNIX Type: L8"
    [line] = seen["list"]
    assert line.startswith("-rw-r--r--") and line.split()[4] == "1000" and line.endswith(" a.3mf")
    assert seen["size"] == 1000
    assert seen["mdtm"].startswith("213 20") and len(seen["mdtm"]) == len("213 YYYYMMDDHHMMSS")
    assert seen["mkd"] == "/model/plates"
    assert seen["after_rename"] == ["b.3mf"]
    assert seen["pwd"] == "/model/plates"
    assert seen["rmd_full"].startswith("550")
    assert seen["dele_missing"].startswith("550")
    assert seen["pwd_up"] == "/model"
    assert seen["noop"].startswith("200")
    assert sorted(p.name for p in (card / "model").iterdir()) == []


async def test_feat_rest_and_unknown_commands_answer_502(make_server: ServerFactory) -> None:
    def client(port: int) -> list[str]:
        ftp = logged_in(port)
        answers = [reply(ftp, c) for c in ("FEAT", "REST 100", "SITE CHMOD 777 x", "ABOR")]
        ftp.quit()
        return answers

    async with make_server() as server:
        answers = await blocking(client, server.port)
    assert [a[:3] for a in answers] == ["502"] * 4


@pytest.fixture
def secret(card: Path, tmp_path: Path) -> Path:
    """A file next to the card, and a symlink on the card that leads to it."""
    path = tmp_path / "secret.txt"
    path.write_text("not on the card")
    (card / "model").mkdir(parents=True)
    (card / "model" / "escape").symlink_to(tmp_path)
    return path


async def test_paths_cannot_leave_the_card(
    make_server: ServerFactory, secret: Path, tmp_path: Path
) -> None:

    def client(port: int) -> dict[str, str]:
        ftp = logged_in(port)
        commands = [
            "CWD ..",
            "CDUP",
            "SIZE ../secret.txt",
            "SIZE /../secret.txt",
            "SIZE /cache/../../secret.txt",
            "SIZE cache/../../secret.txt",
            "SIZE /model/escape/secret.txt",
            "DELE /model/escape/secret.txt",
            "MKD /../outside",
            "RMD /",
            "RNFR /",
        ]
        answers = {c: reply(ftp, c) for c in commands}
        answers["STOR"] = reply(ftp, "STOR ../../planted.txt")
        answers["inside"] = reply(ftp, "CWD /cache/../model/.")
        answers["pwd"] = ftp.pwd()
        ftp.quit()
        return answers

    async with make_server() as server:
        answers = await blocking(client, server.port)
    inside, pwd = answers.pop("inside"), answers.pop("pwd")
    assert all(a.startswith("550") for a in answers.values()), answers
    assert inside.startswith("250") and pwd == "/model"
    assert await blocking(secret.read_text) == "not on the card"
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path.parent / "planted.txt").exists()


async def test_a_wrong_password_gets_530_and_five_failures_lock_logins(
    make_server: ServerFactory,
) -> None:
    now = [1000.0]
    guard = LoginGuard(max_failures=5, lockout_s=30.0, clock=lambda: now[0])

    def five_wrong_then_right(port: int) -> list[str]:
        return [try_login(port, f"wrong-{n}") for n in range(5)] + [try_login(port, CODE)]

    async with make_server(logins=guard) as server:
        answers = await blocking(five_wrong_then_right, server.port)
        now[0] += 31.0  # the lockout ends
        after = await blocking(try_login, server.port, CODE)
    assert answers[:5] == ["530 Login incorrect."] * 5
    assert answers[5].startswith("530") and "locked" in answers[5]
    assert after.startswith("230")
    assert server.stats.logins_attempted == 7


async def test_lockout_s_sets_the_lockout_and_zero_disables_it(
    make_server: ServerFactory,
) -> None:
    def six_wrong_then_right(port: int) -> list[str]:
        return [try_login(port, "nope") for _ in range(6)] + [try_login(port, CODE)]

    async with make_server(lockout_s=3600.0) as server:
        locked = await blocking(six_wrong_then_right, server.port)
    async with make_server(lockout_s=0) as server:
        unlocked = await blocking(six_wrong_then_right, server.port)
    assert "locked" in locked[5] and "locked" in locked[6]
    assert all(a == "530 Login incorrect." for a in unlocked[:6])
    assert unlocked[6].startswith("230")


async def test_a_full_card_answers_552_and_keeps_no_partial_file(
    make_server: ServerFactory, card: Path
) -> None:
    def client(port: int) -> tuple[str, str]:
        ftp = logged_in(port)
        ftp.storbinary("STOR /cache/old.gcode", io.BytesIO(b"o" * 40_000))
        try:
            ftp.storbinary("STOR /cache/big.gcode", io.BytesIO(os.urandom(300_000)), 65536)
            full = "stored"
        except ftplib.error_perm as exc:
            full = str(exc)
        # The session goes on, and a file that fits still does.
        fits = ftp.storbinary("STOR /cache/small.gcode", io.BytesIO(b"s" * 50_000))
        ftp.quit()
        return full, fits

    async with make_server(capacity_bytes=100_000) as server:
        full, fits = await blocking(client, server.port)
    assert full.startswith("552")
    assert fits.startswith("226")
    assert sorted(p.name for p in (card / "cache").iterdir()) == ["old.gcode", "small.gcode"]


async def test_a_stored_file_is_reported_after_it_is_complete(
    make_server: ServerFactory, card: Path
) -> None:
    stored: list[tuple[Path, int]] = []

    def client(port: int) -> None:
        ftp = logged_in(port)
        ftp.storbinary("STOR /cache/job.gcode", io.BytesIO(b"G28\n" * 1000))
        ftp.quit()

    async with make_server(on_stored=lambda p: stored.append((p, p.stat().st_size))) as server:
        await blocking(client, server.port)
    assert stored == [(card / "cache" / "job.gcode", 4000)]


async def test_bad_input_gets_an_error_reply_and_the_server_carries_on(
    make_server: ServerFactory,
) -> None:
    def client(port: int) -> dict[str, str]:
        ftp = ImplicitFtps()
        ftp.connect("127.0.0.1", port)
        answers = {"before_login": reply(ftp, "LIST"), "pass_first": reply(ftp, "PASS x")}
        ftp.login("bblp", CODE)
        answers["prot_c"] = reply(ftp, "PROT C")
        try:  # a data connection without PROT P: refused at once, not left to time out
            ftp.nlst("/")
        except ftplib.error_perm as exc:
            answers["unprotected"] = str(exc)
        ftp.prot_p()
        answers["type_e"] = reply(ftp, "TYPE E")
        answers["rnto_alone"] = reply(ftp, "RNTO /cache/x")
        answers["retr_missing"] = reply(ftp, "RETR /cache/nothing")
        try:  # with a data connection already open, as ftplib does it
            ftp.retrbinary("RETR /cache/nothing", lambda _: None)
        except ftplib.error_perm as exc:
            answers["retr_missing_pasv"] = str(exc)
        answers["list_after"] = str(ftp.nlst("/"))
        answers["no_pasv"] = reply(ftp, "NLST /")
        answers["nul"] = reply(ftp, "SIZE /cache/a\0b")
        assert ftp.sock is not None
        ftp.sock.sendall(b"\xff\xfe SIZE\r\n")
        answers["not_utf8"] = ftp.getline()
        ftp.sock.sendall(b"NOOP " + b"x" * 10_000 + b"\r\n")
        answers["too_long"] = ftp.getline()
        answers["then"] = ftp.file.readline() if ftp.file else "?"
        ftp.close()
        # A new client is served as before.
        again = logged_in(port)
        answers["again"] = again.sendcmd("PWD")
        again.quit()
        return answers

    async with make_server() as server:
        answers = await blocking(client, server.port)
    assert answers["before_login"].startswith("530")
    assert answers["pass_first"].startswith("503")
    assert answers["prot_c"].startswith("536")
    assert answers["unprotected"].startswith("521")
    assert answers["type_e"].startswith("504")
    assert answers["rnto_alone"].startswith("503")
    assert answers["retr_missing"].startswith("550")
    assert answers["retr_missing_pasv"].startswith("550")
    assert answers["list_after"] == "['cache', 'model']"
    assert answers["no_pasv"].startswith("425")
    assert answers["nul"].startswith("501")
    assert answers["not_utf8"].startswith("501")
    assert answers["too_long"].startswith("500")
    assert answers["then"] == ""  # and the server closed that connection
    assert answers["again"].startswith("257")


async def test_an_idle_session_times_out(make_server: ServerFactory) -> None:
    def client(port: int) -> tuple[str, str]:
        ftp = logged_in(port)
        # Send nothing: the next thing from the server is its timeout notice, then EOF.
        notice = ftp.getline()
        rest = ftp.file.readline() if ftp.file else "?"
        ftp.close()
        return notice, rest

    async with make_server(idle_timeout_s=0.3) as server:
        notice, rest = await blocking(client, server.port)
    assert notice.startswith("421")
    assert rest == ""


async def test_sessions_beyond_the_limit_are_turned_away(make_server: ServerFactory) -> None:
    def client(port: int) -> str:
        first = logged_in(port)
        second = ImplicitFtps()
        try:
            second.connect("127.0.0.1", port)
            answer = "welcomed"
        except ftplib.error_temp as exc:
            answer = str(exc)
        finally:
            second.close()
        first.quit()
        return answer

    async with make_server(max_sessions=1) as server:
        answer = await blocking(client, server.port)
    assert answer.startswith("421")


async def test_no_card_refuses_file_commands(make_server: ServerFactory) -> None:
    def client(port: int) -> str:
        ftp = logged_in(port)
        answer = reply(ftp, "STOR /cache/x.gcode")
        ftp.quit()
        return answer

    async with make_server() as server:
        server.card.present = False
        answer = await blocking(client, server.port)
    assert answer.startswith("550")


async def test_stop_ends_open_sessions(make_server: ServerFactory) -> None:
    async with make_server() as server:
        ftp = await blocking(logged_in, server.port)
        ftp.set_pasv(True)
        await blocking(ftp.makepasv)  # an open data listener too
        assert server.session_count == 1
        await asyncio.wait_for(server.stop(), 10)
        assert server.session_count == 0
        with pytest.raises((EOFError, OSError)):
            await blocking(ftp.voidcmd, "NOOP")
        ftp.close()
