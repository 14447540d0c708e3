"""``docr cleanup``: plan with a retention policy, then (only with --apply) delete and collect garbage."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer
from rich.table import Table
from rich.text import Text

from ..cleanup import (
    CleanupExecutor,
    CleanupPlan,
    CleanupReport,
    DeletionKind,
    GCResult,
    ItemResult,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
)
from ..exceptions import DOCRError
from ._common import GC_TYPES, Cli, GCTypeChoice, OutputOpt, cli
from ._exit import ExitCode, describe_error, exit_code_for
from ._output import Output, human_bytes

if TYPE_CHECKING:
    from .._client import DOCRClient

__all__ = ["cleanup_command", "plan_summary_table", "report_summary_table"]


_PATTERN_HELP = "Glob (v1.*) or regex with an re: prefix; repeatable."


@attrs.define
class _State:
    """What a run got to, kept outside the event loop so Ctrl-C can still report it."""

    plan: CleanupPlan | None = None
    executor: CleanupExecutor | None = None
    gc: GCResult | None = None
    gc_error: DOCRError | None = None


def cleanup_command(
    ctx: typer.Context,
    *,
    registry: Annotated[
        str | None, typer.Argument(help="Registry to clean (default: the account's only registry).")
    ] = None,
    keep_last: Annotated[
        int | None,
        typer.Option(
            "--keep-last", min=0, help="Keep the newest N candidate tags per repository.", show_default=False
        ),
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Only delete tags pushed longer ago than this (30d, 12h, 2w).",
            show_default=False,
        ),
    ] = None,
    include_tag: Annotated[
        list[str] | None,
        typer.Option(
            "--include-tag", help=f"Only these tags are candidates. {_PATTERN_HELP}", show_default=False
        ),
    ] = None,
    exclude_tag: Annotated[
        list[str] | None,
        typer.Option("--exclude-tag", help=f"Never delete these tags. {_PATTERN_HELP}", show_default=False),
    ] = None,
    protect: Annotated[
        list[str] | None,
        typer.Option(
            "--protect",
            help=f"Always keep these tags, in addition to 'latest'. {_PATTERN_HELP}",
            show_default=False,
        ),
    ] = None,
    no_default_protect: Annotated[
        bool, typer.Option("--no-default-protect", help="Do not protect 'latest' automatically.")
    ] = False,
    include_repo: Annotated[
        list[str] | None,
        typer.Option(
            "--include-repo", help=f"Only clean these repositories. {_PATTERN_HELP}", show_default=False
        ),
    ] = None,
    exclude_repo: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-repo", help=f"Leave these repositories alone. {_PATTERN_HELP}", show_default=False
        ),
    ] = None,
    delete_untagged: Annotated[
        bool, typer.Option("--delete-untagged", help="Also delete manifests no tag points at.")
    ] = False,
    untagged_older_than: Annotated[
        str | None,
        typer.Option(
            "--untagged-older-than",
            help="Only delete untagged manifests older than this.",
            show_default=False,
        ),
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Really delete (the default is a dry run).")] = False,
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
    ] = GCTypeChoice.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS,
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
    policy_options = [
        keep_last is not None,
        older_than,
        include_tag,
        exclude_tag,
        protect,
        no_default_protect,
        include_repo,
        exclude_repo,
        delete_untagged,
        untagged_older_than,
    ]
    saved: CleanupPlan | None = None
    policy: RetentionPolicy | None = None
    if plan_file is not None:
        if any(policy_options):
            c.fail(
                "--plan-file executes a saved plan: policy options cannot be combined with it", ExitCode.USAGE
            )
        if save_plan is not None:
            c.fail("--save-plan cannot be combined with --plan-file", ExitCode.USAGE)
        saved = _load_plan(c, plan_file)
        if saved.registry != registry:
            c.fail(f"{plan_file} is a plan for registry {saved.registry!r}, not {registry!r}", ExitCode.USAGE)
    else:
        if untagged_older_than is not None and not delete_untagged:
            c.fail("--untagged-older-than needs --delete-untagged", ExitCode.USAGE)
        if keep_last is None and older_than is None and not include_tag and not delete_untagged:
            c.fail(
                "the policy deletes nothing: "
                "give --keep-last, --older-than, --include-tag or --delete-untagged",
                ExitCode.USAGE,
            )
        protected = ([] if no_default_protect else ["latest"]) + list(protect or [])
        policy = c.check(
            lambda: RetentionPolicy(
                keep_last=keep_last,
                older_than=older_than,
                include_tags=tuple(include_tag or ()),
                exclude_tags=tuple(exclude_tag or ()),
                protected_tags=tuple(dict.fromkeys(protected)),
                include_repositories=tuple(include_repo or ()),
                exclude_repositories=tuple(exclude_repo or ()),
                delete_untagged=delete_untagged,
                untagged_older_than=untagged_older_than,
            ),
        )
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
        report = await _execute(client, out, state, plan, dry_run=dry_run, concurrency=concurrency)
        if gc and dry_run:
            out.info(f"dry run: would start a garbage collection ({gc_type.api.value}) after deleting")
        elif gc and report.stopped_reason is not None:
            out.warn("not starting a garbage collection: the run stopped early")
        elif gc:
            out.info(
                f"starting a garbage collection ({gc_type.api.value}); the registry is read-only meanwhile"
            )
            try:
                state.gc = await collect_garbage(
                    client,
                    registry,
                    type=gc_type.api,
                    wait=gc_wait,
                    timeout=gc_timeout,
                    poll_interval=gc_poll_interval,
                )
            except DOCRError as exc:
                state.gc_error = exc
        return report

    interrupted = False
    try:
        report = asyncio.run(c.with_client(work))
    except KeyboardInterrupt:
        interrupted = True
        if state.executor is None:
            c.fail("interrupted before anything was deleted", ExitCode.INTERRUPTED)
        report = state.executor.report
    except DOCRError as exc:
        c.fail(describe_error(exc), exit_code_for(exc))
    _finish(c, state, report, report_path=report_path, interrupted=interrupted)


async def _scan(client: DOCRClient, out: Output, registry: str, policy: RetentionPolicy) -> CleanupPlan:
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
    client: DOCRClient, out: Output, state: _State, plan: CleanupPlan, *, dry_run: bool, concurrency: int
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

        def on_item(_: ItemResult) -> None:
            progress.advance(task)

        state.executor = CleanupExecutor(
            client, plan, concurrency=concurrency, dry_run=dry_run, progress=on_item
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
        _show_failures(out, report)
        if state.gc is not None:
            out.show(_gc_summary_table(state.gc))
    if report.dry_run:
        out.banner("DRY RUN: nothing was deleted. Add --apply to delete.")
    if interrupted:
        c.fail("interrupted: the report above shows what was done", ExitCode.INTERRUPTED)
    if not report.ok:
        counts = report.counts
        c.fail(
            f"{counts['failed']} failed, {counts['not_attempted']} not attempted, {counts['skipped']} skipped"
            + (f" ({report.stopped_reason})" if report.stopped_reason else ""),
            ExitCode.FAILED,
        )
    if state.gc_error is not None:
        c.fail(f"garbage collection: {describe_error(state.gc_error)}", exit_code_for(state.gc_error))


def _show_failures(out: Output, report: CleanupReport, limit: int = 20) -> None:
    bad = [r for r in report.results if r.status in (ItemStatus.FAILED, ItemStatus.SKIPPED)]
    if not bad:
        return
    table = Table(
        title=f"Problems ({len(bad)})", title_justify="left", caption_justify="left", header_style="bold"
    )
    table.add_column("ITEM", overflow="fold")
    table.add_column("STATUS")
    table.add_column("DETAIL", overflow="fold")
    for result in bad[:limit]:
        table.add_row(result.deletion.key, result.status.value, out.redact(result.detail or ""))
    if len(bad) > limit:
        table.caption = f"... and {len(bad) - limit} more (see --report)"
    out.show(table)


def plan_summary_table(plan: CleanupPlan) -> Table:
    """Per-repository counts of what the plan deletes and keeps, with totals."""
    tag_dels: Counter[str] = Counter()
    manifest_dels: Counter[str] = Counter()
    freed_tags: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for deletion in plan.deletions:
        if deletion.kind is DeletionKind.TAG:
            tag_dels[deletion.repository] += 1
            freed_tags[deletion.repository] += 1
        else:
            manifest_dels[deletion.repository] += 1
            freed_tags[deletion.repository] += len(deletion.tags)
    for item in plan.kept:
        kept[item.repository] += 1
    table = Table(
        title=f"Cleanup plan for {plan.registry}: {len(plan.repositories)} repositories, "
        f"{plan.tags_scanned} tags and {plan.manifests_scanned} manifests scanned",
        title_justify="left",
        caption_justify="left",
        header_style="bold",
        show_footer=True,
    )
    table.add_column("REPOSITORY", "total")
    table.add_column("TAG DELETES", str(sum(tag_dels.values())), justify="right")
    table.add_column("MANIFEST DELETES", str(sum(manifest_dels.values())), justify="right")
    table.add_column("TAGS REMOVED", str(plan.tags_removed), justify="right")
    table.add_column("KEPT", str(sum(kept.values())), justify="right")
    for repo in plan.repositories:
        table.add_row(
            repo, str(tag_dels[repo]), str(manifest_dels[repo]), str(freed_tags[repo]), str(kept[repo])
        )
    table.caption = (
        f"expected to free about {human_bytes(plan.expected_freed_bytes)} after garbage collection"
    )
    return table


def report_summary_table(report: CleanupReport) -> Table:
    """Counts per outcome, tags removed, requests and duration."""
    title = "Cleanup report (DRY RUN)" if report.dry_run else "Cleanup report"
    table = Table(title=title, title_justify="left", caption_justify="left", header_style="bold")
    table.add_column("OUTCOME")
    table.add_column("COUNT", justify="right")
    styles = {
        "deleted": "green",
        "already_gone": "dim",
        "failed": "red",
        "not_attempted": "yellow",
        "skipped": "yellow",
    }
    for status, count in report.counts.items():
        if count or (status in ("deleted", "failed") and not report.dry_run):
            table.add_row(Text(status, style=styles.get(status, "")), str(count))
    if report.dry_run:
        would = sum(
            1 if r.deletion.kind is DeletionKind.TAG else len(r.deletion.tags)
            for r in report.results
            if r.status is ItemStatus.WOULD_DELETE
        )
        table.add_row("tags that would be removed", str(would))
    else:
        table.add_row("tags removed", str(report.tags_removed))
    stats = report.requests
    table.add_row("requests (retries, 429s)", f"{stats.attempts} ({stats.retries}, {stats.rate_limited})")
    table.add_row("duration", f"{report.duration_seconds:.1f}s")
    if report.stopped_reason:
        table.caption = f"stopped: {report.stopped_reason}"
    return table


def _gc_summary_table(result: GCResult) -> Table:
    gc = result.garbage_collection
    table = Table(
        title="Garbage collection", title_justify="left", caption_justify="left", header_style="bold"
    )
    table.add_column("FIELD")
    table.add_column("VALUE", justify="right")
    table.add_row("uuid", gc.uuid)
    table.add_row("status", gc.status)
    table.add_row("blobs deleted", str(gc.blobs_deleted if gc.blobs_deleted is not None else "-"))
    table.add_row("freed", human_bytes(gc.freed_bytes))
    table.add_row("storage before", human_bytes(result.storage_before))
    table.add_row("storage after", human_bytes(result.storage_after))
    return table


def _load_plan(c: Cli, path: Path) -> CleanupPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        c.fail(f"cannot read {path}: {exc.strerror or exc}", ExitCode.USAGE)
    return c.check(lambda: CleanupPlan.from_json(text))


def _write(c: Cli, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        c.fail(f"cannot write {path}: {exc.strerror or exc}", ExitCode.FAILED)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
