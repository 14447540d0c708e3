"""Pages and auto-pagination.

Every listing returns an :class:`AsyncPager`:

- ``await pager`` gives the first :class:`Page` (items, ``total``, rate limit, request id);
- ``async for item in pager`` gives every item of every page, in API order;
- ``pager.pages()`` gives the pages; ``await pager.collect(limit=...)`` gives a list.

Page-number listings (tags, manifests, GC history, legacy repositories) fetch the remaining pages
concurrently once the first page tells how many there are (a bounded window, items still yielded
strictly in order, memory bounded by the window). Token listings (repositories V2) are sequential by
nature: the next page is fetched while the caller consumes the current one, and a listing can be
resumed from :attr:`Page.next_page_token`.

Next links are absolute URLs on api.digitalocean.com: only their query is used, on the client's own
base URL, so the token never goes to another host. A repeated cursor, an empty page that claims a
next page, or more than ``max_pages`` pages raise :class:`~docr_async.exceptions.PaginationError`.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping
from contextlib import aclosing
from typing import Any, Generic, TypeVar

import attrs
from yarl import URL

from ._constants import MAX_PER_PAGE
from ._ratelimit import RateLimitInfo
from .exceptions import PaginationError, ValidationError

__all__ = ["DEFAULT_MAX_PAGES", "DEFAULT_PREFETCH", "AsyncPager", "Page", "validate_per_page"]

T = TypeVar("T")

DEFAULT_PREFETCH = 4
"""Pages fetched concurrently ahead of the consumer (page-number listings)."""
DEFAULT_MAX_PAGES = 100_000
"""A listing with more pages than this is considered runaway."""

Query = dict[str, str]
FetchPage = Callable[[Query], Awaitable["Page[T]"]]


def validate_per_page(per_page: object) -> int:
    """Check ``per_page`` (an int from 1 to 200).

    Raises:
        ValidationError: If it is out of range or not an int.
    """
    if not isinstance(per_page, int) or isinstance(per_page, bool):
        raise ValidationError("per_page", per_page, "must be an int")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError("per_page", per_page, f"must be between 1 and {MAX_PER_PAGE}")
    return per_page


def _link_query(link: str | None) -> Query | None:
    if not link:
        return None
    return dict(URL(link).query)


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing.

    Attributes:
        items: The items on this page.
        total: The number of items across all pages (``meta.total``), if reported.
        query: The query that fetched this page.
        links: The ``links.pages`` URLs (``first``/``prev``/``next``/``last``) as sent.
        rate_limit: The rate-limit state reported with this page.
        request_id: The request id of this page's response, if any.
    """

    items: tuple[T, ...]
    total: int | None = None
    query: Query = attrs.field(factory=dict)
    links: Mapping[str, str] = attrs.field(factory=dict)
    rate_limit: RateLimitInfo | None = None
    request_id: str | None = None

    @property
    def has_next(self) -> bool:
        """True when the API says there is a next page."""
        return bool(self.links.get("next"))

    @functools.cached_property
    def next_query(self) -> Query | None:
        """The query of the next page (taken from the ``next`` link), if any; parsed once."""
        return _link_query(self.links.get("next"))

    @property
    def next_page_token(self) -> str | None:
        """The opaque cursor of the next page (token listings); pass it back to resume a listing."""
        query = self.next_query
        return query.get("page_token") if query else None

    @property
    def page(self) -> int:
        """This page's number."""
        return int(self.query.get("page", 1))

    @property
    def per_page(self) -> int | None:
        """The page size requested."""
        value = self.query.get("per_page")
        return int(value) if value else None

    @property
    def last_page(self) -> int | None:
        """The number of the last page, from the ``last`` link or from ``total``."""
        query = _link_query(self.links.get("last"))
        if query and query.get("page", "").isdigit():
            return int(query["page"])
        if self.total is not None and self.per_page:
            return max(1, math.ceil(self.total / self.per_page))
        return None

    def __len__(self) -> int:
        return len(self.items)


