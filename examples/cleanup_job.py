"""A scheduled registry cleanup (cron, CI) on the docr-async library API.

Run it (a dry run against an embedded fake registry unless ``DIGITALOCEAN_TOKEN`` is set)::

    python examples/cleanup_job.py --keep-last 10 --older-than 30d

It plans with a retention policy and writes the plan (``cleanup-plan.json``). Only with ``--apply``
does it delete (each item verified just before its DELETE), then run a garbage collection and
wait for it. With a real token it first logs the API URL and the registry. Either way it writes a JSON report
(``cleanup-report.json``) combining the plan summary, the cleanup report and the GC result. A plan
reviewed earlier can be applied with ``--from-plan cleanup-plan.json --apply``.

Plan and report files are written atomically with mode 0600. Exit status: 0 when everything
succeeded (items skipped for safety are logged as warnings and are not a failure), 1 when an item
failed, the GC failed or timed out, or an API call failed; 2 on bad options; 128 + N on signal N
(SIGINT, SIGTERM), after writing the partial report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from _target import open_target

from docr_async import DOCRError, GarbageCollectionError, GCStatus, ValidationError, WaitTimeoutError
from docr_async.cleanup import (
    CleanupExecutor,
    CleanupPlan,
    GCResult,
    ItemResult,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
    write_private,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from _target import TargetFactory

    from docr_async import DOCRClient

logger = logging.getLogger("cleanup_job")

EXIT_OK = 0
EXIT_FAILED = 1  # bad options exit 2, from argparse
SIGNALS = (signal.SIGINT, signal.SIGTERM)


# -- Options ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_argument_group("target")
    target.add_argument("--registry", help="registry to clean (default: the account's first)")
    target.add_argument("--base-url", help="API root, e.g. a local fake (the token still comes from the env)")
    policy = parser.add_argument_group("retention policy (ignored with --from-plan)")
    policy.add_argument(
        "--keep-last", type=int, metavar="N", help="keep the newest N tags of each repository"
    )
    policy.add_argument("--older-than", metavar="AGE", help="delete only tags older than this (30d, 12h, 2w)")
    policy.add_argument(
        "--include-tag", action="append", default=[], metavar="PATTERN", help="glob or re:regex"
    )
    policy.add_argument("--exclude-tag", action="append", default=[], metavar="PATTERN", help="never delete")
    policy.add_argument(
        "--protect", action="append", metavar="PATTERN", help="always keep (default: latest); repeatable"
    )
    policy.add_argument("--include-repo", action="append", default=[], metavar="PATTERN")
    policy.add_argument("--exclude-repo", action="append", default=[], metavar="PATTERN")
    policy.add_argument("--delete-untagged", action="store_true", help="also delete untagged manifests")
    policy.add_argument(
        "--untagged-older-than", metavar="AGE", help="only untagged manifests older than this"
    )
    run = parser.add_argument_group("run")
    run.add_argument("--apply", action="store_true", help="delete and collect garbage (default: dry run)")
    run.add_argument("--from-plan", type=Path, metavar="FILE", help="apply a saved plan instead of planning")
    run.add_argument("--plan-file", type=Path, default=Path("cleanup-plan.json"), help="default: %(default)s")
    run.add_argument(
        "--report-file", type=Path, default=Path("cleanup-report.json"), help="default: %(default)s"
    )
    run.add_argument("--concurrency", type=int, default=8, help="deletions in flight (default: %(default)s)")
    run.add_argument("--no-gc", action="store_true", help="skip the garbage collection after --apply")
    run.add_argument("--gc-timeout", type=float, default=1800.0, help="seconds (default: %(default)s)")
    run.add_argument(
        "--gc-poll", type=float, default=5.0, help="first poll interval, s (default: %(default)s)"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging (SDK requests included)")
    args = parser.parse_args(argv)
    args.policy = args.plan = None
    try:
        if args.from_plan is None:
            args.policy = policy_from_args(args)
        else:
            args.plan = CleanupPlan.from_json(args.from_plan.read_text())
    except (ValidationError, OSError) as exc:
        parser.error(str(exc))
    return args


def policy_from_args(args: argparse.Namespace) -> RetentionPolicy:
    """The retention policy the options describe (ValidationError if it is invalid or empty)."""
    return RetentionPolicy(
        keep_last=args.keep_last,
        older_than=args.older_than,
        include_tags=args.include_tag,
        exclude_tags=args.exclude_tag,
        protected_tags=args.protect if args.protect is not None else ("latest",),
        include_repositories=args.include_repo,
        exclude_repositories=args.exclude_repo,
        delete_untagged=args.delete_untagged,
        untagged_older_than=args.untagged_older_than,
    )


# -- The job ---------------------------------------------------------------------------------------


@attrs.define
class Job:
    """How far a run got: everything the report needs, also after an interruption."""

    apply: bool
    plan_file: Path
    plan: CleanupPlan | None = None
    started_at: datetime = attrs.field(factory=lambda: datetime.now(UTC))
    registry: str | None = None
    executor: CleanupExecutor | None = None
    gc: dict[str, Any] | None = None
    gc_ok: bool = True
    error: DOCRError | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        cleanup_ok = self.executor is not None and self.executor.report.ok
        return cleanup_ok and self.gc_ok and self.error is None and not self.interrupted

    def report(self) -> dict[str, Any]:
        """The JSON report: plan summary, cleanup report (partial if interrupted) and GC result."""
        plan = self.plan
        return {
            "ok": self.ok,
            "registry": self.registry,
            "mode": "apply" if self.apply else "dry-run",
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "interrupted": self.interrupted,
            "error": None
            if self.error is None
            else {"type": type(self.error).__name__, "message": str(self.error)},
            "plan": None
            if plan is None
            else {
                "file": str(self.plan_file),
                "created_at": plan.created_at.isoformat(),
                "policy": plan.policy.describe(),
                **plan.to_dict()["summary"],
                "expected_freed_bytes": plan.expected_freed_bytes,
            },
            "cleanup": None if self.executor is None else self.executor.report.to_dict(),
            "garbage_collection": self.gc,
        }


def log_failure(result: ItemResult) -> None:
    if result.status is ItemStatus.FAILED:
        logger.warning("could not delete %s: %s", result.deletion.key, result.detail)
    elif result.status is ItemStatus.SKIPPED:
        logger.warning("skipped %s for safety: %s", result.deletion.key, result.detail)


async def make_plan(client: DOCRClient, registry: str, args: argparse.Namespace) -> CleanupPlan:
    """Plan with the policy (lists everything, deletes nothing) and write the plan file."""
    plan = await build_plan(client, registry, args.policy)
    write_private(args.plan_file, plan.to_json())
    logger.info(
        "planned %d deletions (%d tags, %d manifests, ~%d MB after GC) in %d repositories; wrote %s",
        len(plan.deletions),
        plan.tags_removed,
        plan.manifests_removed,
        plan.expected_freed_bytes // 1_000_000,
        len(plan.repositories),
        args.plan_file,
    )
    return plan


async def garbage_collect(client: DOCRClient, registry: str, args: argparse.Namespace, job: Job) -> None:
    """Run a GC and wait for it; a failure or a timeout is recorded, not raised."""
    logger.info("starting a garbage collection on %s; it is read-only until it ends", registry)
    try:
        result: GCResult = await collect_garbage(
            client, registry, timeout=args.gc_timeout, poll_interval=args.gc_poll, if_active="wait"
        )
    except GarbageCollectionError as exc:
        job.gc, job.gc_ok = {"uuid": exc.uuid, "status": exc.status, "error": str(exc)}, False
    except WaitTimeoutError as exc:  # it keeps running on DigitalOcean's side
        job.gc, job.gc_ok = {"status": "timed_out", "error": str(exc)}, False
    else:
        job.gc = result.to_dict()
        job.gc_ok = result.garbage_collection.status == GCStatus.SUCCEEDED
    logger.log(logging.INFO if job.gc_ok else logging.ERROR, "garbage collection: %s", json.dumps(job.gc))


async def run_job(args: argparse.Namespace, *, connect: TargetFactory) -> int:
    """Plan (or load a plan), apply it with ``--apply``, collect garbage; always write the report.

    Cancellation (the signal handlers of :func:`main_async` cancel this) is not swallowed: the
    partial report is written on the way out.
    """
    job = Job(apply=args.apply, plan_file=args.from_plan or args.plan_file, plan=args.plan)
    try:
        async with connect(job.plan.registry if job.plan else args.registry) as (client, registry):
            job.registry = registry
            if job.plan is None:
                job.plan = await make_plan(client, registry, args)
            job.executor = CleanupExecutor(
                client, job.plan, concurrency=args.concurrency, dry_run=not args.apply, progress=log_failure
            )
            report = await job.executor.run()
            outcome = "dry run (nothing deleted)" if report.dry_run else "done" if report.ok else "FAILED"
            logger.info("cleanup %s: %s", outcome, report.counts)
            if report.skipped:  # not a failure: the registry changed, or the plan's policy forbids them
                logger.warning("%d items skipped for safety (see the report)", len(report.skipped))
            removed = report.counts[ItemStatus.DELETED] + report.counts[ItemStatus.ALREADY_GONE]
            if args.apply and not args.no_gc:
                if removed:  # already_gone counts: a rerun after an interrupted run still needs its GC
                    await garbage_collect(client, registry, args, job)
                else:
                    logger.info("nothing was deleted: no garbage collection needed")
    except DOCRError as exc:
        logger.error("cleanup of %s failed: %s", job.registry or args.registry or "the registry", exc)
        job.error = exc
    except asyncio.CancelledError:
        job.interrupted = True
        raise
    finally:
        write_private(args.report_file, json.dumps(job.report(), indent=2))
        logger.info("wrote %s (ok=%s)", args.report_file, job.ok)
    return EXIT_OK if job.ok else EXIT_FAILED


async def main_async(argv: Sequence[str] | None = None, *, connect: TargetFactory | None = None) -> int:
    """Parse ``argv`` and run the job (``connect`` opens ``(client, registry)``, for tests)."""
    return await run_with_signals(parse_args(argv), connect=connect)


async def run_with_signals(args: argparse.Namespace, *, connect: TargetFactory | None = None) -> int:
    """Run the job; SIGINT and SIGTERM cancel it cleanly (exit 128 + signal number)."""
    if connect is None:
        connect = partial(open_target, base_url=args.base_url)
    loop = asyncio.get_running_loop()
    job = asyncio.ensure_future(run_job(args, connect=connect))
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        logger.warning("%s received: stopping; the partial report will be written", sig.name)
        received.append(sig)
        job.cancel()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await job
    except asyncio.CancelledError:
        if not received:
            raise  # cancelled from outside, not by a signal
        return 128 + received[0]
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run_with_signals(args))


if __name__ == "__main__":
    sys.exit(main())
