"""Check a user-supplied URL and resolve its host once, to addresses the policy allows.

The result, `ResolvedURL`, is what the pinned client dials: the connection goes to these
addresses and never through a second DNS lookup, which is what defeats DNS rebinding
(field-notes §4.4: "resolve DNS and validate every resolved address, then pin the connection
to that address"; a string check on the host name alone is bypassed by `*.nip.io`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from cloud.net.addresses import (
    METADATA_REASON,
    IPAddress,
    is_metadata_address,
    parse_ip,
    refusal_reason,
)
from cloud.net.errors import HostResolutionError, UnsafeURLError

logger = logging.getLogger(__name__)

#: A resolver takes (host, port) and returns IP address strings. The default asks the system
#: (getaddrinfo in the loop's executor); tests and special deployments may pass their own.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

MAX_URL_CHARS: Final = 4096
DEFAULT_RESOLVE_TIMEOUT_S: Final = 5.0
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

# The WHATWG Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking):
# ports of text protocols that an HTTP request can be smuggled into (SMTP, IRC, …). Browsers
# refuse them for every origin; so do we, whatever `allow_private` says.
BAD_PORTS: Final = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
     101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161,
     179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563,
     587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
     5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)  # fmt: skip

_POLICY_HINT: Final = "the server's URL policy refuses internal addresses"
_METADATA_HINT: Final = "the server's URL policy refuses it, private addresses allowed or not"


@dataclass(frozen=True, slots=True)
class ResolvedURL:
    """A URL that passed the policy, with the addresses to dial (in the resolver's order)."""

    url: httpx.URL
    scheme: str
    #: The host as sent on the wire: lower-case, IDNA-encoded, no brackets around IPv6.
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_is_literal(self) -> bool:
        return parse_ip(self.host) is not None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """Addresses for `host` from the operating system's resolver (getaddrinfo, off-loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def parse_url(url: str) -> tuple[httpx.URL, str, str, int]:
    """Syntax checks: (url, scheme, host, port), or UnsafeURLError saying what is wrong."""
    if len(url) > MAX_URL_CHARS:
        raise UnsafeURLError(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURLError(f"the URL is not valid: {exc}") from exc
    scheme = parsed.scheme
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeURLError("only http:// and https:// URLs are accepted")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError as exc:  # httpx IDNA-encodes names; this is a safety net
        raise UnsafeURLError("the URL's host name is not valid") from exc
    if not host:
        raise UnsafeURLError("the URL has no host")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeURLError(f"port {port} is out of range")
    if port in BAD_PORTS:
        raise UnsafeURLError(f"port {port} is reserved for a non-HTTP protocol")
    return parsed, scheme, host, port


async def resolve_public_url(
    url: str,
    *,
    allow_private: bool,
    timeout_s: float = DEFAULT_RESOLVE_TIMEOUT_S,
    resolver: Resolver | None = None,
) -> ResolvedURL:
    """Check `url` and resolve its host once.

    Every resolved address must pass the policy (one bad address refuses the whole name: a
    name with a public and a private record is a rebinding trick, not a mistake) unless
    `allow_private` is set, as on-premise farms need. Raises UnsafeURLError or
    HostResolutionError.
    """
    parsed, scheme, host, port = parse_url(url)
    literal = parse_ip(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        addresses = await _resolve(host, port, timeout_s, resolver or system_resolver)
    for address in addresses:
        # Metadata services are refused whatever the deployment allows; the rest of the
        # table only when private addresses are not allowed.
        reason = (
            refusal_reason(address)
            if not allow_private
            else (METADATA_REASON if is_metadata_address(address) else None)
        )
        if reason is not None:
            logger.info("refused URL host %s: %s is %s", host, address, reason)
            hint = _METADATA_HINT if reason == METADATA_REASON else _POLICY_HINT
            if literal is not None:
                raise UnsafeURLError(f"{host} is {reason}; {hint}")
            # Say what kind of address, not which one: no oracle for internal DNS.
            raise UnsafeURLError(f"{host} resolves to {reason}; {hint}")
    return ResolvedURL(parsed, scheme, host, port, addresses)


async def _resolve(
    host: str, port: int, timeout_s: float, resolver: Resolver
) -> tuple[IPAddress, ...]:
    try:
        async with asyncio.timeout(timeout_s):
            raw = await resolver(host, port)
    except TimeoutError as exc:
        raise HostResolutionError(f"resolving {host} timed out after {timeout_s:g} s") from exc
    except (OSError, ValueError) as exc:  # gaierror is an OSError; bad IDNA a ValueError
        raise HostResolutionError(f"the host {host} could not be resolved") from exc
    addresses: list[IPAddress] = []
    for text in raw:
        address = parse_ip(text)
        if address is None:
            raise HostResolutionError(f"the resolver returned a non-address for {host}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HostResolutionError(f"the host {host} has no addresses")
    return tuple(addresses)
