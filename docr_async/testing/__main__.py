"""Run FakeDOCR as a standalone server: ``python -m docr_async.testing --port 0``.

Once listening it prints exactly one JSON line, ``{"url": ..., "token": ...}``, to stdout, then
serves until SIGTERM or Ctrl-C and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import TYPE_CHECKING

from ._configs import DEFAULT_PUBLIC_URL, FaultConfig, GCConfig, RateLimitConfig, SeedSpec
from ._server import FakeDOCR

if TYPE_CHECKING:
    from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of the standalone server."""
    parser = argparse.ArgumentParser(
        prog="python -m docr_async.testing",
        description="Serve a fake DigitalOcean Container Registry API for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data, token and faults")
    parser.add_argument(
        "--token", default=None, help="accepted bearer token (default: derived from the seed)"
    )
    parser.add_argument("--public-url", default=DEFAULT_PUBLIC_URL, help="origin used in pagination links")
    data = parser.add_argument_group("seed data")
    data.add_argument("--registries", type=int, default=1)
    data.add_argument("--repos", type=int, default=5, help="repositories per registry")
    data.add_argument("--tags", type=int, default=40, help="tags in total")
    data.add_argument("--tags-per-repo", type=int, default=None, help="tags in every repository")
    data.add_argument("--untagged", type=int, default=5, help="untagged manifests in total")
    data.add_argument("--days", type=float, default=30.0, help="spread ages over this many days")
    data.add_argument("--tier", choices=("starter", "basic", "professional"), default=None)
    limits = parser.add_argument_group("rate limits")
    limits.add_argument("--hourly-limit", type=int, default=5000)
    limits.add_argument("--hourly-window", type=float, default=3600.0, help="seconds")
    limits.add_argument("--burst-limit", type=int, default=250)
    limits.add_argument("--burst-window", type=float, default=60.0, help="seconds")
    limits.add_argument("--no-rate-limit", action="store_true", help="count requests but never refuse")
    faults = parser.add_argument_group("faults")
    faults.add_argument("--error-rate", type=float, default=0.0, help="probability of a 500/502/503")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="probability of a dropped connection")
    faults.add_argument("--lost-response-rate", type=float, default=0.0, help="apply, then drop")
    faults.add_argument("--spurious-429-rate", type=float, default=0.0)
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    faults.add_argument("--jitter", type=float, default=0.0, help="up to this many extra seconds")
    gc = parser.add_argument_group("garbage collection")
    gc.add_argument("--gc-step", type=float, default=0.25, help="seconds per GC status step")
    gc.add_argument("--gc-fail", action="store_true", help="GCs end in 'failed'")
    gc.add_argument("--gc-type-field", action="store_true", help="add godo's 'type' field to GC bodies")
    return parser


def fake_from_args(args: argparse.Namespace) -> FakeDOCR:
    """Build (without starting) the FakeDOCR the arguments describe."""
    return FakeDOCR(
        args.token,
        seed=args.seed,
        seed_spec=SeedSpec(
            registries=args.registries,
            repos=args.repos,
            tags=args.tags,
            tags_per_repo=args.tags_per_repo,
            untagged=args.untagged,
            days=args.days,
            tier=args.tier,
        ),
        rate_limits=RateLimitConfig(
            hourly_limit=args.hourly_limit,
            hourly_window=args.hourly_window,
            burst_limit=args.burst_limit,
            burst_window=args.burst_window,
            enabled=not args.no_rate_limit,
        ),
        faults=FaultConfig(
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            lost_response_rate=args.lost_response_rate,
            spurious_429_rate=args.spurious_429_rate,
            latency=args.latency,
            jitter=args.jitter,
        ),
        gc=GCConfig(step_seconds=args.gc_step, fail=args.gc_fail, include_type=args.gc_type_field),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
    )


async def serve(fake: FakeDOCR) -> None:
    """Start ``fake``, announce it on stdout, and serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # pragma: no cover - Windows
            loop.add_signal_handler(sig, stop.set)
    async with fake:
        sys.stdout.write(json.dumps({"url": fake.url, "token": fake.token}) + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        fake = fake_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(fake))
    return 0


if __name__ == "__main__":
    sys.exit(main())
