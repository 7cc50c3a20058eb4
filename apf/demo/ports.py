"""The demo API's port: 8000 unless taken, or exactly the one the user asked for."""

from __future__ import annotations

import errno
import os
import socket

# The API's port when the user names none (`apf demo` without --port).
DEFAULT_API_PORT = 8000


class ApiPortError(Exception):
    """The API port the user asked for cannot be listened on; the message names it and
    says how to choose another."""


def api_listener(
    port: int | None, *, default_port: int = DEFAULT_API_PORT
) -> tuple[socket.socket, str]:
    """A socket bound to the API's port on 127.0.0.1, and a note for the user ("" if none).

    Bound here, before anything starts, and handed to uvicorn: the port chosen is the one
    served (no window for another process to take it), and a port the user asked for that
    is taken ends the demo with a plain message (ApiPortError) instead of uvicorn's exit.
    `port`: None for `default_port`, or a free port when that one is taken; 0 for any free
    port; otherwise exactly `port`, or ApiPortError.
    """
    if port is not None:
        try:
            return _bound(port), ""
        except OSError as exc:
            raise ApiPortError(
                f"port {port} {_unusable(exc)}; choose another with --port N "
                "(--port 0: any free port)"
            ) from exc
    try:
        return _bound(default_port), ""
    except OSError as exc:
        sock = _bound(0)
        used = sock.getsockname()[1]
        return sock, f"Port {default_port} {_unusable(exc)}; the API uses port {used} instead."


def _bound(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":
            # As asyncio's create_server does: a port the last run left in TIME_WAIT can be
            # bound again at once, while one another socket listens on stays refused.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _unusable(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "is already in use"
    return f"cannot be used ({exc.strerror or exc})"
