"""The rate-limit headers the SDK docs name are the ones the cloud sends, and the SDK reads
each of them."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from autoprintfarm._retry import retry_after_from
from autoprintfarm.ratelimit import RateLimit, rate_limit_from
from cloud.ratelimit import RateDecision, rate_limit_headers

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "docs" / "sdk-python.md", REPO / "sdk" / "js" / "README.md"]
# A code span that is a header name, alone or starting a `Name: value` example.
HEADER_NAME = re.compile(r"`((?:X-)?RateLimit(?:-[A-Za-z*]+)?|Retry-After)[`:]")
# A refused hit: the one answer that carries every rate-limit header, Retry-After included.
REFUSED = RateDecision(
    allowed=False, limit=600, remaining=0, reset_s=41.2, retry_after_s=41.2, window_s=60.0
)


def _rate_limit_section(doc: Path) -> str:
    text = doc.read_text()
    start = text.index("## Rate limits")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_the_docs_name_exactly_the_headers_the_cloud_sends(doc: Path) -> None:
    named = set(HEADER_NAME.findall(_rate_limit_section(doc)))
    assert named == set(rate_limit_headers(REFUSED))


def test_the_sdk_reads_each_header_the_cloud_sends_on_its_own() -> None:
    sent = rate_limit_headers(REFUSED)
    alone = {name: httpx.Headers({name: value}) for name, value in sent.items()}
    assert rate_limit_from(alone["RateLimit-Policy"]) == RateLimit(600, None, None, 60.0)
    assert rate_limit_from(alone["RateLimit"]) == RateLimit(None, 0, 42.0)
    assert rate_limit_from(alone["RateLimit-Limit"]) == RateLimit(600, None, None)
    assert rate_limit_from(alone["RateLimit-Remaining"]) == RateLimit(None, 0, None)
    assert rate_limit_from(alone["RateLimit-Reset"]) == RateLimit(None, None, 42.0)
    assert retry_after_from(alone["Retry-After"]) == 42.0
    assert rate_limit_from(httpx.Headers(sent)) == RateLimit(600, 0, 42.0, 60.0)
