"""Query parameters every list endpoint shares (documented once, validated by Litestar)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import HeaderParameter, QueryParameter

from cloud.api.listing import MAX_PER_PAGE
from cloud.api.strict_schema import NO_NUL

Page = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number, from 1")]
PerPage = Annotated[
    int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="Results per page (max 100)")
]


def sort_query(allowed: Iterable[str]) -> Any:
    """The `sort` parameter of a list whose sortable fields are `allowed`. The document names
    them in a pattern (`schema_extra`: documented only, so a wrong field still gets the
    handler's own message, which lists them)."""
    names = "|".join(sorted(allowed))
    return QueryParameter(
        max_length=200,
        description="`field` ascending, `-field` descending; several comma-separated",
        schema_extra={"pattern": f"^-?({names})(,-?({names}))*$"},
    )


def fields_query(allowed: Iterable[str]) -> Any:
    """The `fields` parameter of a list whose objects have the fields `allowed`."""
    names = "|".join(sorted(allowed))
    return QueryParameter(
        max_length=500,
        description="Comma-separated field names; each object then carries only those",
        schema_extra={"pattern": f"^({names})(,({names}))*$"},
    )


# Text never holds NUL (cloud/api/text.py refuses it): the document says so.
ShortQuery = Annotated[str | None, QueryParameter(max_length=100, schema_extra={"pattern": NO_NUL})]


def date_query(name: str, description: str) -> Any:
    """A period bound: an ISO 8601 date or a datetime with its zone (cloud/analytics/period.py)."""
    return QueryParameter(
        name=name,
        description=description,
        schema_extra={
            "any_of": [
                Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE),
                Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
            ]
        },
    )


# JSON bodies are small; only job uploads may be large (the app-wide limit is theirs).
JSON_BODY_MAX_BYTES = 1024 * 1024

# Read by cloud.api.idempotency (a handler declares it so the OpenAPI document shows it).
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="Makes the POST safe to retry: a retry with the same key and the same "
        'request gets the first answer again (`Idempotent-Replayed: true`). An sf-string ("…") '
        "or a bare token, 1-255 printable ASCII characters; a random UUID is best. Kept 24 h.",
    ),
]
