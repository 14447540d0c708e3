"""Count the instructions of one request path under callgrind (load-independent, unlike time).

    valgrind --tool=callgrind --dump-before=os_getppid --callgrind-out-file=/tmp/cg \\
        python -m benchmarks._instructions full 300
    grep -m1 '^summary:' /tmp/cg.2    # instructions of the 300 requests; divide by 300

``os.getppid()`` marks the start and the end of the measured requests, so callgrind's second dump
holds exactly them (start-up, imports and warm-up land in the first). The minimal server runs in
its own process, which valgrind does not follow. Paths: ``plain`` (aiohttp ``get`` +
``raise_for_status()`` + ``json()``), ``transport`` (``core.request``, an ``APIResponse``),
``structure`` (the transport, then the listing's structuring hook on the 20 tags: no names, pager
or ``Page``) and ``full`` (``await client.tags.list(...)``, a ``Page`` of 20 typed ``Tag`` models).
``--concurrency`` runs that many requests in flight (``asyncio.gather`` of workers).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import TYPE_CHECKING

import aiohttp

from docr_async import DOCRClient, RateLimiter
from docr_async.models import Tag

from ._fake import REGISTRY, REPOSITORY
from .overhead import PER_PAGE
from .overhead_minimal import MinimalServer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

PATHS = ("plain", "transport", "structure", "full")


async def _run(server: MinimalServer, path: str, n: int, concurrency: int) -> None:
    tail = f"/v2/registries/{REGISTRY}/repositories/{REPOSITORY}/tags"
    params = {"per_page": str(PER_PAGE), "page": "1"}
    headers = {"Authorization": f"Bearer {server.token}"}
    limiter = RateLimiter(enabled=False)
    async with (
        aiohttp.ClientSession() as session,
        DOCRClient(server.token, base_url=server.url, rate_limiter=limiter) as client,
    ):

        async def plain() -> int:
            async with session.get(server.url + tail, params=params, headers=headers) as response:
                response.raise_for_status()
                body = await response.json()
            return len(body["tags"])

        async def transport() -> int:
            response = await client._core.request("GET", tail, params=params)
            return len(response.data["tags"])

        structure_tags = client._core.items_hook(Tag)

        async def structure() -> int:
            response = await client._core.request("GET", tail, params=params)
            return len(structure_tags(response.data["tags"]))

        async def full() -> int:
            page = await client.tags.list(REPOSITORY, registry=REGISTRY, per_page=PER_PAGE)
            return len(page.items)

        calls: dict[str, Callable[[], Awaitable[int]]] = {
            "plain": plain,
            "transport": transport,
            "structure": structure,
            "full": full,
        }
        call = calls[path]
        for _ in range(3):  # warm-up: connections, memos, specialised bytecode
            counts = await asyncio.gather(*(call() for _ in range(concurrency)))
            assert all(c == PER_PAGE for c in counts), counts
        todo = iter(range(n))

        async def worker() -> None:
            for _ in todo:
                await call()

        os.getppid()  # marker: callgrind dumps here (--dump-before=os_getppid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        os.getppid()  # marker: and here


def main() -> None:
    """Send ``n`` requests on one path between the two markers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("n", type=int)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    with MinimalServer() as server:
        asyncio.run(_run(server, args.path, args.n, args.concurrency))


if __name__ == "__main__":
    main()
