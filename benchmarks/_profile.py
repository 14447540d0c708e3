"""cProfile a coroutine loop and say where the time goes, by package and by function."""

from __future__ import annotations

import cProfile
import pstats
import time
from typing import TYPE_CHECKING

from ._common import table

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

_BUCKETS = (
    ("<cattrs generated", "cattrs (generated hooks)"),
    ("/docr_async/testing/", "FakeDOCR (docr_async.testing)"),
    ("/docr_async/", "docr_async"),
    ("/cattrs/", "cattrs"),
    ("/attr/", "attrs"),
    ("/aiohttp/", "aiohttp"),
    ("/azure/", "azure-core"),
    ("/pydo/", "pydo"),
    ("/yarl/", "yarl"),
    ("/multidict/", "multidict"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json"),
    ("/logging/", "logging"),
    ("/typing.py", "typing"),
)


def _bucket(filename: str, func: str) -> str:
    for needle, name in _BUCKETS:
        if needle in filename:
            return name
    if filename == "~":
        return "C builtins: " + func.strip("<>").replace("built-in method ", "").split(" of ")[0]
    return "other: " + filename.rsplit("/", 2)[-1]


async def profile_calls(call: Callable[[], Awaitable[object]], n: int) -> pstats.Stats:
    """Profile ``n`` sequential awaits of ``call()`` (after one unprofiled warm-up call).

    The profiler's clock is the process CPU time, so time spent waiting for the server is not counted.
    """
    await call()
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        for _ in range(n):
            await call()
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


def summarize(stats: pstats.Stats, n: int, *, top: int = 12) -> str:
    """Markdown: own time per package and the functions with the most own time, per request."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    by_bucket: dict[str, float] = {}
    for (filename, _line, func), entry in raw.items():
        name = _bucket(filename, func)
        by_bucket[name] = by_bucket.get(name, 0.0) + entry[2]
    buckets = sorted(by_bucket.items(), key=lambda kv: -kv[1])
    small = sum(t for _, t in buckets if t / total < 0.02)
    rows = [[name, f"{t / n * 1e6:.0f}", f"{t / total:.0%}"] for name, t in buckets if t / total >= 0.02]
    rows.append(["(everything below 2%)", f"{small / n * 1e6:.0f}", f"{small / total:.0%}"])
    funcs = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    frows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in funcs:
        where = "~" if filename == "~" else f"{'/'.join(filename.rsplit('/', 2)[-2:])}:{line}"
        frows.append(
            [
                f"`{func}`",
                where,
                f"{calls / n:.1f}",
                f"{tottime / n * 1e6:.1f}",
                f"{cumtime / n * 1e6:.1f}",
            ]
        )
    return (
        f"Profiled CPU per request under cProfile: {total / n * 1e6:.0f} µs "
        "(cProfile inflates small calls).\n\n"
        + table(["package (own time)", "µs/request", "share"], rows)
        + "\n\n"
        + table(["function", "where", "calls/request", "own µs/request", "cumulative µs/request"], frows)
    )


def cumulative_share(stats: pstats.Stats, file_part: str, func: str) -> float:
    """The share of the profiled CPU spent in ``func`` of a file whose name contains ``file_part``."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    inside = sum(
        entry[3] for (filename, _line, name), entry in raw.items() if name == func and file_part in filename
    )
    return float(inside / total)
