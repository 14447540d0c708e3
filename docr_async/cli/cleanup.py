"""``docr cleanup``: plan with a retention policy, then (only with --apply) delete and collect garbage."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer

from ..cleanup import (
    CleanupExecutor,
    CleanupPlan,
    CleanupReport,
    GCResult,
    ItemResult,
    RetentionPolicy,
    RetentionRules,
    build_plan,
    collect_garbage,
    explain_policy,
    write_private,
)
from ..exceptions import DOCRError
from ._cleanup_tables import (
    explain_table,
    gc_summary_table,
    plan_summary_table,
    report_summary_table,
    show_failures,
)
from ._common import GC_TYPES, Cli, GCTypeChoice, OutputOpt, cli
from ._exit import ExitCode, describe_error, exit_code_for
from ._policy_options import (
    DeleteUntaggedOpt,
    ExcludeRepoOpt,
    ExcludeTagOpt,
    IncludeRepoOpt,
    IncludeTagOpt,
    KeepLastOpt,
    NoDefaultProtectOpt,
    OlderThanOpt,
    PolicyFileOpt,
    ProtectOpt,
    UntaggedOlderThanOpt,
    any_policy_option,
    retention_from_params,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .._client import DOCRClient
    from ._output import Output

__all__ = ["cleanup_command", "plan_summary_table", "report_summary_table"]


@attrs.define
class _State:
    """What a run got to, kept outside the event loop so Ctrl-C can still report it."""

    plan: CleanupPlan | None = None
    executor: CleanupExecutor | None = None
    gc_started: GCResult | None = None
    gc: GCResult | None = None
    gc_error: DOCRError | None = None
    terminated: bool = False


def cleanup_command(
    ctx: typer.Context,
    *,
    registry: Annotated[
        str | None, typer.Argument(help="Registry to clean (default: the account's only registry).")
    ] = None,
    keep_last: KeepLastOpt = None,
    older_than: OlderThanOpt = None,
    include_tag: IncludeTagOpt = None,
    exclude_tag: ExcludeTagOpt = None,
    protect: ProtectOpt = None,
    no_default_protect: NoDefaultProtectOpt = False,
    include_repo: IncludeRepoOpt = None,
    exclude_repo: ExcludeRepoOpt = None,
    delete_untagged: DeleteUntaggedOpt = False,
    untagged_older_than: UntaggedOlderThanOpt = None,
    policy_file: PolicyFileOpt = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Show which rule applies to each repository and why each tag is kept or deleted; "
            "deletes nothing.",
        ),
    ] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Really delete (the default is a dry run).")] = False,
    allow_empty_repositories: Annotated[
        bool,
        typer.Option(
            "--allow-empty-repositories",
            help="Allow a plan that deletes every tag of a repository (refused by default, exit 2).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Same as --apply.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Deletions in flight at once.")
    ] = 8,
    gc: Annotated[bool, typer.Option("--gc", help="Start a garbage collection after deleting.")] = False,
    gc_wait: Annotated[
        bool, typer.Option("--gc-wait/--no-gc-wait", help="Wait for the garbage collection to end.")
    ] = True,
    gc_type: Annotated[
        GCTypeChoice,
        typer.Option("--gc-type", metavar="<type>", help=f"What the garbage collection removes: {GC_TYPES}."),
    ] = GCTypeChoice.UNREFERENCED_BLOBS_ONLY,
    gc_timeout: Annotated[
        float,
        typer.Option("--gc-timeout", min=0, help="Longest wait for the garbage collection, in seconds."),
    ] = 1800.0,
    gc_poll_interval: Annotated[
        float,
        typer.Option(
            "--gc-poll-interval", min=0.01, help="First garbage collection polling interval, in seconds."
        ),
    ] = 5.0,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan-file",
            help="Execute this saved plan instead of planning.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    save_plan: Annotated[
        Path | None,
        typer.Option("--save-plan", help="Write the plan to this file.", dir_okay=False, show_default=False),
    ] = None,
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write the JSON report to this file.", dir_okay=False, show_default=False
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Delete old tags and untagged manifests by a retention policy. A DRY RUN unless --apply.

    Plans first (every listing is read before anything is deleted), shows the plan, then with
    --apply deletes concurrently and optionally runs a garbage collection (--gc), which is what
    actually frees storage.
    """
    c = cli(ctx, output)
    registry = c.registry_name(registry)
    dry_run = not (apply or yes)
    saved: CleanupPlan | None = None
    policy: RetentionPolicy | RetentionRules | None = None
    if plan_file is not None:
        if any_policy_option(ctx.params):
            c.fail(
                "--plan-file executes a saved plan: policy options cannot be combined with it", ExitCode.USAGE
            )
        if save_plan is not None:
            c.fail("--save-plan cannot be combined with --plan-file", ExitCode.USAGE)
        if explain:
            c.fail("--explain explains a policy: it cannot be combined with --plan-file", ExitCode.USAGE)
        saved = _load_plan(c, plan_file)
        if saved.registry != registry:
            c.fail(f"{plan_file} is a plan for registry {saved.registry!r}, not {registry!r}", ExitCode.USAGE)
    else:
        policy = retention_from_params(c, ctx.params, required=True)
    if explain:
        if apply or yes or save_plan is not None or gc:
            c.fail(
                "--explain deletes nothing: it cannot be combined with --apply, --save-plan or --gc",
                ExitCode.USAGE,
            )
        assert policy is not None
        _explain(c, registry, policy, concurrency)
        return
    out = c.out
    if dry_run:
        out.banner("DRY RUN: nothing will be deleted. Add --apply to delete.")
    state = _State()

    async def work(client: DOCRClient) -> CleanupReport:
        if saved is not None:
            plan = saved
            made = f"{plan.created_at:%Y-%m-%d %H:%M}Z"
            out.info(f"loaded plan {plan_file} ({len(plan.deletions)} deletions, made {made})")
        else:
            assert policy is not None
            plan = await _scan(client, out, registry, policy)
        state.plan = plan
        if save_plan is not None:
            _write(c, save_plan, plan.to_json() + "\n")
            out.info(f"plan saved to {save_plan}")
        if not out.json:
            out.show(plan_summary_table(plan))
        report = await _execute(
            client,
            out,
            state,
            plan,
            dry_run=dry_run,
            concurrency=concurrency,
            registry=registry,
            allow_empty_repositories=allow_empty_repositories,
        )
        if gc and dry_run:
            out.info(f"dry run: would start a garbage collection ({gc_type.api.value}) after deleting")
        elif gc and report.stopped_reason is not None:
            out.warn("not starting a garbage collection: the run stopped early")
        elif gc:
            out.info(
                f"starting a garbage collection ({gc_type.api.value}); the registry is read-only meanwhile"
            )
            try:
                state.gc_started = await collect_garbage(client, registry, type=gc_type.api, wait=False)
                state.gc = state.gc_started
                if gc_wait:
                    state.gc = None  # until it ends: an interruption says how to cancel it
                    started = state.gc_started.garbage_collection
                    out.info(f"garbage collection {started.uuid} started; waiting (up to {gc_timeout:g}s)")
                    finished = await client.garbage_collections.wait(
                        started.uuid, registry=registry, timeout=gc_timeout, poll_interval=gc_poll_interval
                    )
                    after = (await client.registries.get(registry)).storage_usage_bytes
                    state.gc = attrs.evolve(
                        state.gc_started, garbage_collection=finished, storage_after=after
                    )
            except DOCRError as exc:
                state.gc_error = exc
        return report

    interrupted = False
    try:
        report = asyncio.run(_until_sigterm(c, work, state))
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        if isinstance(exc, asyncio.CancelledError) and not state.terminated:
            raise
        interrupted = True
        code = ExitCode.TERMINATED if state.terminated else ExitCode.INTERRUPTED
        _gc_continues(c, state, registry)
        if state.executor is None:
            c.fail("interrupted before anything was deleted", code)
        report = state.executor.report
    except DOCRError as exc:
        c.fail(describe_error(exc), exit_code_for(exc))
    except BaseExceptionGroup as group:  # several listings failed at once while planning
        c.fail_group(group)
    _finish(c, state, report, report_path=report_path, interrupted=interrupted)


