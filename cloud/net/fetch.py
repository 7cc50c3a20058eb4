"""Download a user-supplied URL to a file, through the SSRF guard.

Redirects: followed up to `max_redirects` (5 by default), and every hop is a new URL that is
checked and resolved again and dialled through a new pinned client, exactly as the first one
(field-notes §4.4: "re-validate on every redirect, or refuse redirects"). File hosts commonly
redirect (release downloads to object storage), so refusing would surprise users.
`max_redirects=0` refuses them.

`timeout_s` bounds the whole fetch (DNS, every hop, the body): a server that drips one byte a
second never gets to hold a worker longer than that.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from cloud.net.client import guarded_client
from cloud.net.errors import (
    FetchConnectionError,
    FetchStatusError,
    FetchTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsupportedEncodingError,
)
from cloud.net.resolve import ResolvedURL, Resolver, resolve_public_url
from cloud.net.sink import BlockObserver, HashingFileSink, SizeLimitExceededError
from shared.version import __version__

logger = logging.getLogger(__name__)

DEFAULT_MAX_REDIRECTS: Final = 5
_USER_AGENT: Final = f"AutoPrintFarm/{__version__}"


@dataclass(frozen=True, slots=True)
class FetchResult:
    size_bytes: int
    sha256: str
    content_type: str | None
    #: The URL the body came from, after redirects.
    final_url: str


async def fetch_to_file(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    allow_private: bool,
    timeout_s: float,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    verify: ssl.SSLContext | bool = True,
    resolver: Resolver | None = None,
    observer: BlockObserver | None = None,
) -> FetchResult:
    """GET `url` into `dest` (created or truncated). On any failure `dest` is removed.

    Raises UnsafeURLError (policy) or a FetchError subclass, each with a user-facing `reason`.
    `observer` sees the body block by block in a worker thread (see HashingFileSink); what
    it raises ends the download and comes out of this call unchanged.
    """
    try:
        async with asyncio.timeout(timeout_s):
            return await _follow(
                url,
                dest,
                max_bytes=max_bytes,
                allow_private=allow_private,
                timeout_s=timeout_s,
                max_redirects=max_redirects,
                verify=verify,
                resolver=resolver,
                observer=observer,
            )
    except BaseException as exc:
        await asyncio.to_thread(dest.unlink, missing_ok=True)
        if isinstance(exc, TimeoutError | httpx.TimeoutException):
            raise FetchTimeoutError(f"the download took longer than {timeout_s:g} s") from exc
        if isinstance(exc, httpx.HTTPError):
            raise _connection_error(exc) from exc
        raise


async def _follow(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    allow_private: bool,
    timeout_s: float,
    max_redirects: int,
    verify: ssl.SSLContext | bool,
    resolver: Resolver | None,
    observer: BlockObserver | None,
) -> FetchResult:
    current = url
    for _hop in range(max_redirects + 1):
        target = await resolve_public_url(
            current, allow_private=allow_private, timeout_s=timeout_s, resolver=resolver
        )
        headers = {"Accept-Encoding": "identity", "User-Agent": _USER_AGENT}
        async with (
            guarded_client(target, timeout_s=timeout_s, verify=verify, headers=headers) as client,
            client.stream("GET", target.url) as response,
        ):
            if response.is_redirect:
                current = _next_hop(target, response)
                logger.info("following redirect %s -> %s", target.url, current)
                continue
            return await _save_body(response, dest, max_bytes, observer)
    raise TooManyRedirectsError(f"the URL redirected more than {max_redirects} times")


def _next_hop(target: ResolvedURL, response: httpx.Response) -> str:
    location = response.headers.get("Location", "")
    try:
        return str(target.url.join(location))
    except httpx.InvalidURL as exc:
        raise TooManyRedirectsError("the server redirected to an invalid URL") from exc


async def _save_body(
    response: httpx.Response, dest: Path, max_bytes: int, observer: BlockObserver | None
) -> FetchResult:
    if response.status_code != 200:
        raise FetchStatusError(
            f"the server answered HTTP {response.status_code}", status_code=response.status_code
        )
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # We asked for identity; decoding a compressed body would let a small download
        # expand without bound in memory before the size limit could see it.
        raise UnsupportedEncodingError(
            f"the server sent a {encoding}-compressed body although none was accepted"
        )
    too_large = ResponseTooLargeError(
        f"the file is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes
    )
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    async with HashingFileSink(dest, max_bytes=max_bytes, observer=observer) as sink:
        try:
            async for chunk in response.aiter_raw():
                await sink.write(chunk)
        except SizeLimitExceededError as exc:
            raise too_large from exc
        size_bytes, sha256 = await sink.finish()
    return FetchResult(
        size_bytes=size_bytes,
        sha256=sha256,
        content_type=response.headers.get("Content-Type"),
        final_url=str(response.request.url),
    )


def _connection_error(exc: httpx.HTTPError) -> FetchConnectionError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchConnectionError(
                f"the server's TLS certificate could not be verified ({cause.verify_message})"
            )
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return FetchConnectionError("could not connect to the server")
    return FetchConnectionError("the connection to the server failed during the download")