class AsyncPager(Generic[T]):
    """A listing: await it for the first page, ``async for`` it for every item.

    Args:
        fetch: Fetches one page for a query.
        query: The query of the first page.
        token_based: The listing pages with ``page_token`` cursors (sequential).
        prefetch: Pages fetched ahead of the consumer; ``0`` disables prefetching.
        max_pages: Raise :class:`PaginationError` past this many pages.
    """

    def __init__(
        self,
        fetch: FetchPage[T],
        query: Query,
        *,
        token_based: bool = False,
        prefetch: int = DEFAULT_PREFETCH,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self._query = query
        self._token_based = token_based
        self._prefetch = max(0, prefetch)
        self._max_pages = max_pages

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(dict(self._query)).__await__()

    def __aiter__(self) -> AsyncGenerator[T]:
        # An async generator, so ``contextlib.aclosing(aiter(pager))`` closes it deterministically.
        return self._items()

    async def _items(self) -> AsyncGenerator[T]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    async def collect(self, limit: int | None = None) -> list[T]:
        """Return every item (or the first ``limit``) as a list.

        Raises:
            PaginationError: If the listing does not paginate sanely.
        """
        result: list[T] = []
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                result.extend(page.items)
                if limit is not None and len(result) >= limit:
                    return result[:limit]
        return result

    async def pages(self) -> AsyncGenerator[Page[T]]:
        """Iterate the pages in order.

        Raises:
            PaginationError: On a repeated cursor, an empty page with a next link, or too many pages.
        """
        guard = _Guard(self._max_pages)
        page = await self._fetch(dict(self._query))
        guard.check(page)
        last = page.last_page
        if not self._token_based and self._prefetch > 1 and page.has_next and last and last > page.page:
            yield page
            async with aclosing(self._windowed(page, last, guard)) as window:
                async for page in window:
                    yield page
            next_query = page.next_query
            if next_query is None:
                return
            # The listing grew while it was read: carry on by following links.
            page = await self._fetch(next_query)
            guard.check(page)
        ahead: asyncio.Future[Page[T]] | None = None
        try:
            while True:
                next_query = page.next_query
                if next_query is not None and self._prefetch > 0:
                    ahead = asyncio.ensure_future(self._fetch(next_query))
                yield page
                if next_query is None:
                    return
                page = await (ahead if ahead is not None else self._fetch(next_query))
                ahead = None
                guard.check(page)
        finally:
            if ahead is not None:
                await _cancel_all([ahead])

    async def _windowed(self, first: Page[T], last: int, guard: _Guard) -> AsyncGenerator[Page[T]]:
        """Pages ``first.page + 1 .. last``, fetched ``prefetch`` at a time, yielded in order."""
        pending: deque[asyncio.Future[Page[T]]] = deque()
        number = first.page + 1
        try:
            while number <= last or pending:
                while number <= last and len(pending) < self._prefetch:
                    pending.append(asyncio.ensure_future(self._fetch({**first.query, "page": str(number)})))
                    number += 1
                page = await pending.popleft()
                guard.check(page)
                yield page
                if not page.items:
                    return  # the listing shrank while it was read; an empty page ends it
        finally:
            await _cancel_all(pending)


async def _cancel_all(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel prefetches nobody will consume and wait for them, so no task or connection is left."""
    futures = list(futures)
    for future in futures:
        future.cancel()
    if futures:
        await asyncio.gather(*futures, return_exceptions=True)


class _Guard:
    """Detects runaway pagination."""

    def __init__(self, max_pages: int) -> None:
        self.max_pages = max_pages
        self.count = 0
        self.seen: set[tuple[tuple[str, str], ...]] = set()

    def check(self, page: Page[Any]) -> None:
        self.count += 1
        if self.count > self.max_pages:
            raise PaginationError(
                f"more than {self.max_pages} pages; stopping (raise max_pages if this is real)"
            )
        nxt = page.next_query
        if nxt is None:
            return
        if not page.items:
            raise PaginationError(f"page {page.page} is empty but links to a next page; stopping")
        key = tuple(sorted(nxt.items()))
        if key in self.seen:
            raise PaginationError(f"the API returned the same next page twice ({dict(key)}); stopping")
        self.seen.add(key)
