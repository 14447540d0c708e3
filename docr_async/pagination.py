"""Pages and auto-pagination, with honest listings.

Every listing returns an :class:`AsyncPager`:

- ``await pager`` gives the first :class:`Page` (items, ``total``, rate limit, request id);
- ``async for item in pager`` gives every item of every page, in API order;
- ``pager.pages()`` gives the pages; ``await pager.collect(limit=...)`` gives a list.

Page-number listings (tags, manifests, GC history, legacy V1 repositories) fetch the remaining pages
concurrently once the first page tells how many there are (a bounded window, items still yielded
strictly in order). Token listings (repositories V2) are sequential by nature: the next page is
fetched while the caller consumes the current one, and a listing can be resumed from
:attr:`Page.next_page_token`.

**The promise.** An item that exists unchanged for the whole listing is yielded exactly once; an
item added or removed during the listing is yielded at most once. Listings are read page by page
while other clients push and delete, so a listing is checked as it is read. It *changed* when:

- ``meta.total`` differs from the first page's;
- a key (tag name, manifest digest, GC uuid, repository name) comes back twice;
- a page before the last is short or empty, the last page does not hold the rest of ``total``,
  a page links to a next page past the end ``total`` implies, or a page before the end has no next
  link (truncation is never silent);
- the ``last`` link disagrees with ``total`` and ``per_page``;
- a token listing read from its start ends with a different number of items than ``total``.

What then happens is the listing's ``on_change``:

- ``"reread"`` (default): start over from the first page, yielding only items not yet yielded, at
  most :data:`DEFAULT_MAX_REREADS` times; if every re-read changed too, raise
  :class:`~docr_async.exceptions.ListingChangedError`. Items already yielded stay yielded (they
  existed when read), so after a re-read the items that follow are in the re-read's order.
- ``"raise"`` (strict; cleanup verification uses it): raise ``ListingChangedError`` at the first sign.

Items are yielded only from pages that passed the checks. De-duplication keeps one dict entry per
key for the listing's lifetime (memory grows with the item count; README gives the measured cost).

**What cannot be detected.** Checks see counts, keys and page shapes, not the server's snapshot. A
delete and an add between two page reads leave ``total`` unchanged; in newest-first listings (tags,
manifests, GC history: additions land on page 1) this still shows up as a duplicate, but in a
name-ordered page-number listing (legacy V1 repositories) an add after the read position and a delete
before it can shift one unchanged item past the reader unseen. Token listings (repositories V2)
depend on what the opaque cursor means: a cursor that remembers the last name read (as FakeDOCR's
does) is immune to shifts; an offset cursor is not, and only a ``total`` change, a duplicate or a
count mismatch reveal it. A listing resumed from a saved ``page_token`` cannot check its count.

**Links are hints.** From a ``next`` link only the cursor (``page``, ``page_token``) is taken;
``per_page`` and every other parameter stay what the caller asked for, and the request goes to the
client's own base URL, so the token never goes to another host. A repeated cursor, an empty page that
claims a next page, or more than ``max_pages`` pages raise
:class:`~docr_async.exceptions.PaginationError`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Hashable, Iterable, Mapping
from contextlib import aclosing
from typing import Any, Generic, Literal, TypeVar, cast

import attrs
from yarl import URL

from ._constants import MAX_PER_PAGE
from ._ratelimit import RateLimitInfo
from .exceptions import ListingChangedError, PaginationError, ValidationError

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_REREADS",
    "DEFAULT_PREFETCH",
    "AsyncPager",
    "OnChange",
    "Page",
    "validate_on_change",
    "validate_per_page",
]

logger = logging.getLogger("docr_async.pagination")

T = TypeVar("T")

DEFAULT_PREFETCH = 4
"""Pages fetched concurrently ahead of the consumer (page-number listings)."""
DEFAULT_MAX_PAGES = 100_000
"""A listing with more pages than this is considered runaway."""
DEFAULT_MAX_REREADS = 3
"""Re-reads of a listing that changed while it was read (``on_change="reread"``): at most 4 reads."""

OnChange = Literal["reread", "raise"]
"""What a listing does when it changed while it was read: re-read it, or raise."""

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


def validate_on_change(on_change: object) -> OnChange:
    """Check ``on_change`` (``"reread"`` or ``"raise"``).

    Raises:
        ValidationError: If it is anything else.
    """
    if on_change in ("reread", "raise"):
        return on_change
    raise ValidationError("on_change", on_change, 'must be "reread" or "raise"')


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


class _Changed(Exception):  # noqa: N818 - internal signal, never escapes the pager
    """The listing changed while it was read (internal: becomes a re-read or ListingChangedError)."""


def _identity(item: Any) -> Hashable:
    return cast("Hashable", item)


class AsyncPager(Generic[T]):
    """A listing: await it for the first page, ``async for`` it for every item.

    See the module docstring for the promise (exactly once / at most once) and what is checked.

    Args:
        fetch: Fetches one page for a query.
        query: The query of the first page.
        token_based: The listing pages with ``page_token`` cursors (sequential).
        prefetch: Pages fetched ahead of the consumer; ``0`` disables prefetching.
        max_pages: Raise :class:`PaginationError` past this many pages (re-reads included).
        key: The identity of an item (tag name, digest, uuid, name); the item itself by default.
        on_change: ``"reread"`` (default) or ``"raise"`` when the listing changed while read.
        max_rereads: How many times ``"reread"`` starts over before raising.
    """

    def __init__(
        self,
        fetch: FetchPage[T],
        query: Query,
        *,
        token_based: bool = False,
        prefetch: int = DEFAULT_PREFETCH,
        max_pages: int = DEFAULT_MAX_PAGES,
        key: Callable[[T], Hashable] | None = None,
        on_change: OnChange = "reread",
        max_rereads: int = DEFAULT_MAX_REREADS,
    ) -> None:
        self._fetch = fetch
        self._query = query
        self._token_based = token_based
        self._prefetch = max(0, prefetch)
        self._max_pages = max_pages
        self._key: Callable[[T], Hashable] = key or _identity
        self._on_change = validate_on_change(on_change)
        self._max_rereads = max(0, max_rereads)

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
            ListingChangedError: If the listing changed while read (see ``on_change``).
        """
        result: list[T] = []
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                result.extend(page.items)
                if limit is not None and len(result) >= limit:
                    return result[:limit]
        return result

    async def pages(self) -> AsyncGenerator[Page[T]]:
        """Iterate the pages in order; after a re-read, a page holds only items not yet yielded.

        Raises:
            PaginationError: On a repeated cursor, an empty page with a next link, or too many pages.
            ListingChangedError: If the listing changed while read: at once with
                ``on_change="raise"``, after :data:`DEFAULT_MAX_REREADS` re-reads that all changed
                with ``"reread"``.
        """
        seen: dict[Hashable, int] = {}  # key -> the read that last saw it
        counter = _PageCounter(self._max_pages)
        for read in range(self._max_rereads + 1):
            try:
                async with aclosing(self._read(read, seen, counter)) as pages:
                    async for page in pages:
                        yield page
                return
            except _Changed as change:
                if self._on_change == "raise":
                    raise ListingChangedError(f"the listing changed while it was read: {change}") from None
                if read == self._max_rereads:
                    raise ListingChangedError(
                        f"the listing changed while it was read, {read + 1} reads in a row; last: {change}"
                    ) from None
                logger.info("listing changed while it was read (%s); re-reading it", change)

    async def _read(
        self, read: int, seen: dict[Hashable, int], counter: _PageCounter
    ) -> AsyncGenerator[Page[T]]:
        """One read of the listing from its first page; raises :class:`_Changed` at the first sign."""
        first = await self._fetch(dict(self._query))
        cursors = _Cursors()
        counter.check(first)
        cursors.check(first)
        check = _Check(self._query, first, self._token_based)
        source = (
            self._sequential(first, counter, cursors)
            if check.last is None
            else (self._windowed(first, check.last, counter, cursors))
        )
        async with aclosing(source) as pages:
            async for page in pages:
                check.page(page)
                yield self._fresh(page, read, seen)
        check.end()

    def _fresh(self, page: Page[T], read: int, seen: dict[Hashable, int]) -> Page[T]:
        """``page`` with the items not yielded yet; a key seen twice in this read means a change."""
        keys: list[Hashable] = (
            list(page.items) if self._key is _identity else list(map(self._key, page.items))
        )
        if read == 0 and seen.keys().isdisjoint(keys):  # the common case, at C speed
            before = len(seen)
            seen.update(zip(keys, itertools.repeat(0)))
            if len(seen) - before != len(keys):
                raise _Changed(f"page {page.page} lists the same item twice")
            return page
        if len(set(keys)) != len(keys):
            raise _Changed(f"page {page.page} lists the same item twice")
        for k in keys:
            if seen.get(k) == read:
                raise _Changed(f"{k!r} came back on page {page.page} after an earlier page listed it")
        fresh = tuple(item for item, k in zip(page.items, keys, strict=True) if k not in seen)
        for k in keys:
            seen[k] = read
        return page if len(fresh) == len(page.items) else attrs.evolve(page, items=fresh)

    def _follow(self, page: Page[T]) -> Query | None:
        """The next page's query: the caller's query with only the link's cursor taken."""
        link = page.next_query
        if link is None:
            return None
        cursor = _cursor(link)
        if not cursor:
            raise PaginationError(f"page {page.page}'s next link carries no page or page_token; stopping")
        query = {k: v for k, v in self._query.items() if k not in _CURSOR_KEYS}
        return {**query, **cursor}

    async def _sequential(
        self, first: Page[T], counter: _PageCounter, cursors: _Cursors
    ) -> AsyncGenerator[Page[T]]:
        """Follow next links one page at a time (one page fetched ahead unless ``prefetch`` is 0)."""
        page = first
        ahead: asyncio.Future[Page[T]] | None = None
        try:
            while True:
                next_query = self._follow(page)
                if next_query is not None and self._prefetch > 0:
                    ahead = asyncio.ensure_future(self._fetch(next_query))
                yield page
                if next_query is None:
                    return
                page = await (ahead if ahead is not None else self._fetch(next_query))
                ahead = None
                counter.check(page)
                cursors.check(page)
        finally:
            if ahead is not None:
                await _cancel_all([ahead])

    async def _windowed(
        self, first: Page[T], last: int, counter: _PageCounter, cursors: _Cursors
    ) -> AsyncGenerator[Page[T]]:
        """``first``, then pages ``first.page + 1 .. last`` by number, ``prefetch`` at a time, in order."""
        yield first
        pending: deque[asyncio.Future[Page[T]]] = deque()
        number = first.page + 1

        def fill(size: int) -> None:
            nonlocal number
            while number <= last and len(pending) < size:
                pending.append(asyncio.ensure_future(self._fetch({**self._query, "page": str(number)})))
                number += 1

        try:
            while number <= last or pending:
                fill(max(1, self._prefetch))
                page = await pending.popleft()
                counter.check(page)
                cursors.check(page)
                fill(self._prefetch)
                yield page
        finally:
            await _cancel_all(pending)


