"""`GET /dashboard/api/live`: the organization's live items as Server-Sent Events.

    event: hello   data: {"kind": "hello", "org_id": …, "live": true}   retry: 3000
    id: 17   event: state|telemetry|event|agent|resync   data: {…}   (cloud/live/items.py)
    : keepalive                         (after 15 s without anything else)

(one field a line, each event ended by a blank line; `retry` has the browser reconnect 3 s
after the stream breaks.)

`hello` is sent on every (re)connection: the browser loads what it shows then, and again on
`resync`; the stream carries only what changes after. A reconnecting browser's
`Last-Event-ID` is not used: this process keeps no history to replay, and the `id` of one
process means nothing to another replica. `live` is false where no broker is configured:
the stream then carries nothing but keepalives.

The caller is resolved like any /v1 caller (cloud/api/middleware.py), with the
`printers:read` scope, but the stream spends none of the API rate limit: it is one request
however long it stays open. What bounds it is `STREAMS_PER_ORG` (cloud/live/hub.py). The
caller is checked when the stream opens, so a stream ends after `LIFETIME_S` (less a random
fifth, so that browsers that connected together do not all come back together): the browser
reconnects and is checked again, and a revoked key or an ended session loses its stream.

When the browser goes, Litestar cancels the stream's task (`Stream` listens for
`http.disconnect`); the subscription is closed in the generator's `finally` when that cancel
lands in it, and by the response's background task in any case, since a generator left
suspended at a `yield` is closed only when it is garbage-collected.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator
from typing import Any, Final

from litestar import Request, get
from litestar.background_tasks import BackgroundTask
from litestar.response import ServerSentEvent, ServerSentEventMessage

from cloud.api.state import AppContext
from cloud.auth.keys import Principal
from cloud.errors import ApiError
from cloud.live.hub import LiveHub, Subscription, TooManyStreamsError
from shared.enums import ErrorCode

LIVE_PATH: Final = "/dashboard/api/live"
# Where create_app keeps the hub (app.state).
HUB_STATE_KEY: Final = "live"
RETRY_MS = 3000
KEEPALIVE_S = 15.0
# How long one stream lasts before the browser must reconnect (and be checked again).
LIFETIME_S = 300.0
# A browser refused for too many streams may try again after this long.
_TOO_MANY_RETRY_S = 30


async def sse_messages(
    subscription: Subscription,
    hello: dict[str, Any],
    *,
    keepalive_s: float = KEEPALIVE_S,
    lifetime_s: float = LIFETIME_S,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The stream's events, for `lifetime_s`; closes `subscription` when it ends (or is
    cancelled)."""
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + lifetime_s
    try:
        yield ServerSentEventMessage(event="hello", data=json.dumps(hello), retry=RETRY_MS)
        while (left_s := ends_at - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(keepalive_s, left_s)):
                    delivery = await subscription.get()
            except TimeoutError:
                if loop.time() < ends_at:
                    # A comment alone (a `data:` line would dispatch an empty message):
                    # keeps proxies from timing the connection out.
                    yield ServerSentEventMessage(data=None, comment="keepalive")
                continue
            item = delivery.item
            yield ServerSentEventMessage(id=delivery.seq, event=item.kind.value, data=item.json)
    finally:
        subscription.close()


@get(
    LIVE_PATH,
    opt={"scope": "printers:read", "rate_limited": False},
    include_in_schema=False,
    name="live-updates",
)
async def live_updates(request: Request[Any, Any, Any]) -> ServerSentEvent:
    principal: Principal = request.scope["state"]["principal"]
    ctx: AppContext = request.app.state["ctx"]
    hub: LiveHub = request.app.state[HUB_STATE_KEY]
    try:
        # Subscribed before `hello` is sent: nothing published after the browser's reload
        # is missed.
        subscription = hub.subscribe(principal.org_id)
    except TooManyStreamsError as exc:
        raise ApiError(
            ErrorCode.RATE_LIMIT_EXCEEDED,
            f"{exc}; close one and retry.",
            headers={"Retry-After": str(_TOO_MANY_RETRY_S)},
        ) from None
    hello = {"kind": "hello", "org_id": principal.org_id, "live": bool(ctx.settings.mqtt_url)}

    async def close() -> None:  # async: Litestar runs a sync background task in a thread
        subscription.close()

    return ServerSentEvent(
        sse_messages(subscription, hello, lifetime_s=LIFETIME_S * random.uniform(0.8, 1.0)),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        background=BackgroundTask(close),
    )
