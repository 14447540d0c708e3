"""The ``page=`` argument of page-numbered listings."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from docr_async import NO_RETRY, DOCRClient, RateLimiter, ValidationError

TOKEN = "dop_v1_" + "d" * 64
BASE = "https://api.digitalocean.com/v2/registries/example"


def client() -> DOCRClient:
    return DOCRClient(TOKEN, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False))


@pytest.mark.parametrize(
    ("call", "url"),
    [
        (
            lambda c: c.tags.list("team/api", registry="example", per_page=5, page=3),
            f"{BASE}/repositories/team%2Fapi/tags",
        ),
        (
            lambda c: c.manifests.list("app", registry="example", per_page=5, page=3),
            f"{BASE}/repositories/app/digests",
        ),
        (lambda c: c.garbage_collections.list("example", per_page=5, page=3), f"{BASE}/garbage-collections"),
        (
            lambda c: c.legacy.repositories.list_v1("example", per_page=5, page=3),
            "https://api.digitalocean.com/v2/registry/example/repositories",
        ),
    ],
)
async def test_listing_starts_at_the_requested_page(call, url) -> None:  # type: ignore[no-untyped-def]
    with aioresponses() as mocked:
        mocked.get(
            f"{url}?page=3&per_page=5",
            payload={
                "tags": [],
                "manifests": [],
                "garbage_collections": [],
                "repositories": [],
                "meta": {"total": 10},
            },
        )
        async with client() as c:
            page = await call(c)
    assert page.page == 3
    assert page.items == ()


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5, True])
def test_bad_page_raises_before_sending(bad: object) -> None:
    c = client()
    with pytest.raises(ValidationError, match="page"):
        c.tags.list("app", registry="example", page=bad)  # type: ignore[arg-type]
