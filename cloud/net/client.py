"""An httpx client that can only reach one checked host, at the addresses checked for it.

The transport rewrites each request's URL to the pinned IP address and keeps
- the `Host` header of the original name (httpx set it when the request was built), and
- TLS SNI plus certificate verification for the original name, through httpcore's documented
  `sni_hostname` request extension (httpcore passes it as `server_hostname` to the SSL
  context, which then checks the certificate against it).
So no second DNS lookup happens between the check and the connection.

The client follows no redirects and ignores proxy environment variables (`trust_env=False`):
an `HTTP_PROXY` would otherwise carry the request somewhere unchecked. Callers that want
redirects re-check each hop themselves (see `cloud.net.fetch`).
"""

from __future__ import annotations

import logging
import ssl

import httpx

from cloud.net.errors import UnsafeURLError
from cloud.net.resolve import ResolvedURL

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends every request to `target`'s checked addresses, trying them in order.

    A request for any other scheme, host or port is refused with UnsafeURLError, so a
    client built on this transport cannot be talked into reaching an unchecked host.
    """

    def __init__(self, target: ResolvedURL, *, verify: ssl.SSLContext | bool = True) -> None:
        self._target = target
        # retries=0: a retry belongs to the caller (webhook backoff), not to the transport.
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._require_checked_origin(request.url)
        last_error: httpx.ConnectError | None = None
        for address in self._target.addresses:
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=str(address)),
                headers=request.headers,  # carries Host: <original name>
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": self._target.host},
            )
            try:
                return await self._inner.handle_async_request(pinned)
            except httpx.ConnectError as exc:
                # Nothing was sent yet, so the next checked address may be tried (as a
                # browser does when one of several A/AAAA records is unreachable).
                logger.debug("connect to %s (%s) failed: %s", self._target.host, address, exc)
                last_error = exc
        assert last_error is not None  # ResolvedURL always holds at least one address
        raise last_error

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _require_checked_origin(self, url: httpx.URL) -> None:
        port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)
        origin = (url.scheme, url.raw_host.decode("ascii", "replace").lower(), port)
        checked = (self._target.scheme, self._target.host, self._target.port)
        if origin != checked:
            raise UnsafeURLError(
                f"this client may only reach {self._target.host}:{self._target.port}"
                f" over {self._target.scheme}"
            )


def guarded_client(
    target: ResolvedURL,
    *,
    timeout_s: float,
    verify: ssl.SSLContext | bool = True,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient pinned to `target`; use it as `async with guarded_client(...) as c`.

    `timeout_s` applies to each of connect, read, write and pool acquisition; callers that
    need a bound on the whole exchange (a slow-drip server) wrap it in `asyncio.timeout`.
    """
    return httpx.AsyncClient(
        transport=PinnedTransport(target, verify=verify),
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )
