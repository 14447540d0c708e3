"""AsyncPager under concurrent writers, without HTTP: the exactly-once / at-most-once promise.

A newest-first listing (like tags) is served by page number or by an offset cursor (the worst case a
token can be). A writer pushes at the front or deletes anywhere at fixed points: right after the
N-th page was served. No sleeps: ``asyncio.sleep(0)`` only lets the prefetch window interleave.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docr_async import ListingChangedError, PaginationError, ValidationError
from docr_async.pagination import DEFAULT_MAX_REREADS, AsyncPager, Page, Query

if TYPE_CHECKING:
    from collections.abc import Callable

API = "https://api.digitalocean.com/v2/registries/r/repositories/a/tags"


class Listing:
    """Newest-first names, paged by number or by an offset ``page_token``; runs writers after page N."""

    def __init__(self, total: int, *, token_based: bool = False) -> None:
        self.items = [f"t{i:03d}" for i in reversed(range(total))]
        self.token_based = token_based
        self.calls: list[Query] = []
        self.writers: dict[int, Callable[[Listing], object]] = {}
        self.pushed = 0

    def push(self) -> str:
        self.pushed += 1
        name = f"new{self.pushed:03d}"
        self.items.insert(0, name)
        return name

    async def fetch(self, q: Query) -> Page[str]:
        self.calls.append(dict(q))
        await asyncio.sleep(0)
        per_page = int(q["per_page"])
        page = int(q.get("page", 1))
        start = int(q["page_token"]) if self.token_based and "page_token" in q else (page - 1) * per_page
        chunk = self.items[start : start + per_page]
        last = max(1, math.ceil(len(self.items) / per_page))
        links: dict[str, str] = {}
        if start + per_page < len(self.items):
            token = f"&page_token={start + per_page}" if self.token_based else ""
            links["next"] = f"{API}?page={page + 1}&per_page={per_page}{token}"
            links["last"] = f"{API}?page={last}&per_page={per_page}"
        served = Page(items=tuple(chunk), total=len(self.items), query=q, links=links)
        writer = self.writers.pop(len(self.calls), None)
        if writer is not None:
            writer(self)
        await asyncio.sleep(0)
        return served


def pager(listing: Listing, per_page: int = 10, **kwargs: Any) -> AsyncPager[str]:
    return AsyncPager(
        listing.fetch, {"per_page": str(per_page), "page": "1"}, token_based=listing.token_based, **kwargs
    )


async def drain(items: AsyncPager[str], got: list[str]) -> None:
    async for item in items:
        got.append(item)


def assert_promise(got: list[str], before: list[str], after: list[str]) -> None:
    assert [k for k, n in Counter(got).items() if n > 1] == []
    assert set(before) & set(after) <= set(got)
    assert set(got) <= set(before) | set(after) | {f"new{i:03d}" for i in range(1, 100)}


@pytest.mark.parametrize("token_based", [False, True])
@pytest.mark.parametrize("prefetch", [0, 1, 4])
async def test_delete_on_page_one_shifts_an_unchanged_item_that_is_still_yielded_once(
    token_based: bool, prefetch: int
) -> None:
    listing = Listing(40, token_based=token_based)
    before = list(listing.items)
    shifted = before[10]
    listing.writers[1] = lambda lst: lst.items.remove(before[2])
    got = await pager(listing, prefetch=prefetch).collect()
    assert got.count(shifted) == 1
    assert_promise(got, before, listing.items)
    # Page 1 was read again after the change was seen.
    assert sum(1 for c in listing.calls if c["page"] == "1" and "page_token" not in c) == 2


@pytest.mark.parametrize("token_based", [False, True])
async def test_strict_mode_names_what_changed(token_based: bool) -> None:
    listing = Listing(40, token_based=token_based)
    listing.writers[1] = lambda lst: lst.push() and None
    got: list[str] = []
    with pytest.raises(ListingChangedError, match="total went 40 → 41 between page 1 and page 2"):
        await drain(pager(listing, on_change="raise"), got)
    assert got == [f"t{i:03d}" for i in reversed(range(30, 40))]  # only page 1, checked before the change


async def test_a_listing_that_changes_on_every_read_gives_up_after_the_bound() -> None:
    listing = Listing(40)
    for n in range(1, 100, 2):
        listing.writers[n + 1] = lambda lst: lst.push() and None  # after page 2 of every read
    got: list[str] = []
    with pytest.raises(ListingChangedError, match=f"{DEFAULT_MAX_REREADS + 1} reads in a row"):
        await drain(pager(listing, prefetch=0), got)
    assert len(got) == len(set(got))
    assert sum(1 for c in listing.calls if c["page"] == "1") == DEFAULT_MAX_REREADS + 1


@pytest.mark.parametrize("max_rereads", [0, 1])
async def test_max_rereads_bounds_the_reads(max_rereads: int) -> None:
    listing = Listing(40)
    for n in range(2, 100):
        listing.writers[n] = lambda lst: lst.push() and None
    with pytest.raises(ListingChangedError, match=f"{max_rereads + 1} reads in a row"):
        await pager(listing, prefetch=0, max_rereads=max_rereads).collect()
    assert sum(1 for c in listing.calls if c["page"] == "1") == max_rereads + 1


async def test_pages_after_a_reread_hold_only_new_items() -> None:
    listing = Listing(30)
    listing.writers[2] = lambda lst: lst.push() and None  # after page 2 was served
    pages = [page.items async for page in pager(listing, prefetch=0).pages()]
    flat = [item for items in pages for item in items]
    assert sorted(flat) == sorted(listing.items)
    assert len(flat) == len(set(flat))


async def test_collect_limit_still_stops_early() -> None:
    listing = Listing(1000)
    assert await pager(listing, prefetch=0).collect(limit=25) == listing.items[:25]
    assert len(listing.calls) == 3


def test_bad_on_change_is_rejected() -> None:
    with pytest.raises(ValidationError, match="on_change"):
        AsyncPager(Listing(1).fetch, {"per_page": "1", "page": "1"}, on_change="ignore")  # type: ignore[arg-type]


async def test_listing_without_total_still_deduplicates() -> None:
    async def fetch(q: Query) -> Page[str]:
        page = int(q["page"])
        items = {1: ("a", "b"), 2: ("b", "c")}[page]
        links = {"next": f"{API}?page=2&per_page=2"} if page == 1 else {}
        return Page(items=items, query=q, links=links)

    with pytest.raises(ListingChangedError, match="'b' came back on page 2"):
        await AsyncPager(fetch, {"per_page": "2", "page": "1"}, on_change="raise").collect()
    with pytest.raises(ListingChangedError, match="reads in a row"):
        await AsyncPager(fetch, {"per_page": "2", "page": "1"}).collect()


async def test_next_link_without_a_cursor_is_a_pagination_error() -> None:
    async def fetch(q: Query) -> Page[str]:
        return Page(items=("a",), query=q, links={"next": f"{API}?per_page=1"})

    with pytest.raises(PaginationError, match="carries no page or page_token"):
        await AsyncPager(fetch, {"per_page": "1", "page": "1"}).collect()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(min_value=0, max_value=60),
    per_page=st.integers(min_value=1, max_value=15),
    prefetch=st.integers(min_value=0, max_value=5),
    token_based=st.booleans(),
    changes=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=12), st.booleans(), st.integers(min_value=0, max_value=59)
        ),
        max_size=DEFAULT_MAX_REREADS,
    ),
)
def test_property_writers_never_break_the_promise(
    total: int, per_page: int, prefetch: int, token_based: bool, changes: list[tuple[int, bool, int]]
) -> None:
    """Up to DEFAULT_MAX_REREADS changes at any point: the listing ends, and keeps the promise."""

    def both(
        first: Callable[[Listing], object] | None, then: Callable[[Listing], None]
    ) -> Callable[[Listing], None]:
        def change(lst: Listing) -> None:
            if first is not None:
                first(lst)
            then(lst)

        return change

    def writer(push: bool, index: int) -> Callable[[Listing], None]:
        def change(lst: Listing) -> None:
            if push or not lst.items:
                lst.push()
            else:
                lst.items.pop(index % len(lst.items))

        return change

    async def run() -> tuple[list[str], list[str], list[str]]:
        listing = Listing(total, token_based=token_based)
        before = list(listing.items)
        for after_call, push, index in changes:
            listing.writers[after_call] = both(listing.writers.get(after_call), writer(push, index))
        got = await pager(listing, per_page, prefetch=prefetch).collect()
        return got, before, listing.items

    got, before, after = asyncio.run(run())
    assert_promise(got, before, after)


async def test_query_without_per_page_follows_links_and_still_checks_the_count() -> None:
    async def fetch(q: Query) -> Page[str]:
        page = int(q.get("page", "1"))
        links = {"next": f"{API}?page=2"} if page == 1 else {}
        return Page(items=(f"p{page}",), total=3, query=q, links=links)

    with pytest.raises(ListingChangedError, match="ended after 2 items, but total=3"):
        await AsyncPager(fetch, {"page": "1"}, on_change="raise").collect()
