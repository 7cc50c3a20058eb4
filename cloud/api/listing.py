"""List conventions: `page`/`per_page`, `sort=field,-other`, `fields=a,b`, the envelope.

The envelope is the spec's `{"data": [...], "pagination": {page, per_page, total,
total_pages}}` (api-reference.md, "All list endpoints support pagination").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from cloud.errors import invalid
from cloud.schemas.common import Pagination

P = TypeVar("P")

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    per_page: int
    sort: tuple[SortKey, ...]

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def parse_sort(raw: str | None, allowed: Iterable[str], default: str) -> tuple[SortKey, ...]:
    """`-created_at,name` → keys; an unknown field is `invalid_request` on `sort`."""
    allowed_set = set(allowed)
    keys: list[SortKey] = []
    for part in (raw or default).split(","):
        token = part.strip()
        descending = token.startswith("-")
        name = token.lstrip("-+")
        if name not in allowed_set:
            raise invalid(
                f"Cannot sort by '{name}'; sortable fields: {', '.join(sorted(allowed_set))}.",
                param="sort",
            )
        keys.append(SortKey(name, descending))
    return tuple(keys)


def parse_fields(raw: str | None, allowed: Sequence[str]) -> tuple[str, ...] | None:
    """`id,name` → the subset to return (None = all); unknown names are rejected."""
    if raw is None:
        return None
    names = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    if not names:
        raise invalid("'fields' names no field.", param="fields")
    for name in names:
        if name not in allowed:
            raise invalid(f"Unknown field '{name}'; fields: {', '.join(allowed)}.", param="fields")
    return names


def page_request(
    page: int, per_page: int, sort: str | None, allowed_sort: Iterable[str], default_sort: str
) -> PageRequest:
    return PageRequest(
        page=page, per_page=per_page, sort=parse_sort(sort, allowed_sort, default_sort)
    )


def pagination(req: PageRequest, total: int) -> Pagination:
    return Pagination(
        page=req.page,
        per_page=req.per_page,
        total=total,
        total_pages=math.ceil(total / req.per_page) if total else 0,
    )


def sparse(item: msgspec.Struct, fields: tuple[str, ...] | None) -> Any:
    """The item itself, or a dict of just the requested fields (encoded the same way)."""
    if fields is None:
        return item
    return {name: getattr(item, name) for name in fields}


def page_of(
    page_type: Callable[..., P],
    items: Iterable[msgspec.Struct],
    fields: tuple[str, ...] | None,
    req: PageRequest,
    total: int,
) -> P:
    """The envelope of one page: `items` (each cut to `fields`, see `sparse`) and its
    pagination."""
    return page_type(data=[sparse(i, fields) for i in items], pagination=pagination(req, total))


def reject_unknown_query(query: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """A misspelt filter must not silently return everything: name it instead."""
    allowed_set = set(allowed)
    for name in query:
        if name not in allowed_set:
            raise invalid(
                f"Unknown query parameter '{name}'; accepted: {', '.join(sorted(allowed_set))}.",
                param=name,
            )
