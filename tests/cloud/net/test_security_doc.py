"""docs/security.md states the URL policy and the headers; these tests hold it to the code."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from cloud.net.addresses import refusal_reason
from cloud.net.resolve import BAD_PORTS
from cloud.ratelimit import RateDecision, rate_limit_headers

_EMBEDDING = {"::ffff:0:0/96", "64:ff9b::/96", "2002::/16"}


def section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n#", start + len(heading))
    return doc[start : end if end != -1 else len(doc)]


def test_every_range_in_the_refusal_table_is_refused(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "security.md").read_text()
    table = [line for line in section(doc, "### What is refused").splitlines() if line[:3] == "| `"]
    networks = []
    for line in table:
        for token in re.findall(r"`([^`]+)`", line.split(" | ")[0]):
            if "/" in token:
                networks.append(token)
    assert len(networks) >= 25
    for text in networks:
        network = ipaddress.ip_network(text)
        if text in _EMBEDDING:
            continue  # judged by the embedded IPv4 address, checked in test_addresses.py
        for address in (network[0], network[-1]):
            assert refusal_reason(address) is not None, f"{address} of {text} is not refused"


def test_the_named_ports_are_bad_ports(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "security.md").read_text()
    ports = [int(p) for p in re.findall(r"\b(\d+) (?:SMTP|SSH|IRC)\b", doc)]
    assert ports
    assert set(ports) <= BAD_PORTS


def test_the_header_table_names_what_rate_limit_headers_sends(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "security.md").read_text()
    rows = [line for line in section(doc, "## Rate limiting").splitlines() if line[:3] == "| `"]
    documented = {
        name for row in rows for name in re.findall(r"`([A-Za-z-]+)`", row.split(" | ")[0])
    }
    refused = RateDecision(
        allowed=False, limit=600, remaining=0, reset_s=42, retry_after_s=42, window_s=60
    )
    assert documented == set(rate_limit_headers(refused))
