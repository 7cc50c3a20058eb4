"""Shared OpenAPI pieces: every handler documents the error envelope for its failures."""

from __future__ import annotations

from litestar.openapi import ResponseSpec

from cloud.errors import ErrorEnvelope

_ERRORS = {
    400: "invalid_request: a parameter or the body is malformed (see `param`)",
    401: "invalid_api_key: missing, unknown or revoked key",
    403: "insufficient_permissions or quota_exceeded",
    404: "resource_not_found",
    429: "rate_limit_exceeded (see Retry-After)",
}


def errors(*extra: tuple[int, str]) -> dict[int, ResponseSpec]:
    """The error responses of a handler: the common ones plus `extra` (status, description)."""
    return {
        status: ResponseSpec(
            data_container=ErrorEnvelope, description=desc, generate_examples=False
        )
        for status, desc in (*_ERRORS.items(), *extra)
    }
