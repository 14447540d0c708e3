"""Helpers for the FakeDOCR tests: a raw aiohttp client that knows the fake's URL and token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
import pytest

from docr_async.testing import DEFAULT_PUBLIC_URL, FakeDOCR, ManualClock, SeedSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

_DEFAULT = object()


@attrs.frozen
class Result:
    """A finished response: status, headers, raw body and parsed JSON (if any)."""

    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header_int(self, name: str) -> int:
        return int(self.headers[name])


class Api:
    """Minimal raw client for the fake (no SDK involved)."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeDOCR) -> None:
        self.session = session
        self.fake = fake

    def url(self, path_or_link: str) -> str:
        """Accept a path or an absolute pagination link on the public URL."""
        if path_or_link.startswith(DEFAULT_PUBLIC_URL):
            path_or_link = path_or_link[len(DEFAULT_PUBLIC_URL) :]
        return self.fake.url + path_or_link

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _DEFAULT,
        data: bytes | None = None,
        token: Any = _DEFAULT,
        headers: dict[str, str] | None = None,
    ) -> Result:
        hdrs = dict(headers or {})
        tok = self.fake.token if token is _DEFAULT else token
        if tok is not None:
            hdrs["Authorization"] = f"Bearer {tok}"
        kwargs: dict[str, Any] = {"headers": hdrs}
        if json_body is not _DEFAULT:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.url(path), **kwargs) as resp:
            return Result(resp.status, resp.headers, await resp.read())

    async def get(self, path: str, **kwargs: Any) -> Result:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Result:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Result:
        return await self.call("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Result:
        return await self.call("DELETE", path, **kwargs)

    async def collect(self, path: str, key: str) -> list[Any]:
        """Follow ``links.pages.next`` to the end and return every item."""
        items: list[Any] = []
        next_link: str | None = path
        while next_link:
            res = await self.get(next_link)
            assert res.status == 200, res.body
            items.extend(res.json[key])
            next_link = res.json["links"].get("pages", {}).get("next")
        return items


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeDOCR]:
    """A small seeded fake on a manual clock."""
    async with FakeDOCR(seed=3, clock=clock, seed_spec=SeedSpec(repos=6, tags=60, untagged=8)) as f:
        yield f


@pytest.fixture
def api(http: aiohttp.ClientSession, fake: FakeDOCR) -> Api:
    return Api(http, fake)
