"""The response-size cap: a huge body is refused with a typed error, without buffering it all."""

from __future__ import annotations

import json

import pytest
from aioresponses import aioresponses

from docr_async import NO_RETRY, ConfigurationError, DOCRClient, InvalidResponseError, RateLimiter

TOKEN = "dop_v1_" + "c" * 64
URL = "https://api.digitalocean.com/v2/registries/example"


def small_client() -> DOCRClient:
    return DOCRClient(TOKEN, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False), max_response_bytes=1000)


@pytest.mark.parametrize("declare_length", [True, False])
@pytest.mark.parametrize("status", [200, 500])
async def test_body_over_the_cap_is_refused(declare_length: bool, status: int) -> None:
    body = json.dumps({"registry": {"name": "example", "padding": "x" * 5000}})
    headers = {"x-request-id": "req-huge"}
    if declare_length:
        headers["Content-Length"] = str(len(body))
    with aioresponses() as mocked:
        mocked.get(URL, status=status, body=body, headers=headers)
        async with small_client() as client:
            with pytest.raises(InvalidResponseError) as info:
                await client.registries.get("example")
    assert info.value.status == status
    assert info.value.request_id == "req-huge"
    assert "larger than 1000 bytes" in info.value.message


async def test_body_under_the_cap_is_read() -> None:
    with aioresponses() as mocked:
        mocked.get(URL, payload={"registry": {"name": "example"}})
        async with small_client() as client:
            assert (await client.registries.get("example")).name == "example"


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_cap_must_be_positive(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        DOCRClient(TOKEN, max_response_bytes=bad)  # type: ignore[arg-type]
