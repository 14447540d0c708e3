"""Scenario 4: peak RSS growth while iterating 100,000 tags (each measurement in a fresh child process)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from pathlib import Path

from docr_async import DOCRClient, RateLimiter

from ._common import Context, Section, Stopwatch, Target, fmt_s, median, run_child
from ._fake import REGISTRY, REPOSITORY, FakeServer

NAME = "memory"
TITLE = "4. Memory while iterating a huge listing"
MODES = {
    "async-for": "`async for tag in client.tags.list(...)` (streaming)",
    "collect": "`await client.tags.list(...).collect()` (for contrast: keeps every Tag)",
}


def _status_kb(field: str) -> int:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux: the peak


async def _child(url: str, token: str, mode: str) -> dict[str, float]:
    async with DOCRClient(token, base_url=url, rate_limiter=RateLimiter(enabled=False)) as client:
        pager = client.tags.list(REPOSITORY, registry=REGISTRY, per_page=200)
        first = await pager  # warm-up: connection, converter hooks, one page of models
        del first
        gc.collect()
        before_peak, before_rss = _status_kb("VmHWM"), _status_kb("VmRSS")
        start = time.perf_counter()
        if mode == "async-for":
            count = 0
            async for _tag in pager:
                count += 1
        else:
            count = len(await pager.collect())
        seconds = time.perf_counter() - start
        after_peak = _status_kb("VmHWM")
    return {
        "count": count,
        "seconds": seconds,
        "before_peak_kb": before_peak,
        "before_rss_kb": before_rss,
        "after_peak_kb": after_peak,
    }


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    total = 5000 if ctx.quick else 100_000
    reps = ctx.reps(cap=3)
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with FakeServer(
        "--repos", "1", "--tags-per-repo", str(total), "--untagged", "0", "--no-rate-limit"
    ) as fake:
        for _ in range(reps):
            for mode in MODES:
                out = run_child(["-m", "benchmarks.memory", fake.url, fake.token, mode], timeout=300)
                if out["count"] != total:
                    raise AssertionError(f"{mode}: {out['count']} tags, expected {total}")
                samples[mode].append(out)

    section = Section(NAME, TITLE)
    section.setup = [
        f"FakeDOCR in its own process with 1 repository of {total:,} tags (no latency, no rate limit); "
        "docr-async defaults (per_page=200, prefetch=4), limiter off.",
        "Each measurement runs in a fresh child process: after imports, the first page and "
        "`gc.collect()`, it reads VmHWM (peak RSS) from `/proc/self/status`, iterates, then reads "
        f"VmHWM again. Growth = after - before. {reps} repetition(s), median reported.",
    ]
    section.headers = ["mode", "tags", "peak RSS before", "peak RSS after", "peak growth", "time"]
    growth: dict[str, float] = {}
    for mode, runs in samples.items():
        growth[mode] = median([(r["after_peak_kb"] - r["before_peak_kb"]) / 1024 for r in runs])
        section.rows.append(
            [
                MODES[mode],
                f"{total:,}",
                f"{median([r['before_peak_kb'] / 1024 for r in runs]):.1f} MiB",
                f"{median([r['after_peak_kb'] / 1024 for r in runs]):.1f} MiB",
                f"{growth[mode]:.1f} MiB",
                fmt_s(median([r["seconds"] for r in runs])),
            ]
        )
    section.targets = [
        Target(
            f"peak RSS growth iterating {total:,} tags with `async for`",
            "< 30 MB",
            f"{growth['async-for']:.1f} MiB",
            growth["async-for"] * 1.048576 < 30,
            cause="memory is not bounded by the prefetch window.",
        )
    ]
    section.seconds = clock.elapsed
    return section


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``python -m benchmarks.memory URL TOKEN MODE`` prints one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("mode", choices=sorted(MODES))
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_child(args.url, args.token, args.mode))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
