"""Text with a NUL character is refused, the same on both databases.

PostgreSQL cannot store U+0000 in `text` (asyncpg raises, the API answered 500) and SQLite
stores it silently, so a name could hold a byte no client shows. Nothing the API keeps
needs one: a NUL anywhere in a JSON body, a form field, a query parameter or a path
parameter is a 400 naming where it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Request

from cloud.problems import invalid

NUL = "\x00"


def nul_at(value: Any, where: str = "") -> str | None:
    """The JSON path (`name`, `tags[2]`, `material.color`) of the first string, or mapping
    key, holding a NUL; None if there is none."""
    if isinstance(value, str):
        return where or "body" if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return path
            found = nul_at(item, path)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def refuse_nul(value: Any, where: str = "") -> None:
    found = nul_at(value, where)
    if found is not None:
        raise invalid(f"'{found}' contains a NUL character, which text may not.", param=found)


def refuse_nul_in_pairs(pairs: Iterable[tuple[str, str]]) -> None:
    """Query or path parameters, as (name, value) pairs."""
    for name, value in pairs:
        if NUL in name or NUL in value:
            refuse_nul(value or name, name)


class ApiRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON body is checked for NUL as soon as it is decoded."""

    async def json(self) -> Any:
        value = await super().json()
        refuse_nul(value)
        return value
