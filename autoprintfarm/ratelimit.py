"""The API's rate-limit headers, read into one value.

The cloud sends draft-ietf-httpapi-ratelimit-headers-11 fields, ``RateLimit-Policy:
"default";q=600;w=60`` (quota, window) and ``RateLimit: "default";r=599;t=42`` (remaining,
seconds to reset), plus ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``,
the names of the draft's -05/-06 versions (field-notes §5.3; `cloud.ratelimit.base`). Either
form is read; draft-11's wins where both are present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests allowed per window, how many are left, and when the window resets."""

    limit: int | None
    remaining: int | None
    reset_s: float | None
    window_s: float | None = None


def _params(value: str) -> dict[str, str]:
    # A structured-field item: `"name";k=v;k=v` (RFC 9651); only the parameters matter here.
    out: dict[str, str] = {}
    for part in value.split(";")[1:]:
        key, _, raw = part.strip().partition("=")
        out[key] = raw
    return out


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _int(raw: str | None) -> int | None:
    number = _number(raw)
    return None if number is None else int(number)


def rate_limit_from(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate limit an answer reports, or None when it carries no such header."""
    policy = _params(headers.get("ratelimit-policy", ""))
    state = _params(headers.get("ratelimit", ""))
    limit = _int(policy.get("q")) if "q" in policy else _int(headers.get("ratelimit-limit"))
    remaining = _int(state.get("r")) if "r" in state else _int(headers.get("ratelimit-remaining"))
    reset_s = _number(state.get("t")) if "t" in state else _number(headers.get("ratelimit-reset"))
    if limit is None and remaining is None and reset_s is None:
        return None
    return RateLimit(
        limit=limit, remaining=remaining, reset_s=reset_s, window_s=_number(policy.get("w"))
    )
