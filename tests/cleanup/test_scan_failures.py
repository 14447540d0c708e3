"""Several repository listings failing at once: every error reaches the caller (issue #12).

The hostile proxy (barrier_proxy.py) holds the failing listings until all have arrived and fails
them in the same instant, so the scan's task group really collects several errors.
"""

from __future__ import annotations

import pytest
from barrier_proxy import BarrierProxy

from docr_async import DOCRClient, ServerError
from docr_async._retry import RetryPolicy
from docr_async.cleanup import RetentionPolicy, build_plan
from docr_async.cleanup.usage import disk_usage
from docr_async.testing import FakeDOCR, SeedSpec


async def _names(client: DOCRClient) -> list[str]:
    return sorted([r.name async for r in client.repositories.list("example")])


@pytest.mark.parametrize("scan", ["du", "plan"])
async def test_two_failed_listings_raise_both_errors_as_a_group(scan: str) -> None:
    async with FakeDOCR(seed_spec=SeedSpec(repos=3, tags=2, untagged=0)) as fake:
        async with DOCRClient(token=fake.token, base_url=fake.url) as plain:
            names = await _names(plain)
        fail = set(names[:2])
        async with BarrierProxy(fake.url, fail) as proxy:
            retry = RetryPolicy(max_attempts=1)
            async with DOCRClient(token=fake.token, base_url=proxy.url, retry=retry) as client:
                run = (
                    disk_usage(client, "example", concurrency=4)
                    if scan == "du"
                    else build_plan(client, "example", RetentionPolicy(keep_last=1), concurrency=4)
                )
                with pytest.raises(ExceptionGroup) as caught:
                    await run
    errors = caught.value.exceptions
    assert len(errors) == 2, errors
    assert all(isinstance(e, ServerError) and e.status == 500 for e in errors)
    assert {e.request_id for e in errors if isinstance(e, ServerError)} == {f"req-{name}" for name in fail}
    assert sorted(proxy.failed) == sorted(fail)


async def test_one_failed_listing_is_raised_as_itself() -> None:
    async with FakeDOCR(seed_spec=SeedSpec(repos=3, tags=2, untagged=0)) as fake:
        async with DOCRClient(token=fake.token, base_url=fake.url) as plain:
            victim = (await _names(plain))[0]
        async with BarrierProxy(fake.url, {victim}) as proxy:
            retry = RetryPolicy(max_attempts=1)
            async with DOCRClient(token=fake.token, base_url=proxy.url, retry=retry) as client:
                with pytest.raises(ServerError) as caught:
                    await disk_usage(client, "example")
    assert caught.value.request_id == f"req-{victim}"
