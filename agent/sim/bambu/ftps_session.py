"""One FTPS control session with the simulated printer: login, commands, transfers.

The command set is the printer's (README fact 10, from bambu-rs docs/protocol.md §FTP
capabilities): LIST, NLST, SIZE, MDTM, RETR, STOR, DELE, RNFR/RNTO, MKD/RMD, SYST, plus
what a client needs around them. FEAT and REST answer 502 as the printer does; so does
any command we do not know. Transfers are always binary and always passive over TLS.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.sim.bambu.ftps_card import Card, CardError
from agent.sim.bambu.ftps_data import (
    PassiveListener,
    Receiver,
    Stream,
    Transfer,
    close_stream,
    send_bytes,
    send_file,
)
from agent.sim.bambu.logins import LoginGuard

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
# Commands that work before login; everything else answers 530 until then.
_OPEN = frozenset({"USER", "PASS", "PBSZ", "PROT", "SYST", "NOOP", "QUIT"})

Handler = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SessionSettings:
    username: str
    password: str = field(repr=False)
    ssl_context: ssl.SSLContext
    idle_timeout_s: float
    data_timeout_s: float
    on_stored: Callable[[Path], object] | None = None


@dataclass(slots=True)
class FtpsStats:
    """What the server saw, for tests: e.g. that a client never sent its password."""

    logins_attempted: int = 0
    logins_refused: int = 0
    # Data connections that resumed the control connection's TLS session, and all of them.
    data_connections: int = 0
    data_sessions_reused: int = 0
    files_stored: int = 0


class Session:
    """Serves one control connection until QUIT, idle timeout, or the peer leaves."""

    def __init__(
        self,
        stream: Stream,
        settings: SessionSettings,
        card: Card,
        logins: LoginGuard,
        stats: FtpsStats,
    ) -> None:
        self._reader, self._writer = stream
        self._settings = settings
        self._card = card
        self._logins = logins
        self._stats = stats
        self._user: str | None = None
        self._logged_in = False
        self._cwd = "/"
        self._rename_from: Path | None = None
        self._protected = False
        self._passive: PassiveListener | None = None
        self._done = False
        self._handlers: dict[str, Handler] = {
            "USER": self._user_cmd, "PASS": self._pass, "PBSZ": self._pbsz,
            "PROT": self._prot, "TYPE": self._type, "SYST": self._syst, "NOOP": self._noop,
            "QUIT": self._quit, "PWD": self._pwd, "CWD": self._cwd_cmd, "CDUP": self._cdup,
            "PASV": self._pasv, "EPSV": self._epsv, "LIST": self._list, "NLST": self._nlst,
            "SIZE": self._size, "MDTM": self._mdtm, "RETR": self._retr, "STOR": self._stor,
            "DELE": self._dele, "RNFR": self._rnfr, "RNTO": self._rnto, "MKD": self._mkd,
            "RMD": self._rmd,
        }  # fmt: skip

    async def run(self) -> None:
        try:
            await self.reply(220, "Service ready for new user.")
            while not self._done:
                try:
                    async with asyncio.timeout(self._settings.idle_timeout_s):
                        line = await self._reader.readuntil(b"\n")
                except TimeoutError:
                    await self.reply(421, "Timeout: closing control connection.")
                    return
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                except asyncio.LimitOverrunError:
                    await self.reply(500, "Command line too long.")
                    return
                await self._dispatch(line)
        finally:
            if self._passive is not None:
                await self._passive.close()

    async def reply(self, code: int, text: str) -> None:
        self._writer.write(f"{code} {text}\r\n".encode())
        async with asyncio.timeout(self._settings.data_timeout_s):
            await self._writer.drain()

    async def _dispatch(self, line: bytes) -> None:
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            await self.reply(501, "Command is not valid UTF-8.")
            return
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        handler = self._handlers.get(verb)
        if verb != "RNTO":
            self._rename_from = None  # an RNFR holds only for the command right after it
        if handler is None:
            # FEAT and REST land here too: the printer answers both with 502.
            await self.reply(502 if verb else 500, "Command not implemented.")
        elif verb not in _OPEN and not self._logged_in:
            await self.reply(530, "Please login with USER and PASS.")
        else:
            try:
                await handler(arg)
            except CardError as exc:
                await self.reply(exc.code, exc.text)
            except OSError as exc:
                log.debug("FTPS %s failed: %s", verb, exc)
                await self.reply(451, "Requested action aborted: local error.")

    # --- login and session options ----------------------------------------------------------
    async def _user_cmd(self, arg: str) -> None:
        self._user, self._logged_in = arg, False
        await self.reply(331, "Please specify the password.")

    async def _pass(self, arg: str) -> None:
        if self._user is None:
            await self.reply(503, "Login with USER first.")
            return
        self._stats.logins_attempted += 1
        if not self._logins.allowed():
            self._stats.logins_refused += 1
            await self.reply(530, "Too many failed logins: LAN access is locked for a while.")
            return
        right_user = self._user == self._settings.username
        right_code = hmac.compare_digest(arg.encode(), self._settings.password.encode())
        if right_user and right_code:
            self._logins.succeeded()
            self._logged_in = True
            await self.reply(230, "Login successful.")
        else:
            self._logins.failed()
            self._stats.logins_refused += 1
            await self.reply(530, "Login incorrect.")

    async def _pbsz(self, arg: str) -> None:
        await self.reply(200, "PBSZ=0")

    async def _prot(self, arg: str) -> None:
        # Data connections are always TLS here, as on the printer.
        if arg.strip().upper() == "P":
            self._protected = True
            await self.reply(200, "Protection level set to P.")
        else:
            await self.reply(536, "Only PROT P is supported.")

    async def _type(self, arg: str) -> None:
        if arg.strip().upper() in ("A", "A N", "I", "L 8"):
            await self.reply(200, "Type set.")
        else:
            await self.reply(504, "Unsupported type.")

    async def _syst(self, arg: str) -> None:
        await self.reply(215, "UNIX Type: L8")

    async def _noop(self, arg: str) -> None:
        await self.reply(200, "NOOP ok.")

    async def _quit(self, arg: str) -> None:
        self._done = True
        await self.reply(221, "Goodbye.")

    # --- folders and file facts -------------------------------------------------------------
    async def _pwd(self, arg: str) -> None:
        await self.reply(257, f'"{self._cwd}" is the current directory.')

    async def _cwd_cmd(self, arg: str) -> None:
        virtual, real = self._card.resolve(self._cwd, arg)
        if not real.is_dir():
            raise CardError(550, "Failed to change directory.")
        self._cwd = virtual
        await self.reply(250, "Directory successfully changed.")

    async def _cdup(self, arg: str) -> None:
        await self._cwd_cmd("..")

    async def _size(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        await self.reply(213, str(self._card.size(real)))

    async def _mdtm(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        await self.reply(213, self._card.modified(real))

    async def _dele(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        if not real.is_file():
            raise CardError(550, "Delete operation failed.")
        real.unlink()
        await self.reply(250, "Delete operation successful.")

    async def _rnfr(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        if not real.exists() or self._card.is_root(real):
            raise CardError(550, "RNFR command failed.")
        self._rename_from = real
        await self.reply(350, "Ready for RNTO.")

    async def _rnto(self, arg: str) -> None:
        source, self._rename_from = self._rename_from, None
        if source is None:
            raise CardError(503, "RNFR required first.")
        _, real = self._card.resolve(self._cwd, arg)
        if real.is_dir() or not real.parent.is_dir():
            raise CardError(550, "Rename failed.")
        os.replace(source, real)
        await self.reply(250, "Rename successful.")

    async def _mkd(self, arg: str) -> None:
        virtual, real = self._card.resolve(self._cwd, arg)
        if real.exists() or not real.parent.is_dir():
            raise CardError(550, "Create directory operation failed.")
        real.mkdir()
        await self.reply(257, f'"{virtual}" created.')

    async def _rmd(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        if not real.is_dir() or self._card.is_root(real) or any(real.iterdir()):
            raise CardError(550, "Remove directory operation failed.")
        real.rmdir()
        await self.reply(250, "Remove directory operation successful.")

    # --- data connections and transfers -----------------------------------------------------
    async def _pasv(self, arg: str) -> None:
        host = self._writer.get_extra_info("sockname")[0]
        if ":" in host:
            raise CardError(522, "PASV needs IPv4; use EPSV.")
        port = await self._listen()
        numbers = ",".join([*host.split("."), str(port >> 8), str(port & 0xFF)])
        await self.reply(227, f"Entering Passive Mode ({numbers}).")

    async def _epsv(self, arg: str) -> None:
        if arg.strip().upper() == "ALL":
            await self.reply(200, "EPSV ALL ok.")
            return
        port = await self._listen()
        await self.reply(229, f"Entering Extended Passive Mode (|||{port}|).")

    async def _listen(self) -> int:
        if self._passive is not None:
            await self._passive.close()
        host = self._writer.get_extra_info("sockname")[0]
        peer = self._writer.get_extra_info("peername")[0]
        self._passive = PassiveListener(self._settings.ssl_context, host, peer)
        return await self._passive.open()

    async def _list(self, arg: str) -> None:
        await self._send_listing(arg, names_only=False)

    async def _nlst(self, arg: str) -> None:
        await self._send_listing(arg, names_only=True)

    async def _send_listing(self, arg: str, *, names_only: bool) -> None:
        # `ls` options (`LIST -la`) are accepted and ignored.
        words = [word for word in arg.split(" ") if word and not word.startswith("-")]
        _, real = self._card.resolve(self._cwd, " ".join(words) or ".")
        lines = self._card.listing(real, names_only=names_only)
        payload = "".join(f"{line}\r\n" for line in lines).encode()
        await self._transfer(
            "Here comes the directory listing.", send_bytes(payload, self._settings.data_timeout_s)
        )
        await self.reply(226, "Directory send OK.")

    async def _retr(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        if not real.is_file():
            raise CardError(550, "Failed to open file.")
        with real.open("rb") as source:
            await self._transfer(
                f"Opening BINARY mode data connection for {arg}.",
                send_file(source, self._settings.data_timeout_s),
            )
        await self.reply(226, "Transfer complete.")

    async def _stor(self, arg: str) -> None:
        _, real = self._card.resolve(self._cwd, arg)
        if real.is_dir() or not real.parent.is_dir():
            raise CardError(550, "Could not create file.")
        room = self._card.room_for(real)
        receiver = Receiver(real, room, self._settings.data_timeout_s)
        try:
            await self._transfer("Ok to send data.", receiver.run)
        finally:
            receiver.discard_unless_complete()
        if receiver.overflowed:
            raise CardError(552, "Requested file action aborted: no space left on the card.")
        self._stats.files_stored += 1
        if self._settings.on_stored is not None:
            try:
                self._settings.on_stored(real)
            except Exception:  # a caller's hook must not take the session down
                log.exception("on_stored callback failed for %s", real)
        await self.reply(226, "Transfer complete.")

    async def _transfer(self, opening: str, work: Transfer) -> None:
        """150, the data connection, `work` on it, close_notify; CardError 425/426/521 on
        failure. The 150 comes first: ftplib starts its TLS handshake only after it."""
        passive, self._passive = self._passive, None
        if passive is None:
            raise CardError(425, "Use PASV or EPSV first.")
        if not self._protected:
            # Our data connections are TLS only; a client that has not asked for that
            # would wait on a plain socket until both sides time out. RFC 4217 §9: 521.
            await passive.close()
            raise CardError(521, "Data connections must be protected: PBSZ 0, then PROT P.")
        try:
            await self.reply(150, opening)
            try:
                stream = await passive.accept(self._settings.data_timeout_s)
            except TimeoutError:
                raise CardError(425, "Failed to establish data connection.") from None
            self._stats.data_connections += 1
            self._stats.data_sessions_reused += passive.session_reused
            try:
                await work(stream)
            except (TimeoutError, OSError) as exc:
                log.debug("FTPS transfer aborted: %s", exc)
                raise CardError(426, "Connection closed; transfer aborted.") from exc
            finally:
                await close_stream(stream[1])
        finally:
            await passive.close()
