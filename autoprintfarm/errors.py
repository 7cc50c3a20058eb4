"""One exception tree for everything the SDK raises.

```
AutoPrintFarmError
├── APIError                     the API answered with an error envelope (or a bad status)
│   ├── InvalidRequestError          invalid_request (400, 405, 413, 422 …)
│   ├── AuthenticationError          invalid_api_key (401)
│   ├── PermissionDeniedError        insufficient_permissions (403)
│   ├── NotFoundError                resource_not_found (404)
│   ├── ConflictError                a 409 without a more precise code
│   │   ├── PrinterBusyError             printer_busy
│   │   └── PrinterOfflineError          printer_offline
│   ├── FileInvalidError             file_invalid
│   ├── QuotaExceededError           quota_exceeded
│   ├── RateLimitError               rate_limit_exceeded (429), with `retry_after_s`
│   └── InternalServerError          internal_error (5xx)
├── APIConnectionError           no answer: refused, reset, DNS, TLS …
│   └── APITimeoutError              no answer in time
└── WebhookVerificationError     `autoprintfarm.webhooks.verify` refused a delivery
```

The class is chosen from the envelope's `code` first (the spec's codes are the contract: the
cloud answers `quota_exceeded` with 403, the same status as `insufficient_permissions`), and
from the HTTP status only when the code is missing or unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoprintfarm.ratelimit import RateLimit


class AutoPrintFarmError(Exception):
    """Base class of every error the SDK raises."""


class APIError(AutoPrintFarmError):
    """The API answered with an error.

    ``code`` is the spec's error code (``resource_not_found`` …), ``param`` the parameter at
    fault when one is, ``request_id`` the id to quote to support (also in the
    ``X-Request-Id`` header), ``details`` the per-field problems of a validation error.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.request_id = request_id
        self.details = details or []
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        parts = [f"{self.status_code}"]
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        if self.param:
            text += f" (param: {self.param})"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, param={self.param!r}, request_id={self.request_id!r})"
        )


class InvalidRequestError(APIError):
    """``invalid_request``: the request is malformed or a parameter is invalid."""


class AuthenticationError(APIError):
    """``invalid_api_key``: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIError):
    """``insufficient_permissions``: the key lacks the scope this call needs."""


class NotFoundError(APIError):
    """``resource_not_found``: no such resource in your organization (or no such route)."""


class ConflictError(APIError):
    """409: the resource is in a state that forbids the call."""


class PrinterBusyError(ConflictError):
    """``printer_busy``: the printer is already printing."""


class PrinterOfflineError(ConflictError):
    """``printer_offline``: the printer (or its agent) is not connected."""


class FileInvalidError(APIError):
    """``file_invalid``: the G-code file could not be accepted."""


class QuotaExceededError(APIError):
    """``quota_exceeded``: your plan's limit is reached."""


class RateLimitError(APIError):
    """``rate_limit_exceeded``: too many requests; ``retry_after_s`` says when to come back,
    ``rate_limit`` what the rate-limit headers said (limit, remaining, reset)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        rate_limit: RateLimit | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s
        self.rate_limit = rate_limit


class InternalServerError(APIError):
    """``internal_error`` or any 5xx: the failure is on the server's side."""


class APIConnectionError(AutoPrintFarmError):
    """The request got no HTTP answer (connection refused or reset, DNS, TLS …)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """The request got no answer within the timeout."""


class WebhookVerificationError(AutoPrintFarmError):
    """A webhook delivery is not authentic: bad or missing signature, or a stale timestamp."""


ERROR_CODES: dict[str, type[APIError]] = {
    "invalid_request": InvalidRequestError,
    "invalid_api_key": AuthenticationError,
    "insufficient_permissions": PermissionDeniedError,
    "resource_not_found": NotFoundError,
    "printer_busy": PrinterBusyError,
    "printer_offline": PrinterOfflineError,
    "file_invalid": FileInvalidError,
    "quota_exceeded": QuotaExceededError,
    "rate_limit_exceeded": RateLimitError,
    "internal_error": InternalServerError,
}

_STATUSES: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class(code: str | None, status_code: int) -> type[APIError]:
    """The most specific class for an error answer: by spec code, else by status."""
    if code is not None and code in ERROR_CODES:
        return ERROR_CODES[code]
    if status_code >= 500:
        return InternalServerError
    if status_code in _STATUSES:
        return _STATUSES[status_code]
    if 400 <= status_code < 500:
        return InvalidRequestError
    return APIError
