"""One signed POST to an endpoint, through the SSRF-guarded client, as an `AttemptResult`.

Headers are Standard Webhooks v1 (field-notes §4.1): `webhook-id` (stable across retries),
`webhook-timestamp` (this attempt's Unix seconds) and `webhook-signature` (`v1,<base64
HMAC-SHA256 of "id.timestamp.body">`), signed by `shared.webhook_signature`. Success is a 2xx
answer only; a 3xx is a failure and is not followed.

The URL is checked and resolved again at every attempt (DNS may have changed since the
endpoint was saved), and the connection goes to the checked address (`cloud.net`). Clients are
pooled per (origin, checked addresses) so keep-alive connections are reused across
deliveries while every attempt is still checked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final, Self

import httpx

from cloud.db.types import utcnow
from cloud.net import OutboundURLError, ResolvedURL, guarded_client, resolve_public_url
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.schedule import parse_retry_after
from shared.version import __version__
from shared.webhook_signature import sign

logger = logging.getLogger(__name__)

USER_AGENT: Final = f"AutoPrintFarm-Webhooks/{__version__}"
#: Read at most this much of an answer (we need only its status); more closes the connection.
MAX_RESPONSE_BYTES: Final = 64 * 1024


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


_ClientKey = tuple[str, str, int, tuple[str, ...]]


class _PooledClient:
    __slots__ = ("client", "in_use")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.in_use = 0


class Sender:
    """Signs and posts; `async with Sender(config)` owns and closes the pooled clients."""

    def __init__(self, config: WebhookConfig) -> None:
        self._config = config
        self._clients: OrderedDict[_ClientKey, _PooledClient] = OrderedDict()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for pooled in clients:
            await pooled.client.aclose()

    async def send(self, url: str, secret: str, msg_id: str, body: bytes) -> AttemptResult:
        """One attempt; never raises for anything the receiver or the network does."""
        attempted_at = utcnow()
        started = time.monotonic()

        def result(
            status: int | None, error: str | None, retry_after_s: float | None = None
        ) -> AttemptResult:
            latency_ms = round((time.monotonic() - started) * 1000.0, 3)
            return AttemptResult(attempted_at, status, latency_ms, error, retry_after_s)

        try:
            target = await resolve_public_url(
                url,
                allow_private=self._config.allow_private_urls,
                resolver=self._config.resolver,
            )
        except OutboundURLError as exc:
            return result(None, f"URL refused: {exc.reason}")
        timestamp_s = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp_s),
            "webhook-signature": sign(secret, msg_id, timestamp_s, body),
        }
        pooled = await self._checkout(target)
        try:
            async with asyncio.timeout(self._config.request_timeout_s):
                status, retry_after = await self._post(pooled.client, target, headers, body)
        except TimeoutError:
            return result(None, f"timed out after {self._config.request_timeout_s:g} s")
        except (httpx.HTTPError, OutboundURLError, OSError) as exc:
            return result(None, _describe(exc))
        finally:
            pooled.in_use -= 1
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return result(status, error, retry_after)

    async def _post(
        self,
        client: httpx.AsyncClient,
        target: ResolvedURL,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, float | None]:
        request = client.build_request("POST", target.url, content=body, headers=headers)
        response = await client.send(request, stream=True)
        try:
            # Drain a small answer so the connection can be reused; stop reading a large one.
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        retry_after = None
        if response.status_code in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
        return response.status_code, retry_after

    async def _checkout(self, target: ResolvedURL) -> _PooledClient:
        key: _ClientKey = (
            target.scheme,
            target.host,
            target.port,
            tuple(str(a) for a in target.addresses),
        )
        pooled = self._clients.get(key)
        if pooled is None:
            client = guarded_client(target, timeout_s=self._config.request_timeout_s)
            pooled = self._clients[key] = _PooledClient(client)
        else:
            self._clients.move_to_end(key)
        pooled.in_use += 1
        await self._evict_idle()
        return pooled

    async def _evict_idle(self) -> None:
        """Close least recently used idle clients beyond the pool size (busy ones stay)."""
        excess = len(self._clients) - self._config.max_clients
        for key in list(self._clients):
            if excess <= 0:
                break
            pooled = self._clients[key]
            if pooled.in_use == 0:
                del self._clients[key]
                excess -= 1
                await pooled.client.aclose()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OutboundURLError):
        return f"URL refused: {exc.reason}"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the receiver broke the HTTP exchange"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}"