_CURSOR_KEYS = ("page", "page_token")


def _cursor(link: Query) -> Query:
    """The cursor of a next link: its ``page`` and ``page_token``, nothing else."""
    return {k: link[k] for k in _CURSOR_KEYS if k in link}


async def _cancel_all(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel prefetches nobody will consume and wait for them, so no task or connection is left."""
    futures = list(futures)
    for future in futures:
        future.cancel()
    if futures:
        await asyncio.gather(*futures, return_exceptions=True)


class _PageCounter:
    """Detects runaway pagination: more than ``max_pages`` pages over every read."""

    def __init__(self, max_pages: int) -> None:
        self.max_pages = max_pages
        self.count = 0

    def check(self, page: Page[Any]) -> None:
        del page
        self.count += 1
        if self.count > self.max_pages:
            raise PaginationError(
                f"more than {self.max_pages} pages; stopping (raise max_pages if this is real)"
            )


class _Cursors:
    """Detects a repeated next cursor and an empty page that claims a next page (one read)."""

    def __init__(self) -> None:
        self.seen: set[tuple[tuple[str, str], ...]] = set()

    def check(self, page: Page[Any]) -> None:
        nxt = page.next_query
        if nxt is None:
            return
        if not page.items:
            raise PaginationError(f"page {page.page} is empty but links to a next page; stopping")
        key = tuple(sorted(_cursor(nxt).items()))
        if key in self.seen:
            raise PaginationError(f"the API returned the same next page twice ({dict(key)}); stopping")
        self.seen.add(key)


class _Check:
    """Checks one read of a listing against its first page's ``total`` (raises :class:`_Changed`)."""

    def __init__(self, query: Query, first: Page[Any], token_based: bool) -> None:
        self.total = first.total
        self.start = first.page
        per_page = query.get("per_page", "")
        self.per_page = int(per_page) if per_page.isdigit() else 0
        self.count = 0
        self.from_start = "page_token" not in query and self.start == 1
        self.last: int | None = None  # the last page number, for page-number listings with a total
        self.expected = 0  # items from the start page to the end
        if token_based or self.total is None or self.per_page < 1:
            return  # no page plan: follow next links, check total, duplicates and the count
        pages = max(1, math.ceil(self.total / self.per_page))
        link = _link_query(first.links.get("last"))
        if link and link.get("page", "").isdigit() and int(link["page"]) != pages:
            raise _Changed(
                f"the last link says page {link['page']}, but total={self.total} at "
                f"{self.per_page} per page makes {pages} pages"
            )
        self.expected = max(0, self.total - (self.start - 1) * self.per_page)
        self.last = self.start + max(1, math.ceil(self.expected / self.per_page)) - 1

    def page(self, page: Page[Any]) -> None:
        self.count += len(page.items)
        if self.total is not None and page.total != self.total:
            raise _Changed(
                f"total went {self.total} → {page.total} between page {self.start} and page {page.page}"
            )
        if self.last is None:
            return
        number, size = page.page, len(page.items)
        if number < self.last:
            if size != self.per_page:
                raise _Changed(
                    f"page {number} has {size} items, expected {self.per_page}: "
                    f"total={self.total} makes {self.last} pages"
                )
            if not page.has_next:
                raise _Changed(
                    f"page {number} has no next link, but total={self.total} makes {self.last} pages"
                )
            return
        want = self.expected - (self.last - self.start) * self.per_page
        if size != want:
            raise _Changed(f"the last page ({number}) has {size} items, expected {want}: total={self.total}")
        if page.has_next:
            raise _Changed(f"page {number} links to a next page, but total={self.total} makes it the last")

    def end(self) -> None:
        if self.last is None and self.total is not None and self.from_start and self.count != self.total:
            raise _Changed(f"the listing ended after {self.count} items, but total={self.total}")
