"""Listings read while another client pushes and deletes: FakeDOCR on 127.0.0.1, every paged listing.

The change is injected at a fixed point: a FakeDOCR response hook fires once, right after page N of
the listing was served (no sleeps). The promise checked: an item that exists unchanged for the whole
listing is yielded exactly once; an item added or removed during it is yielded at most once. The
strict mode raises ``ListingChangedError`` instead.

GC history has no delete (the API cannot remove a history entry): its writer starts collections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from yarl import URL

from docr_async import DOCRClient, ListingChangedError
from docr_async.pagination import AsyncPager
from docr_async.testing import FakeDOCR, GCConfig, ManualClock, SeedSpec

from .helpers import client_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp import web

REG = "example"
REPO = "app"
BASE_TIME = 1_700_000_000.0
TOTAL = 40
PER_PAGE = 10


@attrs.define
class Listing:
    """One paged listing: how to seed it, read it, and change it behind the reader's back."""

    name: str
    legacy: bool
    suffix: str  # the listing's path ends with this
    seed: Callable[[FakeDOCR], None]
    keys: Callable[[FakeDOCR], list[str]]  # the current keys, in API order
    read: Callable[..., AsyncPager[Any]]  # (client, on_change); a bad on_change is tested too
    key: Callable[[Any], str]
    add: Callable[[FakeDOCR], object]
    remove: Callable[[FakeDOCR, str], None] | None


def _seed_tags(fake: FakeDOCR) -> None:
    for i in range(TOTAL):
        fake.push(REG, REPO, f"t{i:02d}", updated_at=BASE_TIME + i)


def _seed_repos(fake: FakeDOCR) -> None:
    for i in range(TOTAL):
        fake.push(REG, f"r{i:02d}", "v1", updated_at=BASE_TIME + i)


def _seed_gcs(fake: FakeDOCR) -> None:
    for _ in range(TOTAL):
        _start_gc(fake)


def _start_gc(fake: FakeDOCR) -> None:
    fake.state.start_gc(REG, None, fake.clock())  # zero-step GCs finish at once
    assert isinstance(fake.clock, ManualClock)
    fake.clock.advance(1)


def _tags(c: DOCRClient, legacy: bool) -> Any:
    return c.legacy.tags if legacy else c.tags


def _manifests(c: DOCRClient, legacy: bool) -> Any:
    return c.legacy.manifests if legacy else c.manifests


def _gcs(c: DOCRClient, legacy: bool) -> Any:
    return c.legacy.garbage_collections if legacy else c.garbage_collections


def _repos(c: DOCRClient, legacy: bool) -> Any:
    return c.legacy.repositories if legacy else c.repositories


