"""Auto-pagination end to end: the SDK against FakeDOCR over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from docr_async import DOCRClient, ValidationError
from docr_async.testing import FakeDOCR, SeedSpec

from .helpers import client_for, other_tasks, running_fake

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BASE_TIME = 1_700_000_000.0

# One event loop for the module, so the seeded fake is shared by every test.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def big_fake() -> AsyncIterator[FakeDOCR]:
    """One registry with repositories of every interesting size (module-scoped: seeding is shared)."""
    async with running_fake(seed_spec=SeedSpec.empty()) as fake:
        fake.state.create_registry("example", None, "professional", fake.clock(), legacy=False)
        for total in (1, 199, 200, 201, 10_000):
            for i in range(total):
                fake.push("example", f"sizes/n{total}", f"t{i}", updated_at=BASE_TIME + i)
        for i in range(45):
            fake.push("example", f"team/svc-{i:02d}/app", "v1", updated_at=BASE_TIME + i)
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def client(big_fake: FakeDOCR) -> AsyncIterator[DOCRClient]:
    async with client_for(big_fake) as c:
        yield c


@pytest.mark.parametrize("total", [0, 1, 199, 200, 201, 10_000])
@pytest.mark.parametrize("per_page", [1, 20, 200])
async def test_tag_listing_is_exact(
    client: DOCRClient, big_fake: FakeDOCR, total: int, per_page: int
) -> None:
    if total == 0:
        big_fake.push("example", "sizes/n0", "gone")
        await client.tags.delete("gone", repository="sizes/n0", registry="example")
    tags = [t.tag async for t in client.tags.list(f"sizes/n{total}", registry="example", per_page=per_page)]
    assert len(tags) == total
    assert len(set(tags)) == total
    # Newest first, as the API orders tags.
    assert tags == [f"t{i}" for i in reversed(range(total))]


async def test_first_page_only_when_awaited(client: DOCRClient, big_fake: FakeDOCR) -> None:
    before = len(big_fake.requests)
    page = await client.tags.list("sizes/n201", registry="example", per_page=20)
    assert len(page.items) == 20
    assert page.total == 201
    assert page.last_page == 11
    assert page.rate_limit is not None
    assert page.request_id
    assert len(big_fake.requests) == before + 1


async def test_links_point_at_the_public_host_but_requests_stay_on_the_base_url(
    client: DOCRClient, big_fake: FakeDOCR
) -> None:
    page = await client.tags.list("sizes/n201", registry="example", per_page=100)
    assert page.links["next"].startswith("https://api.digitalocean.com/")
    before = len(big_fake.requests)
    assert len(await client.tags.list("sizes/n201", registry="example", per_page=100).collect()) == 201
    # Every page was served by the fake: nothing went to api.digitalocean.com.
    assert len(big_fake.requests) == before + 3


async def test_repositories_v2_token_cursor_nested_names_and_resume(client: DOCRClient) -> None:
    names = [r.name async for r in client.repositories.list("example", per_page=7)]
    nested = [n for n in names if n.startswith("team/")]
    assert len(nested) == 45
    assert len(names) == len(set(names))
    first = await client.repositories.list("example", per_page=7)
    assert first.next_page_token
    resumed = [
        r.name
        async for r in client.repositories.list("example", per_page=7, page_token=first.next_page_token)
    ]
    assert [r.name for r in first.items] + resumed == names
    # Nested names list their tags through %2F.
    assert [t.tag async for t in client.tags.list("team/svc-03/app", registry="example")] == ["v1"]


async def test_bad_page_token_is_a_typed_error(client: DOCRClient) -> None:
    from docr_async import BadRequestError

    with pytest.raises(BadRequestError) as info:
        await client.repositories.list("example", page_token="not-a-token!")
    assert info.value.status == 400


@pytest.mark.parametrize("per_page", [0, 201, -5])
async def test_bad_per_page_raises_before_sending(
    client: DOCRClient, big_fake: FakeDOCR, per_page: int
) -> None:
    before = len(big_fake.requests)
    with pytest.raises(ValidationError, match="per_page"):
        client.tags.list("sizes/n1", registry="example", per_page=per_page)
    assert len(big_fake.requests) == before


@pytest.mark.parametrize("listing", ["tags", "repositories"])
async def test_break_mid_listing_leaves_nothing_running(big_fake: FakeDOCR, listing: str) -> None:
    before = other_tasks()
    async with client_for(big_fake, prefetch=4) as c:
        pager = (
            c.tags.list("sizes/n10000", registry="example", per_page=20)
            if listing == "tags"
            else c.repositories.list("example", per_page=2)
        )
        count = 0
        async with aclosing(pager.pages()) as pages:
            async for _page in pages:
                count += 1
                if count == 3:
                    break
    assert other_tasks() == before


async def test_cancel_mid_listing_leaves_nothing_running(big_fake: FakeDOCR) -> None:
    before = other_tasks()
    started = asyncio.Event()

    async def consume(c: DOCRClient) -> None:
        async for _tag in c.tags.list("sizes/n10000", registry="example", per_page=1):
            started.set()

    async with client_for(big_fake, prefetch=4) as c:
        task = asyncio.create_task(consume(c))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert other_tasks() == before
