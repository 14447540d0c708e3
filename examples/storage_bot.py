"""A long-running bot that keeps registry storage under the subscription's included storage.

Run one check (against an embedded fake registry unless ``DIGITALOCEAN_TOKEN`` is set)::

    python examples/storage_bot.py --once

Without ``--once`` it checks every ``--interval`` (default 1h) until SIGTERM or Ctrl-C. Each check
compares the account's storage usage with its tier's ``included_storage_bytes``; above
``--threshold`` (default 80%) it logs a warning, cleans the registry with its retention policy,
runs a garbage collection and waits for it (deleting alone frees nothing).

It is a dry run unless ``--apply``: it then only logs what it would delete. With a real token it
first logs the API URL and the registry.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import attrs
from _target import open_target

from docr_async import DOCRError, ValidationError
from docr_async.cleanup import (
    CleanupExecutor,
    CleanupReport,
    GCResult,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
    parse_duration,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from _target import TargetFactory

    from docr_async import DOCRClient

logger = logging.getLogger("storage_bot")

T = TypeVar("T")
GIB = 1024**3


@attrs.frozen(kw_only=True)
class BotConfig:
    """What the bot watches and what it does about it."""

    registry: str
    policy: RetentionPolicy
    threshold: float = 0.8
    concurrency: int = 8
    gc_timeout: float = 1800.0
    gc_poll: float = 5.0
    apply: bool = False
    """Delete for real; otherwise the cleanup is a dry run and no GC is started."""


@attrs.frozen(kw_only=True)
class CheckResult:
    """One check: the usage seen, and the cleanup and GC it triggered (if any)."""

    usage_bytes: int
    included_bytes: int | None
    triggered: bool = False
    cleanup: CleanupReport | None = None
    gc: GCResult | None = None

    @property
    def fraction(self) -> float | None:
        """Usage as a fraction of the included storage (None when the tier does not say)."""
        return self.usage_bytes / self.included_bytes if self.included_bytes else None


async def storage_status(client: DOCRClient) -> tuple[int, int | None]:
    """``(bytes used by all registries, bytes the subscription tier includes)``.

    Included storage is per account, so usage is summed over every registry of the account.
    """
    listing = await client.registries.list()
    subscription = await client.registries.get_subscription()
    used = sum(registry.storage_usage_bytes or 0 for registry in listing.registries)
    return used, subscription.tier.included_storage_bytes if subscription.tier else None


async def check_once(client: DOCRClient, config: BotConfig) -> CheckResult:
    """Check storage once; above the threshold, clean up, collect garbage and wait for it."""
    used, included = await storage_status(client)
    result = CheckResult(usage_bytes=used, included_bytes=included)
    if not included:
        logger.warning("the subscription reports no included storage; nothing to compare with")
        return result
    fraction = used / included
    if fraction <= config.threshold:
        logger.info("storage %.2f GiB = %.0f%% of %.2f GiB: fine", used / GIB, fraction * 100, included / GIB)
        return result
    logger.warning(
        "storage %.2f GiB = %.0f%% of the %.2f GiB included (threshold %.0f%%): cleaning %s",
        used / GIB,
        fraction * 100,
        included / GIB,
        config.threshold * 100,
        config.registry,
    )
    plan = await build_plan(client, config.registry, config.policy)
    if not plan.deletions:
        logger.warning("the retention policy deletes nothing; usage stays above the threshold")
        return attrs.evolve(result, triggered=True)
    executor = CleanupExecutor(client, plan, concurrency=config.concurrency, dry_run=not config.apply)
    try:
        report = await executor.run()
    except asyncio.CancelledError:
        logger.warning("cleanup interrupted: %s", executor.report.counts)
        raise
    logger.info("cleanup: %s", report.counts)
    if report.dry_run:
        logger.warning("dry run: %d deletions planned, none made (pass --apply)", len(plan.deletions))
        return attrs.evolve(result, triggered=True, cleanup=report)
    if not report.counts[ItemStatus.DELETED]:
        return attrs.evolve(result, triggered=True, cleanup=report)
    gc = await collect_garbage(
        client, config.registry, timeout=config.gc_timeout, poll_interval=config.gc_poll, if_active="wait"
    )
    logger.info(
        "garbage collection %s: freed %.2f GiB (%s now uses %.2f GiB)",
        gc.garbage_collection.status,
        (gc.freed_bytes or 0) / GIB,
        config.registry,
        (gc.storage_after or 0) / GIB,
    )
    return attrs.evolve(result, triggered=True, cleanup=report, gc=gc)


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Await ``work``, or cancel it and return None as soon as ``stop`` is set."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (task, stopped):
            future.cancel()
        await asyncio.wait((task, stopped))
    return None if task.cancelled() else task.result()


async def run_bot(
    client: DOCRClient,
    config: BotConfig,
    *,
    stop: asyncio.Event,
    interval: float,
    once: bool = False,
    on_check: Callable[[CheckResult], None] | None = None,
) -> int:
    """Check every ``interval`` seconds until ``stop`` is set (or once); return the checks done.

    Setting ``stop`` ends the loop promptly, also in the middle of a cleanup or a GC wait (the
    cleanup is cancelled cleanly; a running GC finishes on DigitalOcean's side). An API error is
    logged and the bot carries on at the next interval.
    """
    checks = 0
    while not stop.is_set():
        try:
            result = await unless_stopped(check_once(client, config), stop)
        except DOCRError as exc:
            logger.error("check failed: %s", exc)
        else:
            if result is None:
                break
            checks += 1
            if on_check is not None:
                on_check(result)
        if once:
            break
        with contextlib.suppress(TimeoutError):  # the interval passed without a stop
            await asyncio.wait_for(stop.wait(), interval)
    return checks


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", help="registry to clean (default: the account's first)")
    parser.add_argument("--base-url", help="API root, e.g. a local fake (the token still comes from the env)")
    parser.add_argument(
        "--threshold", type=float, default=0.8, help="fraction of included storage (%(default)s)"
    )
    parser.add_argument("--interval", default="1h", help="time between checks: 30m, 1h, 1d (%(default)s)")
    parser.add_argument("--once", action="store_true", help="run a single check and exit")
    parser.add_argument("--apply", action="store_true", help="delete and collect garbage (default: dry run)")
    parser.add_argument(
        "--keep-last", type=int, default=10, help="policy: keep the newest N tags (%(default)s)"
    )
    parser.add_argument(
        "--older-than", default="30d", help="policy: delete tags older than this (%(default)s)"
    )
    parser.add_argument("--gc-poll", type=float, default=5.0, help="first GC poll interval, s (%(default)s)")
    args = parser.parse_args(argv)
    try:
        args.interval = parse_duration(args.interval, field="interval").total_seconds()
        args.policy = RetentionPolicy(
            keep_last=args.keep_last, older_than=args.older_than, delete_untagged=True
        )
    except ValidationError as exc:
        parser.error(str(exc))
    return args


async def main_async(argv: Sequence[str] | None = None, *, connect: TargetFactory | None = None) -> int:
    """Run the bot until SIGTERM/SIGINT (or one check with ``--once``); the client is closed on exit."""
    args = parse_args(argv)
    if connect is None:
        connect = partial(open_target, base_url=args.base_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with connect(args.registry) as (client, registry):
            config = BotConfig(
                registry=registry,
                policy=args.policy,
                threshold=args.threshold,
                gc_poll=args.gc_poll,
                apply=args.apply,
            )
            logger.info(
                "watching %s every %gs (threshold %.0f%%)", registry, args.interval, args.threshold * 100
            )
            checks = await run_bot(client, config, stop=stop, interval=args.interval, once=args.once)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    print(f"storage bot stopped after {checks} check(s)")
    return 1 if args.once and not checks else 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(argv))


if __name__ == "__main__":
    sys.exit(main())
