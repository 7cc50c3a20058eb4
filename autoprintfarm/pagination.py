"""Pages of a list endpoint, walked lazily.

``client.printers.list(status="printing")`` fetches one page (``.data``, ``.pagination``)
at once, so a bad filter raises where it is written. Iterating the page object yields every
item of every page: the next page is fetched only when the loop reaches it. The API pages
by number (``page``/``per_page``, ``pagination.total_pages``; api-reference.md, "All list
endpoints support pagination").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from autoprintfarm.models import Pagination

T = TypeVar("T")


class _PageBase(Generic[T]):
    def __init__(self, data: list[T], pagination: Pagination) -> None:
        self.data = data
        self.pagination = pagination

    @property
    def total(self) -> int:
        """Items across all pages (not only this one)."""
        return self.pagination.total

    def has_next_page(self) -> bool:
        # An empty page ends the walk even if the totals say otherwise (rows deleted meanwhile).
        return bool(self.data) and self.pagination.page < self.pagination.total_pages

    def __repr__(self) -> str:
        p = self.pagination
        return (
            f"<{type(self).__name__} page {p.page}/{p.total_pages}, "
            f"{len(self.data)} of {p.total} items>"
        )


class SyncPage(_PageBase[T]):
    """One page of results; iterate it to walk every item of every page."""

    def __init__(
        self, data: list[T], pagination: Pagination, fetch: Callable[[int], SyncPage[T]]
    ) -> None:
        super().__init__(data, pagination)
        self._fetch = fetch

    def next_page(self) -> SyncPage[T] | None:
        """The following page, fetched now, or ``None`` after the last one."""
        if not self.has_next_page():
            return None
        return self._fetch(self.pagination.page + 1)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page and each following one, fetched as the loop gets there."""
        page: SyncPage[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[T]):
    """One page of results; ``async for`` over it walks every item of every page."""

    def __init__(
        self,
        data: list[T],
        pagination: Pagination,
        fetch: Callable[[int], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(data, pagination)
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T] | None:
        if not self.has_next_page():
            return None
        return await self._fetch(self.pagination.page + 1)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item
