"""Scenario 6: several processes sharing one token's burst limit: local, adaptive and Redis limiters."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

from docr_async import DOCRClient, RateLimiter
from docr_async.exceptions import DOCRError

from ._common import Context, Section, Stopwatch, Target, fmt_s
from ._fake import REGISTRY, ROOT, FakeServer, child_env, die_with_parent

NAME = "multiprocess"
TITLE = "6. Several processes, one token"
REAL_LIMIT, REAL_WINDOW, REAL_TASKS = 250, 60.0, 8
"""DigitalOcean's burst limit and window, and a cleanup's default concurrency (``execute_plan``)."""
MODES = ("local", "adaptive", "redis", "dense")
MODE_TEXT = {
    "local": "local, no adaptation",
    "adaptive": "local, adaptive",
    "redis": "Redis (shared window)",
    "dense": f"local, adaptive, {REAL_TASKS} tasks each (stress)",
}


def _processes(count: int) -> str:
    return "process" if count == 1 else "processes"


def tasks_for(limit: int) -> int:
    """Concurrent tasks per process in the same proportion to the limit as 8 tasks to 250 (rounded up)."""
    return max(1, math.ceil(REAL_TASKS * limit / REAL_LIMIT))


async def _worker(job: dict[str, Any]) -> dict[str, Any]:
    limit, window, mode = job["limit"], job["window"], job["mode"]
    limiter: RateLimiter
    if mode == "redis":
        from docr_async.redis import RedisRateLimiter

        limiter = RedisRateLimiter.from_url(job["redis_url"], burst_limit=limit, burst_window=window)
    else:
        limiter = RateLimiter(burst_limit=limit, burst_window=window, adaptive=mode == "adaptive")
    failures: Counter[str] = Counter()
    ok = 0
    trace: list[tuple[float, str]] = []
    if job.get("trace"):  # profiling: every limiter decision, time-stamped
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: trace.append((record.created, record.getMessage()))  # type: ignore[method-assign]
        log = logging.getLogger("docr_async.ratelimit")
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
    try:
        async with DOCRClient(
            job["token"], base_url=job["url"], rate_limiter=limiter, max_concurrency=job["tasks"]
        ) as client:
            await asyncio.sleep(max(0.0, job["start_at"] - time.time()))  # every worker starts together
            started = time.time()
            todo = iter(job["tags"])

            async def task() -> None:
                nonlocal ok
                for tag in todo:
                    try:
                        await client.tags.delete(tag, repository=job["repository"], registry=REGISTRY)
                    except DOCRError as exc:
                        failures[type(exc).__name__] += 1
                    else:
                        ok += 1

            await asyncio.gather(*(task() for _ in range(job["tasks"])))
            ended = time.time()
            stats = client.stats
    finally:
        aclose = getattr(limiter, "aclose", None)
        if aclose is not None:
            await aclose()
    return {
        "ok": ok,
        "failures": dict(failures),
        "rate_limited": stats.rate_limited,
        "attempts": stats.attempts,
        "started": started,
        "ended": ended,
        "effective_limit": limiter.effective_burst_limit,
        "trace": trace,
    }


class _Redis:
    """A throwaway redis-server on a free loopback port (``None`` url when the binary is absent)."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory()

    def __enter__(self) -> _Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            return self
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen(
            [*args, "--dir", self._dir.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, no locks
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._proc.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    self.url = f"redis://127.0.0.1:{port}/0"
                    return self
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc_info: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._dir.cleanup()


def _run_workers(jobs: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for job in jobs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.multiprocess"],
                cwd=ROOT,
                env=child_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
            procs.append(proc)
        deadline = time.monotonic() + timeout
        results = []
        for proc in procs:
            out = proc.stdout.read() if proc.stdout else b""
            err = proc.stderr.read() if proc.stderr else b""
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.returncode != 0:
                raise RuntimeError(f"worker exited {proc.returncode}: {err.decode()[-2000:]}")
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def measure(
    fake: FakeServer,
    redis_url: str | None,
    workers: int,
    mode: str,
    *,
    limit: int,
    window: float,
    per_process: int,
    tasks: int = 8,
) -> dict[str, Any]:
    """Run one cell: ``workers`` processes with ``mode`` limiters against ``fake``; return the figures."""
    fake.reseed(registries=1, repos=workers, tags_per_repo=per_process, untagged=0)
    fake.reset_rate_limits()  # the listings below count against the token too
    body = fake.control("GET", f"/v2/registries/{REGISTRY}/repositoriesV2?per_page=200")
    repositories = sorted(r["name"] for r in body["repositories"])[:workers]
    tags = {repo: fake.tag_names(REGISTRY, quote(repo, safe="")) for repo in repositories}
    fake.reset_rate_limits()
    fake.control("DELETE", "/_fake/requests")
    before = fake.state()
    start_at = time.time() + 2.0  # time for every child to import and connect
    jobs = [
        {
            "url": fake.url,
            "token": fake.token,
            "mode": mode,
            "limit": limit,
            "window": window,
            "redis_url": redis_url,
            "repository": repo,
            "tags": tags[repo],
            "start_at": start_at,
            "tasks": tasks,
        }
        for repo in repositories
    ]
    results = _run_workers(jobs, timeout=60 * window + 120)
    after = fake.state()
    failures: Counter[str] = Counter()
    for r in results:
        failures.update(r["failures"])
    total = workers * per_process
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    ok = sum(r["ok"] for r in results)
    served = after["requests_served"] - before["requests_served"]
    return {
        "wall": wall,
        "ok": ok,
        "total": total,
        "kinds": failures,
        "served_429s": after["throttled_served"] - before["throttled_served"],
        "requests": served,
        "wasted": served - ok,
        # the best schedule: the window's first burst is free, then `limit` per window
        "share": ((math.ceil(total / limit) - 1) * window) / wall if wall > 0 else 0.0,
        "limits": sorted(r["effective_limit"] for r in results),
        "workers": results,
    }


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    limit, window, per_process = (20, 1.0, 30) if ctx.quick else (50, 2.0, 150)
    counts = (2,) if ctx.quick else (1, 2, 4, 8)
    samples: dict[tuple[int, str], dict[str, Any]] = {}
    args = ("--repos", str(max(counts)), "--tags-per-repo", str(per_process), "--untagged", "0")
    limits = ("--burst-limit", str(limit), "--burst-window", str(window))
    tasks = tasks_for(limit)
    cells = [(workers, mode) for workers in counts for mode in MODES[:3]]
    if not ctx.quick:
        cells.append((4, "dense"))  # 5x the real concurrency per limit: how 429s grow with it
    with _Redis() as redis, FakeServer(*args, *limits) as fake:
        config = fake.control("GET", "/_fake/rate-limits")
        # DigitalOcean's Retry-After is whole seconds on a 60 s window: keep that proportion
        fake.control("PUT", "/_fake/rate-limits", {**config, "retry_after_unit": window / REAL_WINDOW})
        for workers, mode in cells:
            if mode == "redis" and redis.url is None:
                continue
            samples[(workers, mode)] = measure(
                fake,
                redis.url,
                workers,
                "adaptive" if mode == "dense" else mode,
                limit=limit,
                window=window,
                per_process=per_process,
                tasks=REAL_TASKS if mode == "dense" else tasks,
            )

    section = Section(NAME, TITLE)
    section.setup = [
        f"One FakeDOCR (own process), one token, a compressed burst limit of {limit} requests per "
        f"{window:g} s sliding window (hourly budget out of reach). N worker processes of "
        f"{tasks} concurrent tasks start together; each deletes {per_process} tags from its "
        f"own repository, and each is configured with the token's full limit ({limit} per {window:g} s), "
        "as a user would configure it, never a pre-divided share. Default retry policy (5 attempts).",
        f"Compressed in DigitalOcean's proportions: time runs {REAL_WINDOW / window:g}x faster "
        f"({REAL_WINDOW:g} s window -> {window:g} s), so a burst 429's `Retry-After` is rounded up to "
        f"whole {window / REAL_WINDOW:.3g} s (the fake's `retry_after_unit`; DigitalOcean rounds to whole "
        f"seconds of a {REAL_WINDOW:g} s window), and the tasks per process are in the proportion of a "
        f"cleanup's {REAL_TASKS} tasks to {REAL_LIMIT} per minute ({tasks} to {limit}). The stress row "
        f"keeps {REAL_TASKS} tasks on the compressed limit ({REAL_TASKS / limit:.0%} of it in flight "
        f"per process, against {REAL_TASKS / REAL_LIMIT:.1%} on DigitalOcean); it has no target.",
        "Limiters: `RateLimiter(adaptive=False)` (the local window alone); `RateLimiter()` (adaptive: "
        "lowers its limit from burst 429s, paces its sends while lowered, and reads the others' sends "
        "from the token's hourly budget in the fake's headers); `RedisRateLimiter.from_url(...)` "
        "(one window in a local redis-server, shared by every process; one Redis round trip per request).",
        "Share of the limit: the best possible wall time, (ceil(work / limit) - 1) x window (the first "
        "burst is free), over the measured one. Wasted: requests served minus tags deleted (429s and "
        "the retries they caused). One run per cell.",
    ]
    if not any(mode == "redis" for _, mode in samples):
        section.setup.append("redis-server is not installed here: the Redis rows are missing.")
    section.headers = [
        "processes",
        "limiter",
        "wall",
        "share of the limit",
        "deleted",
        "failed",
        "429s served",
        "wasted requests",
        "effective limits at the end",
    ]
    for (workers, mode), r in sorted(samples.items(), key=lambda kv: (kv[0][0], MODES.index(kv[0][1]))):
        failed = str(sum(r["kinds"].values()))
        if r["kinds"]:
            failed += " (" + ", ".join(sorted(r["kinds"])) + ")"
        section.rows.append(
            [
                str(workers),
                MODE_TEXT[mode],
                fmt_s(r["wall"]),
                f"{r['share']:.0%}",
                f"{r['ok']} / {r['total']}",
                failed,
                f"{r['served_429s']} ({r['served_429s'] / max(r['requests'], 1):.1%})",
                str(r["wasted"]),
                ", ".join(str(x) for x in r["limits"]) if mode != "redis" else "shared",
            ]
        )
        if mode == "redis":
            section.targets.append(
                Target(
                    f"{workers} {_processes(workers)}, Redis: burst 429s",
                    "= 0",
                    str(r["served_429s"]),
                    r["served_429s"] == 0,
                )
            )
            section.targets.append(
                Target(
                    f"{workers} {_processes(workers)}, Redis: share of the limit",
                    ">= 90%",
                    f"{r['share']:.0%}",
                    r["share"] >= 0.9,
                )
            )
        if mode == "adaptive":
            ratio = r["served_429s"] / max(r["requests"], 1)
            if workers == 1:
                section.targets.append(
                    Target(
                        "1 process alone, adaptive: share of the limit",
                        ">= 95%",
                        f"{r['share']:.0%}",
                        r["share"] >= 0.95,
                    )
                )
            else:
                section.targets.append(
                    Target(
                        f"{workers} processes, adaptive: share of the limit",
                        ">= 80%",
                        f"{r['share']:.0%}",
                        r["share"] >= 0.8,
                    )
                )
                section.targets.append(
                    Target(
                        f"{workers} processes, adaptive: 429s / requests",
                        "<= 5%",
                        f"{ratio:.1%}",
                        ratio <= 0.05,
                    )
                )
    section.notes = [
        "Alone, a process never sees a burst 429 and adaptation changes nothing. Sharing the token, "
        "each local limiter believes it owns the whole window: together they overrun it, and after "
        "each Retry-After pause every waiting task goes out at once. The adaptive limiter lowers "
        "its own limit to 95% of what it got out of the window when the 429 came and spreads its "
        "sends while lowered; from the token's hourly `ratelimit-remaining` (shared by every "
        "process) it reads what the others send, so when one process finishes the others take up "
        "its share as its sends leave the window, and processes that fill the token stop probing "
        "past it. The Redis limiter keeps one window for all processes, so the server's is never "
        "overrun. What the adaptive rows still lose is the first window's round of 429s (each "
        "process learns its share from one) and a few slots while the last process takes up the "
        "others' shares: at 2 processes the job is exactly six windows of work, so the few sends "
        "pushed past the sixth window cost most of a window of wall time.",
    ]
    section.seconds = clock.elapsed
    return section


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: ``python -m benchmarks.multiprocess`` with the job as JSON on stdin."""
    argparse.ArgumentParser(prog="python -m benchmarks.multiprocess").parse_args(argv)
    job = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_worker(job))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
