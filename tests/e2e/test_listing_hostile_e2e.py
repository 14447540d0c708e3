"""Listings against hostile servers on 127.0.0.1: lying totals, truncation, per_page in links, duplicates.

Each server is a tiny aiohttp.web app that pages a list of names the way DigitalOcean does (tags by
page number, repositoriesV2 by page_token) and then misbehaves in one precise way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import attrs
import pytest
from aiohttp import web

from docr_async import DOCRClient, ListingChangedError, PaginationError, RateLimiter
from docr_async.pagination import DEFAULT_MAX_REREADS, OnChange

from .helpers import FAST_RETRY

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

TOKEN = "dop_v1_" + "0" * 64
PUBLIC = "https://api.digitalocean.com"
TAGS = "/v2/registries/example/repositories/app/tags"
REPOS = "/v2/registries/example/repositoriesV2"
READS = DEFAULT_MAX_REREADS + 1


@attrs.define
class Served:
    """What a hostile page handler decides: the names on the page, ``meta.total`` and the links."""

    names: list[str]
    total: int | None
    links: dict[str, str]


# (read number, page, per_page, page_token) -> Served
Behaviour = Any


@attrs.define
class Hostile:
    """Serves ``names`` like DigitalOcean, with ``behaviour`` free to alter any page."""

    names: list[str]
    behaviour: Callable[[Hostile, int, int, str | None, Served], Served] | None = None
    queries: list[dict[str, str]] = attrs.field(factory=list)
    first_pages: int = 0

    def honest(self, path: str, page: int, per_page: int, token: str | None) -> Served:
        start = int(token) if token else (page - 1) * per_page
        chunk = self.names[start : start + per_page]
        last = max(1, math.ceil(len(self.names) / per_page))
        links: dict[str, str] = {}
        if start + per_page < len(self.names):
            query: dict[str, Any] = {"page": page + 1, "per_page": per_page}
            if path == REPOS:
                query["page_token"] = str(start + per_page)
            links["next"] = f"{PUBLIC}{path}?{urlencode(query)}"
            links["last"] = f"{PUBLIC}{path}?{urlencode({'page': last, 'per_page': per_page})}"
        return Served(chunk, len(self.names), links)

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.queries.append(query)
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "20"))
        token = query.get("page_token")
        if page == 1 and token is None:
            self.first_pages += 1
        served = self.honest(request.path, page, per_page, token)
        if self.behaviour is not None:
            served = self.behaviour(self, page, per_page, token, served)
        if request.path == TAGS:
            key = "tags"
            items = [{"registry_name": "example", "repository": "app", "tag": n} for n in served.names]
        else:
            key = "repositories"
            items = [{"registry_name": "example", "name": n} for n in served.names]
        body: dict[str, Any] = {key: items, "links": {"pages": served.links} if served.links else {}}
        if served.total is not None:
            body["meta"] = {"total": served.total}
        return web.json_response(body)


@asynccontextmanager
async def serving(hostile: Hostile, **kwargs: Any) -> AsyncIterator[DOCRClient]:
    app = web.Application()
    app.router.add_get(TAGS, hostile.handle)
    app.router.add_get(REPOS, hostile.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        kwargs.setdefault("rate_limiter", RateLimiter(enabled=False))
        async with DOCRClient(TOKEN, base_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY, **kwargs) as c:
            yield c
    finally:
        await runner.cleanup()


async def drain(pager: Any, seen: list[str]) -> None:
    async for item in pager:
        seen.append(getattr(item, "tag", None) or item.name)


def names(n: int) -> list[str]:
    return [f"t{i:04d}" for i in range(n)]


async def tags(c: DOCRClient, mode: OnChange = "reread", per_page: int = 10) -> list[str]:
    return [t.tag async for t in c.tags.list("app", registry="example", per_page=per_page, on_change=mode)]


async def repos(c: DOCRClient, mode: OnChange = "reread", per_page: int = 10) -> list[str]:
    return [r.name async for r in c.repositories.list("example", per_page=per_page, on_change=mode)]


# ---- meta.total changes between pages ---------------------------------------------------------------


def total_grows_after_page_one(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
    del per_page
    if page > 1 or token:
        s.total = len(h.names) + 1
    return s


@pytest.mark.parametrize("read", [tags, repos])
async def test_total_that_changes_between_pages_raises_in_strict_mode(read: Any) -> None:
    hostile = Hostile(names(40), total_grows_after_page_one)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match="total went 40 → 41 between page 1 and page 2"):
            await read(c, "raise")
    assert hostile.first_pages == 1


@pytest.mark.parametrize("read", [tags, repos])
async def test_total_that_always_changes_is_reread_a_bounded_number_of_times(read: Any) -> None:
    hostile = Hostile(names(40), total_grows_after_page_one)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match=f"{READS} reads in a row; last: total went 40 → 41"):
            await read(c)
    assert hostile.first_pages == READS


@pytest.mark.parametrize("read", [tags, repos])
async def test_total_that_changes_once_is_reread_and_every_item_comes_once(read: Any) -> None:
    def once(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
        return total_grows_after_page_one(h, page, per_page, token, s) if h.first_pages == 1 else s

    hostile = Hostile(names(40), once)
    async with serving(hostile) as c:
        assert await read(c) == names(40)
    assert hostile.first_pages == 2


# ---- truncation: total=600, page 2 empty and no next link --------------------------------------------


def empty_page_two(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
    del h, per_page
    if page == 2 or token:
        return Served([], s.total, {})
    return s


@pytest.mark.parametrize("prefetch", [0, 4])
async def test_empty_page_before_the_end_is_never_silent(prefetch: int) -> None:
    hostile = Hostile(names(600), empty_page_two)
    async with serving(hostile, prefetch=prefetch) as c:
        with pytest.raises(
            ListingChangedError, match="page 2 has 0 items, expected 200: total=600 makes 3 pages"
        ):
            await tags(c, "raise", per_page=200)
        assert hostile.first_pages == 1
        with pytest.raises(ListingChangedError, match=f"{READS} reads in a row"):
            await tags(c, per_page=200)
    assert hostile.first_pages == 1 + READS


async def test_token_listing_that_ends_short_of_its_total_is_never_silent() -> None:
    hostile = Hostile(names(600), empty_page_two)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match="ended after 200 items, but total=600"):
            await repos(c, "raise", per_page=200)
        with pytest.raises(ListingChangedError, match=f"{READS} reads in a row"):
            await repos(c, per_page=200)


async def test_short_last_page_is_truncation() -> None:
    def short(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
        del h, per_page, token
        if page == 3:
            s.names = s.names[:100]
        return s

    hostile = Hostile(names(600), short)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match=r"the last page \(3\) has 100 items, expected 200"):
            await tags(c, "raise", per_page=200)


async def test_last_page_without_next_link_before_the_end_is_truncation() -> None:
    def no_next(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
        del h, per_page, token
        if page == 2:
            s.links = {}
        return s

    hostile = Hostile(names(30), no_next)
    async with serving(hostile, prefetch=0) as c:
        with pytest.raises(ListingChangedError, match="page 2 has no next link, but total=30 makes 3 pages"):
            await tags(c, "raise")


async def test_last_link_that_disagrees_with_the_total_is_inconsistent() -> None:
    def lying_last(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
        del h, page, token
        if "last" in s.links:
            s.links["last"] = f"{PUBLIC}{TAGS}?page=9&per_page={per_page}"
        return s

    hostile = Hostile(names(30), lying_last)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match="the last link says page 9, but total=30"):
            await tags(c, "raise")


# ---- links are hints: only the cursor is taken ----------------------------------------------------------


def per_page_one_in_links(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
    del h, page, per_page, token
    if "next" in s.links:
        s.links["next"] = s.links["next"].replace("per_page=200", "per_page=1") + "&name=evil&page_size=1"
    return s


@pytest.mark.parametrize("prefetch", [0, 4])
@pytest.mark.parametrize("read", [tags, repos])
async def test_next_link_per_page_is_ignored(read: Any, prefetch: int) -> None:
    hostile = Hostile(names(800), per_page_one_in_links)
    async with serving(hostile, prefetch=prefetch) as c:
        got = await read(c, "raise", per_page=200)
    assert got == names(800)
    assert len(hostile.queries) == 4
    assert all(q["per_page"] == "200" for q in hostile.queries)
    assert all(set(q) <= {"page", "per_page", "page_token"} for q in hostile.queries)


# ---- duplicates --------------------------------------------------------------------------------------


def repeat_last_of_previous_page(
    h: Hostile, page: int, per_page: int, token: str | None, s: Served
) -> Served:
    start = int(token) if token else (page - 1) * per_page
    if start > 0 and s.names:
        s.names = [h.names[start - 1], *s.names[:-1]]  # same total, same page size: only a key repeats
    return s


@pytest.mark.parametrize("read", [tags, repos])
async def test_duplicate_item_across_pages_raises_in_strict_mode(read: Any) -> None:
    hostile = Hostile(names(30), repeat_last_of_previous_page)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match="'t0009' came back on page 2"):
            await read(c, "raise")


@pytest.mark.parametrize("read", [tags, repos])
async def test_duplicate_items_are_never_yielded_twice(read: Any) -> None:
    hostile = Hostile(names(30), repeat_last_of_previous_page)
    seen: list[str] = []
    async with serving(hostile) as c:
        pager = (
            c.tags.list("app", registry="example", per_page=10)
            if read is tags
            else c.repositories.list("example", per_page=10)
        )
        with pytest.raises(ListingChangedError, match=f"{READS} reads in a row"):
            await drain(pager, seen)
    assert len(seen) == len(set(seen))
    assert hostile.first_pages == READS


async def test_duplicate_on_one_page_is_detected() -> None:
    def twice(h: Hostile, page: int, per_page: int, token: str | None, s: Served) -> Served:
        del h, per_page, token
        if page == 1:
            s.names[1] = s.names[0]
        return s

    hostile = Hostile(names(30), twice)
    async with serving(hostile) as c:
        with pytest.raises(ListingChangedError, match="page 1 lists the same item twice"):
            await tags(c, "raise")


async def test_listing_changed_error_is_a_pagination_error() -> None:
    hostile = Hostile(names(600), empty_page_two)
    async with serving(hostile) as c:
        with pytest.raises(PaginationError):
            await tags(c, "raise", per_page=200)