def _listings() -> list[Listing]:
    out: list[Listing] = []
    for legacy in (False, True):
        out.append(
            Listing(
                name="tags",
                legacy=legacy,
                suffix=f"/{REPO}/tags",
                seed=_seed_tags,
                keys=lambda f: [t.name for t in f.state.registry(REG).repository(REPO).sorted_tags()],
                read=lambda c, mode, lg=legacy: _tags(c, lg).list(
                    REPO, registry=REG, per_page=PER_PAGE, on_change=mode
                ),
                key=lambda t: t.tag,
                add=lambda f: f.push(REG, REPO, "new", updated_at=BASE_TIME + 10_000) and None,
                remove=lambda f, k: f.state.delete_tag(REG, REPO, k, f.clock()),
            )
        )
        out.append(
            Listing(
                name="manifests",
                legacy=legacy,
                suffix=f"/{REPO}/digests",
                seed=_seed_tags,
                keys=lambda f: [m.digest for m in f.state.registry(REG).repository(REPO).sorted_manifests()],
                read=lambda c, mode, lg=legacy: _manifests(c, lg).list(
                    REPO, registry=REG, per_page=PER_PAGE, on_change=mode
                ),
                key=lambda m: m.digest,
                add=lambda f: f.push(REG, REPO, "new", updated_at=BASE_TIME + 10_000) and None,
                remove=lambda f, k: f.state.delete_manifest(REG, REPO, k, f.clock()),
            )
        )
        out.append(
            Listing(
                name="garbage_collections",
                legacy=legacy,
                suffix="/garbage-collections",
                seed=_seed_gcs,
                keys=lambda f: [g.uuid for g in f.state.gc_history(REG, f.clock())],
                read=lambda c, mode, lg=legacy: _gcs(c, lg).list(REG, per_page=PER_PAGE, on_change=mode),
                key=lambda g: g.uuid,
                add=_start_gc,
                remove=None,
            )
        )
        out.append(
            Listing(
                name="repositories",
                legacy=legacy,
                suffix="/repositoriesV2",
                seed=_seed_repos,
                keys=lambda f: f.state.registry(REG).sorted_repository_names(),
                read=lambda c, mode, lg=legacy: _repos(c, lg).list(REG, per_page=PER_PAGE, on_change=mode),
                key=lambda r: r.name,
                add=lambda f: f.push(REG, "a-new", "v1") and None,  # sorts before every r##
                remove=lambda f, k: f.state.delete_repository(REG, k, f.clock()),
            )
        )
    out.append(
        Listing(
            name="repositories_v1",
            legacy=True,
            suffix="/repositories",
            seed=_seed_repos,
            keys=lambda f: f.state.registry(REG).sorted_repository_names(),
            read=lambda c, mode: c.legacy.repositories.list_v1(REG, per_page=PER_PAGE, on_change=mode),
            key=lambda r: r.name,
            add=lambda f: f.push(REG, "a-new", "v1") and None,
            remove=lambda f, k: f.state.delete_repository(REG, k, f.clock()),
        )
    )
    return out


LISTINGS = _listings()
IDS = [f"{'legacy-' if x.legacy else ''}{x.name}" for x in LISTINGS]


@asynccontextmanager
async def seeded(listing: Listing) -> AsyncIterator[FakeDOCR]:
    async with FakeDOCR(seed_spec=SeedSpec.empty(), clock=ManualClock(), gc=GCConfig(step_seconds=0)) as fake:
        fake.state.create_registry(REG, None, "professional", fake.clock(), legacy=listing.legacy)
        listing.seed(fake)
        assert len(listing.keys(fake)) == TOTAL
        yield fake


def after_page(fake: FakeDOCR, listing: Listing, number: int, change: Callable[[], object]) -> list[int]:
    """Run ``change`` once, right after page ``number`` of ``listing`` was served; count page-1 reads."""
    fired: list[int] = []
    page_one: list[int] = []

    def hook(request: web.Request, response: web.Response, body: bytes) -> None:
        del response, body
        if request.method != "GET" or not request.path.endswith(listing.suffix):
            return
        page = URL(str(request.rel_url)).query.get("page", "1")
        if page == "1" and "page_token" not in request.query:
            page_one.append(1)
        if page == str(number) and not fired:
            fired.append(1)
            change()

    fake.response_hooks.append(hook)
    return page_one


def check_promise(got: list[str], before: list[str], after: list[str]) -> None:
    counts = Counter(got)
    assert [k for k, n in counts.items() if n > 1] == []  # nothing yielded twice
    unchanged = set(before) & set(after)
    assert unchanged <= set(got)  # every unchanged item yielded (once, by the line above)
    assert set(got) <= set(before) | set(after)  # nothing invented


async def read_all(listing: Listing, fake: FakeDOCR, mode: str, **client_kwargs: Any) -> list[str]:
    async with client_for(fake, **client_kwargs) as c:
        return [listing.key(item) async for item in listing.read(c, mode)]


