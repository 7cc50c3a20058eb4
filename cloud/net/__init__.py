"""Outbound HTTP to user-supplied URLs, guarded against SSRF.

`resolve_public_url` checks a URL and resolves its host once; `guarded_client` is an httpx
client that dials only those checked addresses (Host header, TLS SNI and certificate checks
still use the original name); `fetch_to_file` downloads through it with a size limit, a
total time budget and re-checked redirects. The webhook sender applies the same check and
dials the checked addresses with its own h11 client (cloud/webhooks/http.py). The policy is
described in docs/security.md.
"""

from __future__ import annotations

from cloud.net.addresses import refusal_reason
from cloud.net.client import PinnedTransport, guarded_client
from cloud.net.errors import (
    FetchConnectionError,
    FetchError,
    FetchStatusError,
    FetchTimeoutError,
    HostResolutionError,
    OutboundURLError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
    UnsupportedEncodingError,
)
from cloud.net.fetch import FetchResult, fetch_to_file
from cloud.net.resolve import ResolvedURL, Resolver, resolve_public_url, system_resolver
from cloud.net.sink import BlockObserver, HashingFileSink, SizeLimitExceededError

__all__ = [
    "BlockObserver",
    "FetchConnectionError",
    "FetchError",
    "FetchResult",
    "FetchStatusError",
    "FetchTimeoutError",
    "HashingFileSink",
    "HostResolutionError",
    "OutboundURLError",
    "PinnedTransport",
    "ResolvedURL",
    "Resolver",
    "ResponseTooLargeError",
    "SizeLimitExceededError",
    "TooManyRedirectsError",
    "UnsafeURLError",
    "UnsupportedEncodingError",
    "fetch_to_file",
    "guarded_client",
    "refusal_reason",
    "resolve_public_url",
    "system_resolver",
]
