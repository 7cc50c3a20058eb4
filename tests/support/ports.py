"""Free loopback ports and waiting for a listener, for tests that start servers."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_listener(host: str, port: int, timeout_s: float, *, alive: object = None) -> None:
    """Block until something accepts TCP connections on host:port, or raise TimeoutError.

    ``alive`` may be a ``subprocess.Popen``: if the process exits first we stop waiting at
    once and say so, instead of running out the clock.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        poll = getattr(alive, "poll", None)
        if poll is not None and poll() is not None:
            raise RuntimeError(f"server process exited with {poll()} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                message = f"nothing listening on {host}:{port} after {timeout_s}s"
                raise TimeoutError(message) from None
            time.sleep(0.02)  # polling a condition with a deadline, not synchronising on time
