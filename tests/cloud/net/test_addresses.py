"""The address policy table: which IPs user-supplied URLs may reach."""

from __future__ import annotations

import ipaddress

import pytest

from cloud.net.addresses import parse_ip, refusal_reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.105", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.255", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("2001::1", "IETF"),  # Teredo
        ("100::1", "reserved"),  # discard-only
        ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible
    ],
)
def test_internal_addresses_are_refused_with_their_kind(text: str, fragment: str) -> None:
    address = parse_ip(text)
    assert address is not None
    reason = refusal_reason(address)
    assert reason is not None
    assert fragment in reason


@pytest.mark.parametrize(
    "text",
    ["8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1", "223.255.255.255",
     "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "2002:808:808::1",
     "64:ff9b::808:808"],
)  # fmt: skip
def test_public_addresses_pass(text: str) -> None:
    address = ipaddress.ip_address(text)
    assert refusal_reason(address) is None


def test_parse_ip_tells_names_from_addresses() -> None:
    assert parse_ip("files.example.com") is None
    assert parse_ip("127.1") is None  # not canonical: left to the resolver, then checked
    assert parse_ip("::1") == ipaddress.IPv6Address("::1")
