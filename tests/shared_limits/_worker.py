"""One worker process of the shared-window test: ``python _worker.py URL TOKEN REDIS_URL N LIMIT WINDOW``.

Lists tags N times with 8 concurrent tasks through a RedisRateLimiter and prints its stats as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from docr_async import DOCRClient
from docr_async.redis import RedisRateLimiter


async def main(url: str, token: str, redis_url: str, n: int, limit: int, window: float) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, burst_limit=limit, burst_window=window)
    async with limiter, DOCRClient(token, base_url=url, rate_limiter=limiter, max_concurrency=8) as client:
        todo = iter(range(n))

        async def task() -> None:
            for _ in todo:
                await client.tags.list("api", registry="example", per_page=5)

        await asyncio.gather(*(task() for _ in range(8)))
        print(
            json.dumps(
                {
                    "attempts": client.stats.attempts,
                    "rate_limited": client.stats.rate_limited,
                    "fallback": limiter.using_fallback,
                }
            )
        )


if __name__ == "__main__":
    url, token, redis_url, n, limit, window = sys.argv[1:]
    asyncio.run(main(url, token, redis_url, int(n), int(limit), float(window)))
