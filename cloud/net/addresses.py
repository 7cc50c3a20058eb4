"""Which IP addresses a user-supplied URL may reach: a pure table, no sockets.

The blocked ranges come from the IANA special-purpose address registries
(https://www.iana.org/assignments/iana-ipv4-special-registry and
…/iana-ipv6-special-registry) plus multicast, as the OWASP SSRF Prevention Cheat Sheet and
field-notes §4.4 recommend: loopback, RFC 1918, link-local (with the cloud metadata service at
169.254.169.254), CGNAT 100.64/10, unspecified, multicast, reserved, IPv6 ULA and link-local.

We keep our own table rather than trusting `ipaddress.is_global`: that property changed
between CPython patch releases (3.11.10 and 3.12.4 reworked the lists), and it calls
multicast 224/4 "global". A table here behaves the same on every interpreter.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata services: they hand out the machine's credentials to whoever asks
# from the machine, so they are refused even where private addresses are allowed (an
# on-premise farm's LAN has no business there). 169.254.169.254 is AWS, GCP, Azure,
# DigitalOcean and others; fd00:ec2::254 is AWS's IPv6 endpoint (AWS EC2 user guide,
# "Instance metadata service"); 169.254.170.2 is AWS ECS task metadata and credentials
# (ECS developer guide); 100.100.100.200 is Alibaba Cloud's metadata service.
METADATA_IPV4: Final = ipaddress.IPv4Address("169.254.169.254")
_METADATA: Final[frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]] = frozenset(
    {
        METADATA_IPV4,
        ipaddress.IPv4Address("169.254.170.2"),
        ipaddress.IPv4Address("100.100.100.200"),
        ipaddress.IPv6Address("fd00:ec2::254"),
    }
)
METADATA_REASON: Final = "the cloud instance-metadata address"

_V4: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = tuple(
    (ipaddress.IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private (RFC 1918) address"),
        ("100.64.0.0/10", "a carrier-grade NAT (RFC 6598) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private (RFC 1918) address"),
        ("192.0.0.0/24", "an IETF protocol-assignment address"),
        ("192.0.2.0/24", "a documentation (TEST-NET-1) address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private (RFC 1918) address"),
        ("198.18.0.0/15", "a benchmarking (RFC 2544) address"),
        ("198.51.100.0/24", "a documentation (TEST-NET-2) address"),
        ("203.0.113.0/24", "a documentation (TEST-NET-3) address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

# Ranges that embed an IPv4 address: judged by the IPv4 address inside, because a packet to
# them ends up at that IPv4 host (directly, or through a NAT64/6to4 gateway).
_V4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_SIX_TO_FOUR: Final = ipaddress.IPv6Network("2002::/16")  # RFC 3056

# IANA's IPv6 address-space registry allocates only 2000::/3 as global unicast; everything
# outside it is special in some way, labelled below where the label helps the user.
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_V6_OUTSIDE: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = tuple(
    (ipaddress.IPv6Network(net), label)
    for net, label in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local (deprecated, private) address"),
        ("ff00::/8", "a multicast address"),
    )
)
_V6_INSIDE: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = tuple(
    (ipaddress.IPv6Network(net), label)
    for net, label in (
        ("2001::/23", "an IETF protocol-assignment address (Teredo, ORCHID, …)"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
    )
)


def parse_ip(text: str) -> IPAddress | None:
    """`text` as an IP address, or None when it is a host name. Drops an IPv6 zone (`%eth0`)."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def is_metadata_address(address: IPAddress) -> bool:
    """A cloud metadata service, directly or embedded in an IPv6 address (refused always)."""
    if address in _METADATA:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        for embedding in (_V4_MAPPED, _NAT64):
            if address in embedding:
                return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF) in _METADATA
        if address in _SIX_TO_FOUR and address.sixtofour is not None:
            return address.sixtofour in _METADATA
    return False


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` must not be reached from user-supplied URLs, or None when it is public."""
    if is_metadata_address(address):
        return METADATA_REASON
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_reason(address)
    for embedding in (_V4_MAPPED, _NAT64):
        if address in embedding:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
            return _v4_reason(inner)
    if address in _SIX_TO_FOUR:
        sixtofour = address.sixtofour
        assert sixtofour is not None  # every address in 2002::/16 has one
        return _v4_reason(sixtofour)
    if address not in _GLOBAL_UNICAST:
        for network, label in _V6_OUTSIDE:
            if address in network:
                return label
        return "a reserved address"
    for network, label in _V6_INSIDE:
        if address in network:
            return label
    return None


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    if address in _METADATA:
        return METADATA_REASON
    for network, label in _V4:
        if address in network:
            return label
    return None
