"""The API's error type and the one function that turns any failure into the error envelope.

Envelope (every status, every endpoint):
`{"error": {"code": "<spec code>", "message": "...", "param": "...", "request_id": "req_..."}}`
with `param` present only when one parameter is at fault, and `details` for several.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from cloud.problems import (
    AgentFailure,
    Conflict,
    Problem,
    ProblemDetail,
    TooLarge,
    invalid,
    not_found,
)
from shared.enums import ErrorCode

__all__ = ["ApiError", "Problem", "error_response", "from_msgspec", "invalid", "not_found"]

logger = logging.getLogger(__name__)

_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.INSUFFICIENT_PERMISSIONS: 403,
    ErrorCode.RESOURCE_NOT_FOUND: 404,
    ErrorCode.PRINTER_BUSY: 409,
    ErrorCode.PRINTER_OFFLINE: 409,
    ErrorCode.FILE_INVALID: 422,
    ErrorCode.QUOTA_EXCEEDED: 403,
    ErrorCode.RATE_LIMIT_EXCEEDED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
}


class ErrorDetail(msgspec.Struct, kw_only=True, omit_defaults=True):
    message: str
    param: str | None = None


class ErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: str
    message: str
    request_id: str
    param: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(msgspec.Struct, kw_only=True):
    error: ErrorBody


class ApiError(Problem):
    """A failure decided at the HTTP edge itself (authentication, rate limiting, routing),
    where a status or response headers are part of the answer."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        param: str | None = None,
        status_code: int | None = None,
        details: list[ProblemDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, param=param, details=details)
        self.status_code = status_code or _STATUS.get(code, 400)
        self.headers = headers or {}


# A kind of problem that says more about the answer than its code does.
_KIND_STATUS: tuple[tuple[type[Problem], int], ...] = (
    (Conflict, 409),
    (TooLarge, 413),
    (AgentFailure, 502),
)


def _status_of(problem: Problem) -> int:
    if isinstance(problem, ApiError):
        return problem.status_code
    for kind, status in _KIND_STATUS:
        if isinstance(problem, kind):
            return status
    return _STATUS.get(problem.code, 400)


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """The id the middleware gave this request, or a new one (routing failed before it)."""
    state = request.scope.setdefault("state", {})
    rid = state.get("request_id")
    if not isinstance(rid, str):
        rid = state["request_id"] = "req_" + secrets.token_hex(12)
    return rid


# msgspec names the field in its message ("Object missing required field `name`",
# "Expected `str`, got `int` - at `$.tags[0]`"); Litestar reports the whole body as "data".
_MSGSPEC_FIELD = re.compile(r"(?:field `([^`]+)`|at `\$\.([A-Za-z0-9_]+))")


# Handler arguments whose query name is a Python keyword (`from`); Litestar's validation
# errors name the argument, the client knows the query name.
_QUERY_ALIASES = {"created_from": "from", "created_to": "to"}


def _param_of(key: object, message: str) -> str | None:
    if key is None:
        return None
    if isinstance(key, str) and key in _QUERY_ALIASES:
        return _QUERY_ALIASES[key]
    if key == "data":
        match = _MSGSPEC_FIELD.search(message)
        return (match.group(1) or match.group(2)) if match else None
    return str(key)


def _from_validation(exc: ValidationException) -> ApiError:
    details: list[ProblemDetail] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            details.append(ProblemDetail(message, _param_of(item.get("key"), message)))
    first = details[0] if details else None
    message = first.message if first else (exc.detail or "Request format invalid.")
    if first and first.param:
        message = f"Invalid parameter '{first.param}': {first.message}"
    return ApiError(
        ErrorCode.INVALID_REQUEST,
        message,
        param=first.param if first else None,
        details=details or None,
    )


def to_api_error(exc: Exception) -> Problem:
    """Map any exception to a `Problem` (its status by `_status_of`): the single place HTTP
    statuses are decided."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    if isinstance(exc, NotAuthorizedException):
        return ApiError(ErrorCode.INVALID_API_KEY, exc.detail or "API key invalid or missing.")
    if isinstance(exc, PermissionDeniedException):
        return ApiError(ErrorCode.INSUFFICIENT_PERMISSIONS, exc.detail or "Missing scope.")
    if isinstance(exc, NotFoundException):
        return ApiError(ErrorCode.RESOURCE_NOT_FOUND, "No such route or resource.")
    if isinstance(exc, MethodNotAllowedException):
        return ApiError(ErrorCode.INVALID_REQUEST, exc.detail, status_code=405)
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):
        # msgspec's own limit, met while a JSON body is decoded (Litestar decodes before
        # validating): a body nested too deeply is malformed input, not a crash.
        return invalid("Malformed JSON body: nested too deeply.")
    if isinstance(exc, StaleDataError):
        # Another writer (a replica, the agent's report) changed the job between our read
        # and our write; the version check refused ours, which changed nothing.
        return Conflict(
            ErrorCode.INVALID_REQUEST,
            "The resource changed while this request ran; read it again and retry.",
        )
    if isinstance(exc, sa_exc.IntegrityError):
        # A constraint refused the write because of a change made meanwhile (a printer or
        # file deleted between this request's checks and its insert): nothing was written.
        return Conflict(
            ErrorCode.INVALID_REQUEST,
            "The request conflicts with a change made at the same time; read again and retry.",
        )
    if _unavailable(exc):
        # Retryable, and said so: the SDKs retry a 503 after Retry-After where that is safe.
        return ApiError(
            ErrorCode.INTERNAL_ERROR,
            "The service is temporarily unavailable (its database could not be reached); "
            "retry shortly.",
            status_code=503,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        # Litestar's own client errors: malformed JSON, bad multipart, body too large (413).
        return ApiError(
            ErrorCode.INVALID_REQUEST,
            exc.detail or "Request format invalid.",
            status_code=exc.status_code,
        )
    return ApiError(ErrorCode.INTERNAL_ERROR, "Internal server error.")


def _unavailable(exc: Exception) -> bool:
    """The database is away, restarting or saturated, not the request at fault: a connection
    refused or reset (asyncpg raises these raw), a connection lost mid-statement, the pool
    empty past its timeout, SQLite locked past its busy timeout."""
    if isinstance(exc, ConnectionError | sa_exc.TimeoutError | sa_exc.OperationalError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorEnvelope]:
    """Litestar exception handler for every exception type: one envelope, no stack trace."""
    error = to_api_error(exc)
    if error.code is ErrorCode.INTERNAL_ERROR:
        logger.exception(
            "unhandled error on %s %s (request %s)",
            request.method,
            request.url.path,
            request_id_of(request),
            exc_info=exc,
        )
    body = ErrorBody(
        code=error.code.value,
        message=error.message,
        request_id=request_id_of(request),
        param=error.param,
        details=[ErrorDetail(message=d.message, param=d.param) for d in error.details]
        if error.details
        else None,
    )
    extra = error.headers if isinstance(error, ApiError) else {}
    headers = {"X-Request-Id": body.request_id, **extra}
    if isinstance(exc, HTTPException) and exc.headers:
        headers = {**exc.headers, **headers}
    return Response(ErrorEnvelope(error=body), status_code=_status_of(error), headers=headers)


def from_msgspec(exc: msgspec.ValidationError | msgspec.DecodeError) -> Problem:
    """A body decoded by hand (not by Litestar) that failed: invalid_request, field named."""
    message = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return invalid(f"Invalid body: {message}", param=_param_of("data", message))
    return invalid(f"Malformed JSON body: {message}")
