"""OctoPrint's push socket over SockJS's `xhr_streaming` transport, on plain httpx.

OctoPrint serves its push API through SockJS at `/sockjs` (server/__init__.py, vendored
sockjs-tornado). Besides WebSocket, SockJS offers `xhr_streaming`: one long POST to
`/sockjs/<server>/<session>/xhr_streaming` whose body is a stream of newline-terminated
frames, and `POST …/xhr_send` to talk back. That keeps the driver on httpx alone.

Frames (SockJS protocol, vendor/sockjs/tornado/proto.py and transports/xhrstreaming.py):
- a 2048-byte `hhhh…` prelude line, then `o` (open), `h` (heartbeat, every 25 s),
  `a[…]` (a JSON array of messages), `c[code,"reason"]` (closed).
- The server ends one streaming response after ~128 KiB (`response_limit`); the client
  re-opens the same session URL and the session goes on. A second concurrent request on a
  session is refused with `c[2010,…]`/`c[1002,…]`, so every session id is fresh.
OctoPrint wraps each message as a JSON object ({"current": {…}}, {"event": {…}}, …), and
sends nothing but `connected` until the client authenticates with
{"auth": "<user>:<session>"} from a passive `POST /api/login` (server/util/sockjs.py).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)

# SockJS heartbeats every 25 s (router.py DEFAULT_SETTINGS["heartbeat_delay"]); a stream
# silent for longer than this is dead.
HEARTBEAT_TIMEOUT_S = 35.0
# A streaming response is re-opened after the server's response_limit; bound how often.
MAX_REOPENS = 10_000


class PushUnavailable(Exception):
    """The push socket could not be opened or broke; the driver falls back to polling."""


@dataclass(frozen=True, slots=True)
class Opened:
    pass


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class Messages:
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Closed:
    code: int
    reason: str


Frame = Opened | Heartbeat | Messages | Closed


def parse_frame(line: str) -> Frame | None:
    """One SockJS frame from one line of the stream; None for the prelude or blank lines."""
    if not line or line.startswith("hh"):
        return None
    kind, body = line[0], line[1:]
    if kind == "o":
        return Opened()
    if kind == "h":
        return Heartbeat()
    if kind == "c":
        try:
            code, reason = json.loads(body)
            return Closed(int(code), str(reason))
        except (ValueError, TypeError):
            return Closed(0, body)
    if kind == "a":
        try:
            raw = json.loads(body)
        except ValueError as exc:
            raise PushUnavailable(f"undecodable SockJS frame: {body[:80]!r}") from exc
        items: list[dict[str, Any]] = []
        for item in raw if isinstance(raw, list) else []:
            # Standard SockJS carries strings; OctoPrint's JsonEncodingSessionWrapper
            # sends objects. Accept both.
            decoded = json.loads(item) if isinstance(item, str) else item
            if isinstance(decoded, dict):
                items.append(decoded)
        return Messages(items)
    logger.debug("ignoring unknown SockJS frame %r", line[:40])
    return None


async def messages(
    http: httpx.AsyncClient, auth: str, subscribe: dict[str, Any] | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield OctoPrint push messages ({"current": …}, {"event": …}, …) until the socket fails.

    Raises `PushUnavailable` when the session cannot be opened, is closed by the server, or
    goes silent past the heartbeat timeout. Transport errors from httpx propagate as
    `PushUnavailable` too; cancellation closes the stream.
    """
    session = f"/sockjs/{secrets.randbelow(1000):03d}/{secrets.token_hex(8)}"
    timeout = httpx.Timeout(10.0, read=HEARTBEAT_TIMEOUT_S)
    opened = False
    try:
        for _ in range(MAX_REOPENS):
            async with http.stream("POST", f"{session}/xhr_streaming", timeout=timeout) as resp:
                if resp.status_code != 200:
                    raise PushUnavailable(f"SockJS answered HTTP {resp.status_code}")
                async for line in resp.aiter_lines():
                    frame = parse_frame(line)
                    if isinstance(frame, Opened) and not opened:
                        opened = True
                        await _send(http, session, {"auth": auth})
                        if subscribe is not None:
                            await _send(http, session, {"subscribe": subscribe})
                    elif isinstance(frame, Closed):
                        raise PushUnavailable(f"SockJS closed: {frame.code} {frame.reason}")
                    elif isinstance(frame, Messages):
                        for item in frame.items:
                            yield item
            # The response ended without a close frame: the server hit response_limit.
            # Re-open the same session to go on receiving.
        raise PushUnavailable("SockJS session re-opened too often")
    except httpx.HTTPError as exc:
        raise PushUnavailable(f"push socket failed: {exc!r}") from exc


async def _send(http: httpx.AsyncClient, session: str, message: dict[str, Any]) -> None:
    # xhr_send takes a JSON array of strings (transports/xhr.py XhrSendHandler).
    body = json.dumps([json.dumps(message)])
    resp = await http.post(
        f"{session}/xhr_send",
        content=body,
        headers={"Content-Type": "text/plain;charset=UTF-8"},
        timeout=10.0,
    )
    if resp.status_code not in (200, 204):
        raise PushUnavailable(f"SockJS xhr_send answered HTTP {resp.status_code}")
