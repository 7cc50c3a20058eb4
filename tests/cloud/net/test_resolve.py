"""URL checks and the one DNS resolution: refused classes need no network at all."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.net import HostResolutionError, UnsafeURLError, resolve_public_url
from cloud.net.resolve import parse_url


class FakeDNS:
    """A resolver seam standing in for DNS answers we cannot make the system give."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.gcode",
        "http://127.1/x.gcode",  # short form, expanded by the resolver
        "http://2130706433/x.gcode",  # 127.0.0.1 as one integer
        "http://0x7f000001/x.gcode",
        "http://10.0.0.5:8080/x.gcode",
        "http://192.168.1.105/x.gcode",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.1.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:a9fe:a9fe]/x",  # mapped 169.254.169.254 in hex
        "https://[fe80::1]/x",
        "https://[fd00::1]/x",
        "http://localhost/x.gcode",
        "http://LocalHost/x.gcode",
    ],
)
async def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        await resolve_public_url(url, allow_private=False)
    assert "URL policy" in info.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://169.254.170.2/v2/credentials/x",
        "http://100.100.100.200/latest/meta-data/",
        "https://[::ffff:a9fe:a9fe]/x",
        "http://[64:ff9b::a9fe:a9fe]/x",
        "http://[2002:a9fe:a9fe::1]/x",
        "http://metadata.example.test/computeMetadata/v1/",
    ],
)
async def test_metadata_services_are_refused_even_where_private_addresses_are_allowed(
    url: str,
) -> None:
    dns = FakeDNS({"metadata.example.test": ["169.254.169.254"]})
    with pytest.raises(UnsafeURLError) as info:
        await resolve_public_url(url, allow_private=True, resolver=dns)
    assert "metadata" in info.value.reason


async def test_private_addresses_next_to_metadata_ones_pass_where_allowed() -> None:
    dns = FakeDNS({"nas.example.test": ["192.168.1.20"]})
    for url in ("http://169.254.169.1/", "http://[fd00:ec2::253]/", "http://nas.example.test/"):
        resolved = await resolve_public_url(url, allow_private=True, resolver=dns)
        assert resolved.addresses


async def test_a_dns_name_resolving_to_loopback_is_refused_without_revealing_the_address() -> None:
    dns = FakeDNS({"rebind.example.test": ["127.0.0.1"]})
    with pytest.raises(UnsafeURLError) as info:
        await resolve_public_url(
            "https://rebind.example.test/a.gcode", allow_private=False, resolver=dns
        )
    assert "loopback" in info.value.reason
    assert "127.0.0.1" not in info.value.reason
    assert dns.calls == [("rebind.example.test", 443)]


async def test_one_private_record_among_public_ones_refuses_the_name() -> None:
    dns = FakeDNS({"mixed.example.test": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UnsafeURLError, match="private"):
        await resolve_public_url("http://mixed.example.test/", allow_private=False, resolver=dns)


async def test_public_name_resolves_once_to_deduplicated_addresses() -> None:
    dns = FakeDNS({"cdn.example.test": ["93.184.215.14", "2606:2800:21f:cb07::1", "93.184.215.14"]})
    resolved = await resolve_public_url(
        "https://CDN.example.test:8443/files/a.gcode?sig=1", allow_private=False, resolver=dns
    )
    assert resolved.host == "cdn.example.test"
    assert resolved.port == 8443
    assert resolved.scheme == "https"
    assert resolved.addresses == (
        ipaddress.ip_address("93.184.215.14"),
        ipaddress.ip_address("2606:2800:21f:cb07::1"),
    )
    assert not resolved.host_is_literal
    assert dns.calls == [("cdn.example.test", 8443)]


async def test_public_literal_needs_no_dns() -> None:
    dns = FakeDNS({})
    resolved = await resolve_public_url("http://8.8.8.8/a", allow_private=False, resolver=dns)
    assert resolved.addresses == (ipaddress.ip_address("8.8.8.8"),)
    assert resolved.port == 80
    assert resolved.host_is_literal
    assert dns.calls == []


async def test_allow_private_lets_internal_addresses_through() -> None:
    resolved = await resolve_public_url("http://localhost:8080/a", allow_private=True)
    assert resolved.addresses
    assert all(address.is_loopback for address in resolved.addresses)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://files.example.test/a.gcode", "only http"),
        ("file:///etc/passwd", "only http"),
        ("gopher://127.0.0.1:70/", "only http"),
        ("http:///a.gcode", "no host"),
        ("http://files.example.test:0/", "out of range"),
        ("http://files.example.test:99999/", "out of range"),
        ("http://files.example.test:25/", "port 25"),
        ("http://files.example.test:6667/", "port 6667"),
        ("http://files.example.test/" + "a" * 5000, "longer than"),
        ("http://[::1/", "not valid"),
    ],
)
async def test_malformed_or_forbidden_urls_are_refused_even_when_private_is_allowed(
    url: str, fragment: str
) -> None:
    with pytest.raises(UnsafeURLError, match=fragment):
        await resolve_public_url(url, allow_private=True, resolver=FakeDNS({}))


async def test_unknown_host_is_a_resolution_error() -> None:
    with pytest.raises(HostResolutionError, match="could not be resolved"):
        await resolve_public_url("http://nowhere.example.test/", allow_private=False,
                                 resolver=FakeDNS({}))  # fmt: skip


async def test_a_hanging_resolver_times_out() -> None:
    never = asyncio.Event()

    async def stuck(host: str, port: int) -> Sequence[str]:
        await never.wait()
        return []

    with pytest.raises(HostResolutionError, match="timed out"):
        await resolve_public_url(
            "http://slow.example.test/", allow_private=False, timeout_s=0.05, resolver=stuck
        )


_PORTS = st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=6))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
            st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
            st.text(max_size=30),
            _PORTS,
            st.text(max_size=20),
        ),
    )
)
def test_any_text_parses_or_gives_a_url_error_never_a_crash(url: str) -> None:
    # Whatever a user types, the answer is a parsed URL or an UnsafeURLError with a reason:
    # never another exception (which the API would turn into a 500).
    try:
        parsed, scheme, host, port = parse_url(url)
    except UnsafeURLError as exc:
        assert exc.reason
        return
    assert scheme in ("http", "https") and host and 1 <= port <= 65535
    assert str(parsed)
