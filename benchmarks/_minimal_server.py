"""``python -m benchmarks._minimal_server --port 0``: the cheapest honest DOCR tag listing.

An ``aiohttp.web`` server answering every ``GET .../tags`` with one prebuilt body of 20 tags (the
real API's shape: ``tags``, ``links``, ``meta``) and the real rate-limit headers. Unlike FakeDOCR it
does no work per request, so its CPU does not hide the client's. Prints one JSON line
``{"url", "token"}`` when it listens (the protocol of :class:`benchmarks._fake.FakeServer`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from aiohttp import web

TOKEN = "dop_v1_" + "0" * 64
PER_PAGE = 20


def tags_body(registry: str = "example", repository: str = "api", n: int = PER_PAGE) -> bytes:
    """A page of ``n`` tags as the API sends it."""
    tags = [
        {
            "registry_name": registry,
            "repository": repository,
            "tag": f"v1.{i}.{i * 7 % 13}",
            "manifest_digest": "sha256:" + f"{i:02x}" * 32,
            "compressed_size_bytes": 2_789_669 + i * 1021,
            "size_bytes": 5_843_968 + i * 2039,
            "updated_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i * 7 % 60:02d}:{i * 13 % 60:02d}Z",
        }
        for i in range(n)
    ]
    url = f"https://api.digitalocean.com/v2/registries/{registry}/repositories/{repository}/tags"
    return json.dumps(
        {
            "tags": tags,
            "links": {"pages": {"next": f"{url}?page=2&per_page={n}", "last": f"{url}?page=5&per_page={n}"}},
            "meta": {"total": 5 * n},
        }
    ).encode()


def make_app() -> web.Application:
    """The app: one route, one prebuilt body."""
    body = tags_body()
    reset = str(int(time.time()) + 3600)

    async def tags(request: web.Request) -> web.Response:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "4999",
            "ratelimit-reset": reset,
            "x-request-id": "8a4b7c3e-0000-4000-8000-000000000000",
        }
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/v2/registries/{registry}/repositories/{repository}/tags", tags)
    return app


async def _serve(port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(json.dumps({"url": f"http://127.0.0.1:{runner.addresses[0][1]}", "token": TOKEN}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
