"""One signed POST to an endpoint, through the SSRF-guarded client, as an `AttemptResult`.

Headers are Standard Webhooks v1 (field-notes §4.1): `webhook-id` (stable across retries),
`webhook-timestamp` (this attempt's Unix seconds) and `webhook-signature` (`v1,<base64
HMAC-SHA256 of "id.timestamp.body">`), signed by `autoprintfarm.signature`. Success is a 2xx
answer only; a 3xx is a failure and is not followed.

The URL is checked and resolved again at every attempt (DNS may have changed since the
endpoint was saved), and the connection goes to the checked address (`cloud.net` checks,
`cloud.webhooks.http` dials). Keep-alive connections are pooled per (origin, checked
address), so they are reused across deliveries while every attempt is still checked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final, Self

from autoprintfarm.signature import sign
from cloud.db.types import utcnow
from cloud.net import OutboundURLError, ResolvedURL, resolve_public_url
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.http import HTTPExchangeError, LeanHTTPClient
from cloud.webhooks.schedule import parse_retry_after
from shared.version import __version__

logger = logging.getLogger(__name__)

USER_AGENT: Final = f"AutoPrintFarm-Webhooks/{__version__}"
#: Read at most this much of an answer (we need only its status); more closes the connection.
MAX_RESPONSE_BYTES: Final = 64 * 1024
_LITERAL_CACHE: Final = 4096


@dataclass(frozen=True, slots=True)
class AttemptResult:
    attempted_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after_s: float | None = None

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        # 410 Gone: "disable the endpoint" (Standard Webhooks, field-notes §4.1).
        return self.status_code == 410


class Sender:
    """Signs and posts; `async with Sender(config)` owns and closes the pooled connections."""

    def __init__(self, config: WebhookConfig) -> None:
        self._config = config
        self._literal: dict[str, ResolvedURL] = {}
        self._http = LeanHTTPClient(
            max_idle_per_origin=config.max_in_flight, ssl_context=config.ssl_context
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def send(self, url: str, secret: str, msg_id: str, body: bytes) -> AttemptResult:
        """One attempt; never raises for anything the receiver or the network does."""
        attempted_at = utcnow()
        started = time.monotonic()

        def result(
            status: int | None, error: str | None, retry_after_s: float | None = None
        ) -> AttemptResult:
            latency_ms = round((time.monotonic() - started) * 1000.0, 3)
            return AttemptResult(attempted_at, status, latency_ms, error, retry_after_s)

        timeout_s = self._config.request_timeout_s
        try:
            target = await self._check(url)
        except OutboundURLError as exc:
            return result(None, f"URL refused: {exc.reason}")
        timestamp_s = int(time.time())
        headers = (
            ("content-type", "application/json"),
            ("user-agent", USER_AGENT),
            ("webhook-id", msg_id),
            ("webhook-timestamp", str(timestamp_s)),
            ("webhook-signature", sign(secret, msg_id, timestamp_s, body)),
        )
        try:
            async with asyncio.timeout(timeout_s):
                answer = await self._http.post(
                    target, headers, body, max_response_bytes=MAX_RESPONSE_BYTES
                )
        except TimeoutError:
            return result(None, f"timed out after {timeout_s:g} s")
        except HTTPExchangeError as exc:
            return result(None, exc.reason)
        status = answer.status
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(answer.headers.get("retry-after"), utcnow())
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return result(status, error, retry_after)

    async def _check(self, url: str) -> ResolvedURL:
        """The URL policy again, at delivery time: DNS may have changed since the save. A URL
        with an IP-literal host resolves to itself, so its (policy-passed) result is kept."""
        cached = self._literal.get(url)
        if cached is not None:
            return cached
        target = await resolve_public_url(
            url,
            allow_private=self._config.allow_private_urls,
            resolver=self._config.resolver,
            timeout_s=self._config.request_timeout_s,
        )
        if target.host_is_literal:
            if len(self._literal) >= _LITERAL_CACHE:
                self._literal.clear()
            self._literal[url] = target
        return target