@pytest.mark.parametrize("prefetch", [0, 4])
@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_push_after_page_one_yields_every_item_once(listing: Listing, prefetch: int) -> None:
    async with seeded(listing) as fake:
        before = listing.keys(fake)
        page_one = after_page(fake, listing, 1, lambda: listing.add(fake))
        got = await read_all(listing, fake, "reread", prefetch=prefetch)
        after = listing.keys(fake)
    assert len(after) == TOTAL + 1
    check_promise(got, before, after)
    assert len(page_one) == 2  # the total changed: read once more, consistently


@pytest.mark.parametrize("prefetch", [0, 4])
@pytest.mark.parametrize(
    "listing",
    [x for x in LISTINGS if x.remove],
    ids=[i for x, i in zip(LISTINGS, IDS, strict=True) if x.remove],
)
async def test_delete_before_the_read_position_still_yields_the_shifted_item_once(
    listing: Listing, prefetch: int
) -> None:
    assert listing.remove is not None
    remove = listing.remove
    async with seeded(listing) as fake:
        before = listing.keys(fake)
        shifted = before[PER_PAGE]  # first item of page 2: the delete moves it onto page 1
        page_one = after_page(fake, listing, 1, lambda: remove(fake, before[2]))
        got = await read_all(listing, fake, "reread", prefetch=prefetch)
        after = listing.keys(fake)
    assert after.index(shifted) == PER_PAGE - 1
    assert got.count(shifted) == 1
    check_promise(got, before, after)
    # The deleted item was on page 1, read before it went: yielded, once.
    assert sorted(got) == sorted([*after, before[2]])
    assert len(page_one) == 2


@pytest.mark.parametrize(
    "listing",
    [x for x in LISTINGS if x.remove],
    ids=[i for x, i in zip(LISTINGS, IDS, strict=True) if x.remove],
)
async def test_delete_ahead_and_push_after_page_two(listing: Listing) -> None:
    assert listing.remove is not None
    remove = listing.remove
    async with seeded(listing) as fake:
        before = listing.keys(fake)

        def change() -> None:
            remove(fake, before[3 * PER_PAGE + 1])  # on page 4, not read yet
            listing.add(fake)

        after_page(fake, listing, 2, change)
        got = await read_all(listing, fake, "reread")
        after = listing.keys(fake)
    check_promise(got, before, after)
    assert before[3 * PER_PAGE + 1] not in got  # deleted before anyone could read it


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_strict_mode_raises_when_an_item_is_pushed_between_pages(listing: Listing) -> None:
    async with seeded(listing) as fake:
        after_page(fake, listing, 1, lambda: listing.add(fake))
        with pytest.raises(ListingChangedError, match=f"total went {TOTAL} → {TOTAL + 1}"):
            await read_all(listing, fake, "raise")


@pytest.mark.parametrize(
    "listing",
    [x for x in LISTINGS if x.remove],
    ids=[i for x, i in zip(LISTINGS, IDS, strict=True) if x.remove],
)
async def test_strict_mode_raises_when_an_item_is_deleted_between_pages(listing: Listing) -> None:
    assert listing.remove is not None
    remove = listing.remove
    async with seeded(listing) as fake:
        before = listing.keys(fake)
        after_page(fake, listing, 1, lambda: remove(fake, before[2]))
        with pytest.raises(ListingChangedError, match=f"total went {TOTAL} → {TOTAL - 1}"):
            await read_all(listing, fake, "raise")


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_unchanged_listing_is_read_once_in_either_mode(listing: Listing) -> None:
    async with seeded(listing) as fake:
        before = listing.keys(fake)
        page_one = after_page(fake, listing, 99, lambda: None)
        assert await read_all(listing, fake, "raise") == before
        assert await read_all(listing, fake, "reread") == before
    assert len(page_one) == 2


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_bad_on_change_is_rejected_before_any_request(listing: Listing) -> None:
    from docr_async import ValidationError

    async with seeded(listing) as fake, client_for(fake) as c:
        before = len(fake.requests)
        with pytest.raises(ValidationError, match="on_change"):
            listing.read(c, "ignore")
        assert len(fake.requests) == before
