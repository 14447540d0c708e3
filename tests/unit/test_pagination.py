"""AsyncPager logic, without HTTP: an in-memory listing that pages like the DO API."""

from __future__ import annotations

import asyncio
import base64
import math
from contextlib import aclosing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docr_async import PaginationError, ValidationError
from docr_async.pagination import AsyncPager, Page, Query, validate_per_page

API = "https://api.digitalocean.com/v2/registries/r/repositories/a/tags"


class Listing:
    """Serves ``items`` by page number (DO links) or by opaque token; records what was asked."""

    def __init__(self, total: int, *, token_based: bool = False, gate: asyncio.Event | None = None) -> None:
        self.items = list(range(total))
        self.token_based = token_based
        self.calls: list[Query] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate = gate
        self.cancelled = 0

    def _link(self, page: int, per_page: int, token: str | None = None) -> str:
        link = f"{API}?page={page}&per_page={per_page}"
        return f"{link}&page_token={token}" if token else link

    async def fetch(self, q: Query) -> Page[int]:
        self.calls.append(dict(q))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        per_page = int(q["per_page"])
        if self.token_based and "page_token" in q:
            page = int(base64.b64decode(q["page_token"])) // per_page + 1
        else:
            page = int(q.get("page", 1))
        start = (page - 1) * per_page
        chunk = self.items[start : start + per_page]
        last = max(1, math.ceil(len(self.items) / per_page))
        links: dict[str, str] = {}
        if page < last:
            token = base64.b64encode(str(start + per_page).encode()).decode() if self.token_based else None
            links["next"] = self._link(page + 1, per_page, token)
            links["last"] = self._link(last, per_page)
        if page > 1:
            links["first"] = self._link(1, per_page)
            links["prev"] = self._link(page - 1, per_page)
        return Page(items=tuple(chunk), total=len(self.items), query=q, links=links)


def pager(listing: Listing, per_page: int, **kwargs: Any) -> AsyncPager[int]:
    return AsyncPager(
        listing.fetch,
        {"per_page": str(per_page), "page": "1"},
        token_based=listing.token_based,
        **kwargs,
    )


@pytest.mark.parametrize("total", [0, 1, 199, 200, 201, 1000])
@pytest.mark.parametrize("per_page", [1, 20, 200])
@pytest.mark.parametrize(("token_based", "prefetch"), [(False, 0), (False, 4), (True, 0), (True, 2)])
async def test_every_item_exactly_once_in_order(
    total: int, per_page: int, token_based: bool, prefetch: int
) -> None:
    listing = Listing(total, token_based=token_based)
    items = [i async for i in pager(listing, per_page, prefetch=prefetch)]
    assert items == list(range(total))
    assert len(listing.calls) == max(1, math.ceil(total / per_page))


async def test_await_gives_first_page_only() -> None:
    listing = Listing(450)
    page = await pager(listing, 200)
    assert page.items == tuple(range(200))
    assert page.total == 450
    assert page.has_next
    assert page.last_page == 3
    assert len(listing.calls) == 1


async def test_window_prefetch_is_bounded_and_ordered() -> None:
    listing = Listing(100)
    items = [i async for i in pager(listing, 5, prefetch=4)]
    assert items == list(range(100))
    assert listing.max_in_flight == 4
    # Page numbers requested: 1, then 2..20 exactly once each.
    assert sorted(int(c["page"]) for c in listing.calls) == list(range(1, 21))


async def test_next_link_query_is_followed_not_its_host() -> None:
    listing = Listing(30, token_based=True)
    async for _ in pager(listing, 10):
        pass
    tokens = [c.get("page_token") for c in listing.calls]
    assert tokens[0] is None
    assert all(t for t in tokens[1:])
    # Only the query of the absolute link is reused; the fetcher decides the host.
    assert all(set(c) <= {"page", "per_page", "page_token"} for c in listing.calls)


async def test_resume_from_saved_token() -> None:
    listing = Listing(50, token_based=True)
    first = await pager(listing, 20)
    saved = first.next_page_token
    assert saved is not None
    resumed = AsyncPager(
        listing.fetch, {"per_page": "20", "page": "1", "page_token": saved}, token_based=True
    )
    assert [i async for i in resumed] == list(range(20, 50))


async def test_collect_with_limit_stops_early() -> None:
    listing = Listing(1000)
    got = await pager(listing, 10, prefetch=0).collect(limit=25)
    assert got == list(range(25))
    assert len(listing.calls) == 3


