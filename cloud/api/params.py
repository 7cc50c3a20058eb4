"""Query parameters every list endpoint shares (documented once, validated by Litestar)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter, QueryParameter

from cloud.api.listing import MAX_PER_PAGE

Page = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number, from 1")]
PerPage = Annotated[
    int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="Results per page (max 100)")
]
Sort = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        description="`field` ascending, `-field` descending; several comma-separated",
    ),
]
Fields = Annotated[
    str | None,
    QueryParameter(
        max_length=500,
        description="Comma-separated field names; each object then carries only those",
    ),
]
ShortQuery = Annotated[str | None, QueryParameter(max_length=100)]

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
