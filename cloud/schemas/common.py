"""Constrained types shared by several resources."""

from __future__ import annotations

from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# The pattern validated, and the one documented: NUL is refused for all text before this
# pattern is checked (cloud/api/text.py, with its own message), and the document says so.
Tag = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[^,\s][^,]*$",
        extra_json_schema={"pattern": r"^[^,\s\u0000][^,\u0000]*$"},
    ),
]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=50)]
ResourceId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class Deleted(msgspec.Struct, kw_only=True):
    id: str
    deleted: bool = True


class Pagination(msgspec.Struct, kw_only=True):
    page: int
    per_page: int
    total: int
    total_pages: int
