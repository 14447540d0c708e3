"""Scenario 6: several worker processes sharing one token and its hourly budget, limiter on vs off."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from docr_async import DOCRClient, RateLimiter
from docr_async.exceptions import DOCRError

from ._common import Context, Section, Stopwatch, Target, fmt_s, fmt_x, median
from ._fake import REGISTRY, REPOSITORY, ROOT, FakeServer, child_env

NAME = "multiprocess"
TITLE = "6. Several processes, one token"
TASKS_PER_WORKER = 8


async def _worker(url: str, token: str, requests: int, limiter_on: bool, start_at: float) -> dict[str, Any]:
    limiter = RateLimiter(burst_limit=None) if limiter_on else RateLimiter(enabled=False)
    failures: Counter[str] = Counter()
    ok = 0
    async with DOCRClient(
        token, base_url=url, rate_limiter=limiter, max_concurrency=TASKS_PER_WORKER
    ) as client:
        await asyncio.sleep(max(0.0, start_at - time.time()))  # every worker starts together
        started = time.time()
        todo = iter(range(requests))

        async def task() -> None:
            nonlocal ok
            for _ in todo:
                try:
                    await client.tags.list(REPOSITORY, registry=REGISTRY, per_page=20)
                except DOCRError as exc:
                    failures[type(exc).__name__] += 1
                else:
                    ok += 1

        await asyncio.gather(*(task() for _ in range(TASKS_PER_WORKER)))
        ended = time.time()
        stats = client.stats
    return {
        "ok": ok,
        "failures": dict(failures),
        "rate_limited": stats.rate_limited,
        "attempts": stats.attempts,
        "started": started,
        "ended": ended,
    }


def _run_workers(
    fake: FakeServer, workers: int, work: int, limiter_on: bool, timeout: float
) -> list[dict[str, Any]]:
    start_at = time.time() + 2.0  # time for every child to import and connect
    share = [work // workers + (i < work % workers) for i in range(workers)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for requests in share:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.multiprocess",
                        fake.url,
                        fake.token,
                        str(requests),
                        "on" if limiter_on else "off",
                        repr(start_at),
                    ],
                    cwd=ROOT,
                    env=child_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        deadline = time.monotonic() + timeout
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            if proc.returncode != 0:
                raise RuntimeError(f"worker exited {proc.returncode}: {err.decode()[-2000:]}")
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.communicate(timeout=5)


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    budget, window = (30, 2.0) if ctx.quick else (300, 10.0)
    work = 2 * budget
    worker_counts = (2,) if ctx.quick else (2, 4)
    reps = ctx.reps(cap=3)
    ideal = (math.ceil(work / budget) - 1) * window
    samples: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    args = ("--repos", "1", "--tags-per-repo", "40", "--untagged", "0")
    limits = ("--hourly-limit", str(budget), "--hourly-window", str(window))
    with FakeServer(*args, *limits, "--burst-limit", "1000000", "--burst-window", "1") as fake:
        for rep in range(reps):
            for workers in worker_counts:
                for limiter_on in (True, False) if rep % 2 == 0 else (False, True):
                    fake.reset_rate_limits()
                    before = fake.state()
                    results = _run_workers(fake, workers, work, limiter_on, timeout=10 * window + 60)
                    after = fake.state()
                    failures: Counter[str] = Counter()
                    for r in results:
                        failures.update(r["failures"])
                    samples.setdefault((workers, limiter_on), []).append(
                        {
                            "wall": max(r["ended"] for r in results) - min(r["started"] for r in results),
                            "ok": sum(r["ok"] for r in results),
                            "failed": sum(failures.values()),
                            "kinds": failures,
                            "client_429s": sum(r["rate_limited"] for r in results),
                            "served_429s": after["throttled_served"] - before["throttled_served"],
                            "requests": after["requests_served"] - before["requests_served"],
                        }
                    )

    section = Section(NAME, TITLE)
    section.setup = [
        f"One FakeDOCR (own process), one token, a compressed hourly budget of {budget} requests per "
        f"{window:g} s sliding window (burst limit off). Each run gives {work} GETs (one page of 20 "
        f"tags each), twice the budget, split evenly over N worker processes of {TASKS_PER_WORKER} "
        "concurrent tasks, which start together.",
        "Limiter on: `RateLimiter(burst_limit=None)`: only the `ratelimit-*` headers, decremented "
        "locally and merged with each response; nothing is shared between the processes except "
        "what the server reports. Limiter off: `RateLimiter(enabled=False)`, same retry policy.",
        f"The best possible schedule needs (ceil({work}/{budget}) - 1) x {window:g} s = {fmt_s(ideal)} "
        f"(half the work must wait for the window to slide). {reps} repetition(s), medians.",
    ]
    section.headers = [
        "workers",
        "limiter",
        "wall",
        "wall / best",
        "completed",
        "failed",
        "429s served (fake)",
        "requests served",
    ]
    for (workers, limiter_on), runs in sorted(samples.items(), key=lambda kv: (kv[0][0], not kv[0][1])):
        wall = median([r["wall"] for r in runs])
        kinds: Counter[str] = sum((r["kinds"] for r in runs), Counter())
        failed = f"{median([r['failed'] for r in runs]):.0f}"
        if kinds:
            failed += " (" + ", ".join(sorted(kinds)) + ")"
        section.rows.append(
            [
                str(workers),
                "on" if limiter_on else "off",
                fmt_s(wall),
                fmt_x(wall / ideal) if ideal and median([r["ok"] for r in runs]) == work else "n/a (failed)",
                f"{median([r['ok'] for r in runs]):.0f} / {work}",
                failed,
                f"{median([r['served_429s'] for r in runs]):.0f}",
                f"{median([r['requests'] for r in runs]):.0f}",
            ]
        )
        if limiter_on:
            done = median([r["ok"] for r in runs])
            section.targets.append(
                Target(
                    f"{workers} workers, limiter on: all work completed",
                    f"= {work}",
                    f"{done:.0f}",
                    done == work,
                    cause="requests failed although the limiter waits for the budget.",
                )
            )
    section.notes = [
        "With the limiter off, a 429 is retried at once (the pause it sets is ignored), so the "
        "retries burn out within milliseconds and the work beyond the budget fails. With it on, "
        "each process waits for `ratelimit-reset` once the reported budget is spent; the only 429s "
        "left are races between processes for the same freed slots (each process only learns "
        "what the others spent from the next response's `ratelimit-remaining`)."
    ]
    section.seconds = clock.elapsed
    return section


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: ``python -m benchmarks.multiprocess URL TOKEN N on|off START_AT``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.multiprocess")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("requests", type=int)
    parser.add_argument("limiter", choices=("on", "off"))
    parser.add_argument("start_at", type=float)
    args = parser.parse_args(argv)
    result = asyncio.run(_worker(args.url, args.token, args.requests, args.limiter == "on", args.start_at))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