async def test_repeated_next_link_raises() -> None:
    async def fetch(q: Query) -> Page[int]:
        return Page(items=(1,), total=10, query=q, links={"next": f"{API}?page=2&per_page=1"})

    with pytest.raises(PaginationError, match="same next page twice"):
        await AsyncPager(fetch, {"per_page": "1", "page": "1"}, prefetch=0).collect()


async def test_repeated_token_raises() -> None:
    async def fetch(q: Query) -> Page[int]:
        return Page(items=(1,), query=q, links={"next": f"{API}?page_token=abc&per_page=1"})

    with pytest.raises(PaginationError, match="same next page twice"):
        await AsyncPager(fetch, {"per_page": "1", "page": "1"}, token_based=True).collect()


async def test_empty_page_with_next_link_raises() -> None:
    async def fetch(q: Query) -> Page[int]:
        page = int(q["page"])
        return Page(items=(), total=5, query=q, links={"next": f"{API}?page={page + 1}&per_page=1"})

    with pytest.raises(PaginationError, match="empty but links"):
        await AsyncPager(fetch, {"per_page": "1", "page": "1"}).collect()


async def test_max_pages_guard() -> None:
    listing = Listing(100)
    with pytest.raises(PaginationError, match="more than 5 pages"):
        await pager(listing, 10, prefetch=0, max_pages=5).collect()
    listing = Listing(100)
    with pytest.raises(PaginationError, match="more than 5 pages"):
        await pager(listing, 10, prefetch=4, max_pages=5).collect()


async def test_listing_that_grows_while_read_is_followed_to_the_end() -> None:
    listing = Listing(40)

    async def fetch(q: Query) -> Page[int]:
        page = await listing.fetch(q)
        if len(listing.calls) == 1:
            listing.items.extend(range(40, 45))  # pushed while we read: a 5th page appears
        return page

    # The total changed after page 1: the listing is re-read, nothing is yielded twice.
    items = await AsyncPager(fetch, {"per_page": "10", "page": "1"}, prefetch=4).collect()
    assert items == list(range(45))


async def test_listing_that_shrinks_while_read_ends_cleanly() -> None:
    listing = Listing(40)

    async def fetch(q: Query) -> Page[int]:
        if q["page"] != "1":
            del listing.items[20:]
        return await listing.fetch(q)

    items = await AsyncPager(fetch, {"per_page": "10", "page": "1"}, prefetch=4).collect()
    assert items == list(range(20))


def _other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


@pytest.mark.parametrize("token_based", [False, True])
async def test_break_mid_listing_leaves_no_task(token_based: bool) -> None:
    listing = Listing(1000, token_based=token_based)
    before = _other_tasks()
    async with aclosing(pager(listing, 10, prefetch=4).pages()) as pages:
        async for page in pages:
            if page.page == 3:
                break
    assert _other_tasks() == before
    assert listing.in_flight == 0


async def test_cancel_while_prefetches_are_in_flight() -> None:
    gate = asyncio.Event()
    listing = Listing(1000, gate=gate)
    started = asyncio.Event()

    async def consume() -> None:
        async for i in pager(listing, 10, prefetch=4):
            if i == 0:
                started.set()

    before = _other_tasks()
    gate.set()
    task = asyncio.create_task(consume())
    await started.wait()
    gate.clear()  # every further fetch now blocks until cancelled
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _other_tasks() == before
    assert listing.in_flight == 0
    assert listing.cancelled >= 1


async def test_error_in_a_prefetched_page_propagates_and_cancels_the_rest() -> None:
    listing = Listing(100)

    async def fetch(q: Query) -> Page[int]:
        if q["page"] == "3":
            raise RuntimeError("boom")
        return await listing.fetch(q)

    before = _other_tasks()
    seen: list[int] = []

    async def consume() -> None:
        async for i in AsyncPager(fetch, {"per_page": "10", "page": "1"}, prefetch=4):
            seen.append(i)

    with pytest.raises(RuntimeError, match="boom"):
        await consume()
    assert seen == list(range(20))
    assert _other_tasks() == before


@pytest.mark.parametrize("bad", [0, 201, -1, "20", 2.5, True, None])
def test_per_page_validation(bad: object) -> None:
    with pytest.raises(ValidationError, match="per_page"):
        validate_per_page(bad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(min_value=0, max_value=700),
    per_page=st.integers(min_value=1, max_value=200),
    prefetch=st.integers(min_value=0, max_value=6),
    token_based=st.booleans(),
)
def test_property_any_total_any_page_size(
    total: int, per_page: int, prefetch: int, token_based: bool
) -> None:
    async def run() -> list[int]:
        listing = Listing(total, token_based=token_based)
        return await pager(listing, per_page, prefetch=prefetch).collect()

    assert asyncio.run(run()) == list(range(total))
