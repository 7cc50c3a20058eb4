"""Counting every HTTP request by method, route template and status, and timing it.

The route label is the matched route's template (`/v1/printers/{printer_id}`), never the
path: ids in labels would make a new series per printer, job and file. A request no route
matches (404, or 405 on a known path) is `route="unmatched"`.

Why an ASGI wrapper around the app's handler and not a Litestar middleware: Litestar 2
builds middleware around each route handler, so a request that matches no route never
passes one, and its 404 would go uncounted. The wrapper sits where Litestar's own
OpenTelemetry plugin wraps (`Litestar.asgi_handler`): after the app has put itself in the
scope, around routing and the exception handlers, so it sees the status the client gets.
Routing writes the template into the scope (`scope["path_template"]`) on the way in.
"""

from __future__ import annotations

import time
from typing import Final

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cloud.metrics.series import (
    HTTP_METHODS,
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    OTHER_METHOD,
    UNMATCHED_ROUTE,
)

# What a request that ended without starting a response (an error past the exception
# handlers) is counted as.
_NO_RESPONSE_STATUS: Final = 500


class HttpMetrics:
    """ASGI app: counts and times each HTTP request to `app`, except those to `skip_route`
    (the metrics endpoint: scrapes would otherwise count themselves)."""

    def __init__(self, app: ASGIApp, *, skip_route: str) -> None:
        self._app = app
        self._skip_route = skip_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = _NO_RESPONSE_STATUS

        async def send_seeing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_seeing_status)
        finally:
            route = scope.get("path_template") or UNMATCHED_ROUTE
            if route != self._skip_route:
                sent: str = scope.get("method", "")
                method = sent if sent in HTTP_METHODS else OTHER_METHOD
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_REQUEST_DURATION.labels(method, route).observe(time.perf_counter() - started)


def count_requests(app: Litestar, *, skip_route: str) -> None:
    """Wrap `app`'s request handling in `HttpMetrics` (see the module's docstring for why
    there)."""
    app.asgi_handler = HttpMetrics(app.asgi_handler, skip_route=skip_route)
