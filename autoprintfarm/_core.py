"""What the sync and async clients share: options, request building, answers to results.

No I/O here; `_sync.py` and `_async.py` send what this builds and hand back what they got.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msgspec

from autoprintfarm._multipart import MultipartBody
from autoprintfarm._retry import RetryPolicy, may_retry_status, retry_after_from
from autoprintfarm._version import __version__
from autoprintfarm.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AutoPrintFarmError,
    RateLimitError,
    error_class,
)
from autoprintfarm.models import Pagination
from autoprintfarm.ratelimit import rate_limit_from

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.autoprintfarm.com"
ENV_API_KEY = "APF_API_KEY"
ENV_BASE_URL = "APF_BASE_URL"
# Every path the SDK calls starts with it (the API's version).
API_PREFIX = "/v1"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
USER_AGENT = f"autoprintfarm-python/{__version__} (Python {platform.python_version()})"

# Called as progress(bytes_sent, total_bytes) while an upload's body is being sent.
ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class Options:
    api_key: str
    base_url: str
    timeout_s: float
    retry: RetryPolicy
    headers: Mapping[str, str] = field(default_factory=dict)


def resolve_options(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout_s: float,
    max_retries: int | None,
    retry: RetryPolicy | None,
    headers: Mapping[str, str] | None,
) -> Options:
    """Arguments first, then ``APF_API_KEY`` / ``APF_BASE_URL``, then the defaults."""
    key = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
    if not key:
        raise AutoPrintFarmError(
            f"No API key: pass Client(api_key=...) or set the {ENV_API_KEY} environment variable."
        )
    url = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise AutoPrintFarmError(f"base_url must start with http:// or https://, got {url!r}")
    policy = retry or RetryPolicy()
    if max_retries is not None:
        policy = RetryPolicy(
            max_retries=max_retries,
            initial_delay_s=policy.initial_delay_s,
            max_delay_s=policy.max_delay_s,
            max_retry_after_s=policy.max_retry_after_s,
        )
    return Options(
        api_key=key,
        base_url=api_root(url),
        timeout_s=timeout_s,
        retry=policy,
        headers=dict(headers or {}),
    )


def api_root(url: str) -> str:
    """The API's root: ``url`` without trailing slashes nor a last ``/v1`` segment.

    Every call's path starts with ``/v1``, and people paste the URL they were shown, which
    often ends in ``/v1`` (the demo prints ``API URL: http://127.0.0.1:8000/v1``); both forms
    name the same API.
    """
    parts = urlsplit(url)
    # Only the path is looked at: a host named `v1` stays a host.
    path = parts.path.rstrip("/").removesuffix(API_PREFIX).rstrip("/")
    return urlunsplit(parts._replace(path=path))


def httpx_timeout(timeout_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s, connect=min(timeout_s, DEFAULT_CONNECT_TIMEOUT_S))


def default_headers(options: Options) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {options.api_key}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        **options.headers,
    }


@dataclass(frozen=True, slots=True)
class Call:
    """One API call, before it is sent (and re-sent on retries)."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = None
    upload: MultipartBody | None = None
    progress: ProgressCallback | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_idempotency_key(self) -> bool:
        return any(k.lower() == "idempotency-key" for k in self.headers)

    def json_body(self) -> bytes | None:
        return None if self.json is None else msgspec.json.encode(self.json)


def path(*segments: str) -> str:
    """``/v1/printers/<id>`` with each id percent-encoded (an id never changes the route)."""
    parts = []
    for segment in segments:
        if not segment:
            raise ValueError("an id must not be empty")
        parts.append(quote(segment, safe=""))
    return "/" + "/".join(parts)


def query(**values: Any) -> dict[str, str]:
    """Query parameters without the ``None`` ones; lists comma-joined, dates ISO 8601."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = _query_value(value)
    return out


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime) and value.tzinfo is None:
        # The API speaks UTC and refuses a timestamp without a zone; a naive datetime is
        # taken as UTC (documented), the same reading the API gives its own timestamps.
        return value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_query_value(v) for v in value)
    return str(value)


def body(**values: Any) -> dict[str, Any]:
    """A JSON body without the arguments left out (``None`` means "not given")."""
    return {k: v for k, v in values.items() if v is not None}


class PageBody(msgspec.Struct, Generic[T], kw_only=True):
    data: list[T] = msgspec.field(default_factory=list)
    pagination: Pagination = msgspec.field(default_factory=Pagination)


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode(content: bytes, type_: Any) -> Any:
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    return decoder.decode(content)


def result(response: httpx.Response, type_: Any) -> Any:
    """The decoded body of a 2xx answer (``None`` for 204)."""
    if response.status_code == 204 or type_ is None:
        return None
    try:
        return decode(response.content, type_)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise APIError(
            f"Unexpected response body: {exc}",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
            headers=response.headers,
            body=response.text[:2000],
        ) from exc


class _ErrorBody(msgspec.Struct, kw_only=True):
    code: str | None = None
    message: str | None = None
    param: str | None = None
    request_id: str | None = None
    details: list[dict[str, Any]] | None = None


class _ErrorEnvelope(msgspec.Struct, kw_only=True):
    error: _ErrorBody | None = None


def api_error(response: httpx.Response) -> APIError:
    """The exception for an error answer: the spec's envelope, or the bare status."""
    try:
        envelope = decode(response.content, _ErrorEnvelope)
        err = envelope.error or _ErrorBody()
    except (msgspec.ValidationError, msgspec.DecodeError):
        err = _ErrorBody()
    status = response.status_code
    message = err.message or f"HTTP {status} {response.reason_phrase}".strip()
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": err.code,
        "param": err.param,
        "request_id": err.request_id or response.headers.get("x-request-id"),
        "details": err.details,
        "headers": response.headers,
        "body": response.text[:2000],
    }
    cls = error_class(err.code, status)
    if issubclass(cls, RateLimitError):
        return cls(
            message,
            retry_after_s=retry_after_from(response.headers),
            rate_limit=rate_limit_from(response.headers),
            **kwargs,
        )
    return cls(message, **kwargs)


# Failures where no byte of the request reached the server, so any method may be re-sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def was_sent(exc: httpx.TransportError) -> bool:
    return not isinstance(exc, _NOT_SENT)


def connection_error(exc: httpx.TransportError, call: Call, url: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{call.method} {url} timed out ({type(exc).__name__})", method=call.method, url=url
        )
    return APIConnectionError(
        f"{call.method} {url} failed: {exc or type(exc).__name__}", method=call.method, url=url
    )


def status_retry_delay(
    call: Call, error: APIError, policy: RetryPolicy, attempt: int, replayable: bool
) -> float | None:
    """Seconds to wait before re-sending after an error answer, or None to raise it now."""
    if attempt >= policy.max_retries or not replayable:
        return None
    if not may_retry_status(
        call.method, error.status_code, idempotency_key=call.has_idempotency_key
    ):
        return None
    if isinstance(error, RateLimitError) and error.retry_after_s is not None:
        if error.retry_after_s > policy.max_retry_after_s:
            return None
        return error.retry_after_s
    return policy.backoff_s(attempt)
