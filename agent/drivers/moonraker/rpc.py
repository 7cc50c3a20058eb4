"""Moonraker's websocket: JSON-RPC 2.0 requests with replies matched by id, and the
notifications Moonraker pushes (`notify_status_update`, `notify_klippy_ready`, …).

One `MoonrakerSocket` is one connection. Replies complete the caller's future;
notifications go to the `on_notify` callable in arrival order, from the reader task. The
connection authenticates with the `X-Api-Key` header on the upgrade request, which
Moonraker accepts like any HTTP request (components/authorization.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

logger = logging.getLogger(__name__)

Notify = Callable[[str, list[Any]], None]
# Moonraker's status pushes are small; a whole-file metadata answer is the largest we ask.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class SocketUnavailable(Exception):
    """The websocket could not be opened or broke; the driver polls meanwhile."""


class SocketAuthError(SocketUnavailable):
    pass


class RpcError(Exception):
    """Moonraker answered a request with a JSON-RPC error."""


class MoonrakerSocket:
    def __init__(self, conn: ClientConnection, on_notify: Notify) -> None:
        self._conn = conn
        self._on_notify = on_notify
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.closed = asyncio.Event()

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout_s: float = 10.0
    ) -> Any:
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        try:
            await self._conn.send(msgspec.json.encode(message).decode())
            async with asyncio.timeout(timeout_s):
                return await future
        except WebSocketException as exc:
            raise SocketUnavailable(f"websocket broke: {exc}") from exc
        except TimeoutError:
            raise SocketUnavailable(f"no answer to {method} within {timeout_s:.0f} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def read(self) -> None:
        """Dispatch messages until the connection closes; then fail what is pending."""
        try:
            async for raw in self._conn:
                self._dispatch(raw)
        except WebSocketException as exc:
            logger.debug("Moonraker websocket closed: %s", exc)
        finally:
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(SocketUnavailable("the websocket closed"))

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            logger.warning("ignoring an unreadable Moonraker websocket message")
            return
        if not isinstance(message, dict):
            return
        request_id = message.get("id")
        if isinstance(request_id, int) and request_id in self._pending:
            future = self._pending[request_id]
            if future.done():
                return
            error = message.get("error")
            if isinstance(error, dict):
                future.set_exception(RpcError(str(error.get("message", error))))
            else:
                future.set_result(message.get("result"))
            return
        method = message.get("method")
        if isinstance(method, str):
            params = message.get("params")
            try:
                self._on_notify(method, params if isinstance(params, list) else [])
            except Exception:
                # A handler bug must not close the socket (and every update after it).
                logger.exception("Moonraker notification %s failed", method)


@contextlib.asynccontextmanager
async def open_socket(
    url: str, api_key: str | None, on_notify: Notify, *, open_timeout_s: float = 10.0
) -> AsyncIterator[MoonrakerSocket]:
    """Connect, start the reader, and close both on exit."""
    headers = {"X-Api-Key": api_key} if api_key else None
    try:
        conn = await connect(
            url,
            additional_headers=headers,
            open_timeout=open_timeout_s,
            max_size=MAX_MESSAGE_BYTES,
            # Moonraker is on the LAN; no proxy from the environment.
            proxy=None,
        )
    except InvalidStatus as exc:
        if exc.response.status_code == 401:
            raise SocketAuthError("Moonraker refused the websocket's API key") from exc
        raise SocketUnavailable(f"websocket refused: HTTP {exc.response.status_code}") from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise SocketUnavailable(f"cannot open the websocket: {exc!r}") from exc
    socket = MoonrakerSocket(conn, on_notify)
    reader = asyncio.create_task(socket.read(), name="moonraker-ws-reader")
    try:
        yield socket
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        with contextlib.suppress(Exception):
            await conn.close()
