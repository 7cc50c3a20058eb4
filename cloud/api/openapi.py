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


# What a POST carrying an `Idempotency-Key` may also answer (cloud/api/idempotency.py).
IDEMPOTENCY_ERRORS = (
    (409, "invalid_request: a request with this Idempotency-Key is still in flight"),
    (422, "invalid_request: this Idempotency-Key was used for a different request"),
)


# Answered only where an API key is checked and counted (cloud/api/middleware.py).
_KEY_ERRORS = frozenset({401, 403, 429})


def errors(*extra: tuple[int, str], keyed: bool = True) -> dict[int, ResponseSpec]:
    """The error responses of a handler: the common ones plus `extra` (status, description);
    descriptions of one status are joined. `keyed=False`: a handler without an API key, which
    cannot answer 401, 403 or 429."""
    common = {s: d for s, d in _ERRORS.items() if keyed or s not in _KEY_ERRORS}
    described: dict[int, list[str]] = {}
    for status, desc in (*common.items(), *extra):
        described.setdefault(status, []).append(desc)
    return {
        status: ResponseSpec(
            data_container=ErrorEnvelope, description="; ".join(descs), generate_examples=False
        )
        for status, descs in described.items()
    }