async def _until_sigterm(
    c: Cli, work: Callable[[DOCRClient], Awaitable[CleanupReport]], state: _State
) -> CleanupReport:
    """Run ``work``; SIGTERM cancels it like Ctrl-C does (scheduling stops, the report is kept)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None

    def on_sigterm() -> None:
        c.out.warn("SIGTERM received: stopping; the partial report follows")
        state.terminated = True
        main.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await c.with_client(work)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _gc_continues(c: Cli, state: _State, registry: str) -> None:
    """After an interruption while waiting for a GC: it keeps running, and how to cancel it."""
    if state.gc_started is None or state.gc is not None:
        return
    uuid = state.gc_started.garbage_collection.uuid
    c.out.warn(
        f"garbage collection {uuid} continues on DigitalOcean's side ({registry} stays read-only "
        f"until it ends); to stop it: docr gc cancel {uuid} --registry {registry}"
    )


def _explain(c: Cli, registry: str, policy: RetentionPolicy | RetentionRules, concurrency: int) -> None:
    """``--explain``: list, decide, print; nothing is deleted."""
    out = c.out

    async def work(client: DOCRClient) -> Any:
        out.info(f"scanning {registry} ...")
        return await explain_policy(client, registry, policy, concurrency=concurrency)

    explained = c.run(work)
    if out.json:
        rules = policy if isinstance(policy, RetentionRules) else RetentionRules.from_policy(policy)
        out.emit_json(
            {
                "registry": registry,
                "policy": rules.describe(),
                "repositories": [r.to_dict() for r in explained],
            }
        )
    else:
        out.show(explain_table(registry, explained))


async def _scan(
    client: DOCRClient, out: Output, registry: str, policy: RetentionPolicy | RetentionRules
) -> CleanupPlan:
    out.info(f"scanning {registry} ...")
    with out.progress() as progress:
        task = progress.add_task("scanning repositories", total=None)

        def on_repository(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"scanned {name}")

        plan = await build_plan(client, registry, policy, on_repository=on_repository)
        progress.update(
            task,
            description="scan complete",
            total=max(1, len(plan.repositories)),
            completed=len(plan.repositories),
        )
    return plan


async def _execute(
    client: DOCRClient,
    out: Output,
    state: _State,
    plan: CleanupPlan,
    *,
    dry_run: bool,
    concurrency: int,
    registry: str,
    allow_empty_repositories: bool,
) -> CleanupReport:
    """Run the plan (or the dry run) with a progress bar; the executor is kept in ``state``."""
    if not plan.deletions:
        out.info("nothing to delete")
    elif not dry_run:
        removed = f"{plan.tags_removed} tags, {plan.manifests_removed} manifests"
        out.info(f"deleting: {len(plan.deletions)} requests ({removed})")
    with out.progress() as progress:
        task = progress.add_task(
            "dry run" if dry_run else "deleting", total=len(plan.deletions), visible=bool(plan.deletions)
        )

        done = 0

        def on_item(result: ItemResult) -> None:
            nonlocal done
            done += 1
            progress.advance(task)
            if not out.interactive and not dry_run:  # no progress bar: one audit line per item
                out.info(f"[{done}/{len(plan.deletions)}] {result.status.value} {result.deletion.key}")

        state.executor = CleanupExecutor(
            client,
            plan,
            concurrency=concurrency,
            dry_run=dry_run,
            progress=on_item,
            registry=registry,
            allow_empty_repositories=allow_empty_repositories,
        )
        return await state.executor.run()


def _finish(
    c: Cli, state: _State, report: CleanupReport, *, report_path: Path | None, interrupted: bool
) -> None:
    out = c.out
    gc_data = state.gc.to_dict() if state.gc is not None else None
    if report_path is not None:
        document = {**report.to_dict(), "garbage_collection": gc_data, "interrupted": interrupted}
        _write(c, report_path, out.redact(_json(document)))
        out.info(f"report written to {report_path}")
    if out.json:
        out.emit_json(
            {
                "registry": report.registry,
                "dry_run": report.dry_run,
                "interrupted": interrupted,
                "plan": state.plan.to_dict() if state.plan is not None else None,
                "report": report.to_dict(),
                "garbage_collection": gc_data,
            }
        )
    else:
        out.show(report_summary_table(report))
        show_failures(out, report)
        if state.gc is not None:
            out.show(gc_summary_table(state.gc))
    if report.dry_run:
        out.banner("DRY RUN: nothing was deleted. Add --apply to delete.")
    if interrupted:
        code = ExitCode.TERMINATED if state.terminated else ExitCode.INTERRUPTED
        c.fail("interrupted: the report above shows what was done", code)
    if report.skipped:
        out.warn(
            f"{len(report.skipped)} items skipped for safety (changed since planning, or refused by "
            "the plan's own policy): not deleted, not a failure; see the reasons above"
        )
    if not report.ok:
        counts = report.counts
        c.fail(
            f"{counts['failed']} failed, {counts['not_attempted']} not attempted"
            + (f" ({report.stopped_reason})" if report.stopped_reason else ""),
            ExitCode.FAILED,
        )
    if state.gc_error is not None:
        c.fail(f"garbage collection: {describe_error(state.gc_error)}", exit_code_for(state.gc_error))


def _load_plan(c: Cli, path: Path) -> CleanupPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        c.fail(f"cannot read {path}: {exc.strerror or exc}", ExitCode.USAGE)
    return c.check(lambda: CleanupPlan.from_json(text))


def _write(c: Cli, path: Path, text: str) -> None:
    try:
        write_private(path, text)
    except OSError as exc:
        c.fail(f"cannot write {path}: {exc.strerror or exc}", ExitCode.FAILED)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
