"""The simulated printer's storage card over implicit FTPS, as a Bambu Lab printer serves it.

A real printer in LAN mode takes files over FTPS with implicit TLS on port 990 (TLS from
the first byte), user `bblp`, password = the LAN access code, passive data connections,
folders `/cache` and `/model` (README fact 10; bambu-rs docs/protocol.md §Transport).

    async with FtpsServer(root=card_dir, ssl_context=server_context(cert, key),
                          password="12345678", port=0) as server:
        ftplib client → 127.0.0.1:server.port

Sessions, files and transfers live in `ftps_session`, `ftps_card` and `ftps_data`; this
module owns the listener, the session tasks and their limits.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from agent.sim.bambu.ftps_card import Card
from agent.sim.bambu.ftps_data import CLOSE_TIMEOUT_S, HANDSHAKE_TIMEOUT_S, close_stream
from agent.sim.bambu.ftps_session import (
    MAX_LINE_BYTES,
    FtpsStats,
    Session,
    SessionSettings,
)
from agent.sim.bambu.logins import LoginGuard

__all__ = ["USERNAME", "FtpsServer", "FtpsStats"]

log = logging.getLogger(__name__)

USERNAME = "bblp"
# After this many wrong passwords the printer refuses logins for a while.
MAX_FAILED_LOGINS = 5
# How long stop() lets each session say goodbye (TLS close_notify) before dropping it.
STOP_TIMEOUT_S = 1.0


class FtpsServer:
    """An implicit-FTPS server playing a printer's card under `root` (cache/ and model/
    are created there).

    - `port=0` picks a free port; `port` tells the bound one after `start()`, and a
      restart after `stop()` binds that one again.
    - `capacity_bytes`: the card's size; a STOR that would overflow it answers 552 and
      leaves no partial file. None: unlimited.
    - `on_stored(path)` runs on the event loop after each completed STOR, before the
      client gets its 226; it must not block.
    - Logins: 5 failures put the printer in a lockout of `lockout_s` (0: never) during
      which every login gets 530. Pass `logins` to share the count with the MQTT server,
      as one printer does; `lockout_s` is then ignored.
    - A session idle for `idle_timeout_s` gets 421 and is closed; a data connection or
      transfer that stalls for `data_timeout_s` is aborted; past `max_sessions` open
      control connections a new one gets 421.
    """

    def __init__(
        self,
        *,
        root: Path,
        ssl_context: ssl.SSLContext,
        password: str,
        username: str = USERNAME,
        host: str = "127.0.0.1",
        port: int = 990,
        capacity_bytes: int | None = None,
        on_stored: Callable[[Path], object] | None = None,
        lockout_s: float = 60.0,
        logins: LoginGuard | None = None,
        idle_timeout_s: float = 300.0,
        data_timeout_s: float = 30.0,
        max_sessions: int = 8,
    ) -> None:
        self.card = Card(root, capacity_bytes)
        self.stats = FtpsStats()
        self._settings = SessionSettings(
            username=username,
            password=password,
            ssl_context=ssl_context,
            idle_timeout_s=idle_timeout_s,
            data_timeout_s=data_timeout_s,
            on_stored=on_stored,
        )
        self._logins = logins or LoginGuard(max_failures=MAX_FAILED_LOGINS, lockout_s=lockout_s)
        self._host = host
        self._port = port
        self._max_sessions = max_sessions
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect,
            self._host,
            self._port,
            ssl=self._settings.ssl_context,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
            ssl_shutdown_timeout=CLOSE_TIMEOUT_S,
            limit=MAX_LINE_BYTES,
        )
        log.info("simulated printer FTPS on %s:%d, card %s", self._host, self.port, self.card.root)

    async def stop(self) -> None:
        """Stop listening and end every session (their data connections with them);
        `start()` may follow, on the same port."""
        # A later start() listens on the same port again, as a rebooted printer does.
        self._port = self.port
        server, self._server = self._server, None
        if server is not None:
            server.close()
        sessions = list(self._sessions)
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> FtpsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The session runs in a task of ours, not in asyncio's connection task: stop()
        # cancels it, and asyncio 3.11 logs a cancelled connection task as an error.
        peer = writer.get_extra_info("peername")
        task = asyncio.create_task(self._serve(reader, writer), name=f"ftps-session {peer}")
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session((reader, writer), self._settings, self.card, self._logins, self.stats)
        try:
            if len(self._sessions) > self._max_sessions:
                await session.reply(421, "Too many connections; try again later.")
                return
            await session.run()
        except (OSError, TimeoutError) as exc:
            log.debug("FTPS session ended: %r", exc)  # the client vanished or stalled
        except Exception:  # one broken session must not take the server down
            log.exception("FTPS session failed")
        finally:
            timeout_s = STOP_TIMEOUT_S if self._server is None else CLOSE_TIMEOUT_S
            await close_stream(writer, timeout_s)
