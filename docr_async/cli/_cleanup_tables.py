"""The tables ``docr cleanup`` (and ``docr demo``) print: plan, report, problems, garbage collection."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from ..cleanup import DeletionKind, ItemStatus, RetentionRules
from ._output import human_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..cleanup import CleanupPlan, CleanupReport, Decision, GCResult, RepositoryDecisions
    from ._output import Output

__all__ = ["explain_table", "gc_summary_table", "plan_summary_table", "report_summary_table", "show_failures"]


def show_failures(out: Output, report: CleanupReport, limit: int = 20) -> None:
    """The failed and skipped items, with their reasons (at most ``limit`` rows)."""
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
    rules = plan.policy if isinstance(plan.policy, RetentionRules) else None
    table.add_column("REPOSITORY", "total")
    if rules is not None:
        table.add_column("RULE", "")
    table.add_column("TAG DELETES", str(sum(tag_dels.values())), justify="right")
    table.add_column("MANIFEST DELETES", str(sum(manifest_dels.values())), justify="right")
    table.add_column("TAGS REMOVED", str(plan.tags_removed), justify="right")
    table.add_column("KEPT", str(sum(kept.values())), justify="right")
    for repo in plan.repositories:
        found = rules.rule_for(repo) if rules is not None else None
        label = [] if rules is None else [found[1].label if found is not None else "-"]
        counts = (tag_dels[repo], manifest_dels[repo], freed_tags[repo], kept[repo])
        table.add_row(repo, *label, *(str(n) for n in counts))
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
    median, p99 = report.window_median_seconds, report.window_p99_seconds
    if median is not None and p99 is not None:
        table.add_row(
            f"verification window, median / p99 ({report.verification_requests} listing requests)",
            f"{median:.1f}s / {p99:.1f}s",
        )
    table.add_row("duration", f"{report.duration_seconds:.1f}s")
    if report.stopped_reason:
        table.caption = f"stopped: {report.stopped_reason}"
    return table


def gc_summary_table(result: GCResult) -> Table:
    """The garbage collection's outcome and the storage before and after."""
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


def _item(decision: Decision) -> str:
    """``v1.2`` for a tag; ``@sha256:0123456789ab (v1, v2)`` for a manifest and the tags on it."""
    if decision.tag is not None:
        return decision.tag
    tags = f" ({', '.join(decision.tags)})" if decision.tags else " (untagged)"
    return f"@{decision.digest[:19]}{tags}"


def explain_table(registry: str, explained: Sequence[RepositoryDecisions]) -> Table:
    """``--explain``: per repository the rule that applies; per tag or manifest keep/delete and why."""
    deleting = sum(d.deleted for r in explained for d in r.decisions)
    table = Table(
        title=f"Policy explained for {registry}: {len(explained)} repositories, {deleting} deletions",
        title_justify="left",
        caption_justify="left",
        header_style="bold",
    )
    table.add_column("REPOSITORY", overflow="fold")
    table.add_column("RULE", overflow="fold")
    table.add_column("ITEM", overflow="fold")
    table.add_column("VERDICT", no_wrap=True)
    table.add_column("REASON", overflow="fold")
    for repo in explained:
        if repo.rule is None:
            table.add_row(repo.repository, "-", "", "left alone", "no rule selects this repository")
            table.add_section()
            continue
        first = True
        for d in repo.decisions:
            verdict = Text(d.verdict.value, style="red" if d.deleted else "green")
            head = (repo.repository, repo.rule) if first else ("", "")
            table.add_row(*head, _item(d), verdict, d.reason.removeprefix(f"{repo.rule}: "))
            first = False
        if first:
            table.add_row(repo.repository, repo.rule, "", "", "empty repository")
        table.add_section()
    table.caption = "nothing was deleted (--explain); drop --explain to plan, add --apply to delete"
    return table
