"""The shared body of ``docr tags delete`` and ``docr manifests delete``: check, confirm, delete, report.

A mistyped registry, repository or item is never a success: the registry and the repository must
exist (exit 4, "repository team/web not found in registry example"), and so must every item unless
``--missing-ok`` (which never covers the registry or the repository). The deletions then run
through the cleanup executor (:class:`~docr_async.cleanup.CleanupExecutor`): each item is verified
just before its DELETE (a tag moved to another image, or a manifest that gained a tag, since the
lookup is ``skipped``), a running garbage collection is refused before anything is sent (exit 5),
repeated 401/403/409 responses trip its circuit breaker and an exhausted rate-limit budget stops the
run; items not sent are reported as ``not_attempted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..cleanup import CleanupExecutor, ItemResult, ItemStatus, plan_named_deletions
from ..cleanup.plan import DeletionKind
from ..names import resolve_repository, validate_digest, validate_tag
from ._exit import ExitCode, exit_code_for_status

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._client import DOCRClient
    from ..cleanup import CleanupReport
    from ._common import Cli

__all__ = ["ConcurrencyOpt", "DryRunOpt", "MissingOkOpt", "RepositoryOpt", "delete_many"]

ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Deletions in flight at once.")
]
RepositoryOpt = Annotated[str, typer.Option("--repository", "--repo", help="Repository (my/app).")]
MissingOkOpt = Annotated[
    bool,
    typer.Option(
        "--missing-ok",
        help="An item that does not exist is not an error (a missing registry or repository still is).",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Look everything up, delete nothing.")]

_FINE = frozenset({ItemStatus.DELETED, ItemStatus.ALREADY_GONE, ItemStatus.SKIPPED, ItemStatus.WOULD_DELETE})
_STYLES = {
    "deleted": "green",
    "already_gone": "dim",
    "would_delete": "yellow",
    "skipped": "yellow",
    "failed": "red",
    "not_attempted": "red",
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def delete_many(
    c: Cli,
    kind: DeletionKind,
    values: Sequence[str],
    *,
    repository: str,
    registry: str | None,
    force: bool,
    concurrency: int,
    missing_ok: bool = False,
    dry_run: bool = False,
) -> None:
    """Delete tags (``kind`` tag) or manifests by digest concurrently; print one result per item.

    Every name is validated and the user is asked (or ``--force`` checked) before anything is sent.
    """
    reg, repo = c.check(lambda: resolve_repository(repository, registry))
    validate = validate_tag if kind is DeletionKind.TAG else validate_digest
    items = c.check(lambda: list(dict.fromkeys(validate(v) for v in values)))
    if kind is DeletionKind.TAG:
        key, what = "tag", _plural(len(items), "tag")
    else:
        key, what = "digest", f"{_plural(len(items), 'manifest')} (and their tags)"
    if dry_run:
        c.out.banner("DRY RUN: nothing will be deleted. Drop --dry-run to delete.")
    else:
        c.confirm_destructive(f"{what} from {reg}/{repo}", force)

    async def work(client: DOCRClient) -> tuple[CleanupReport, tuple[str, ...]]:
        found = await plan_named_deletions(
            client,
            repo,
            registry=reg,
            tags=items if kind is DeletionKind.TAG else (),
            digests=items if kind is DeletionKind.MANIFEST else (),
            missing_ok=missing_ok,
        )
        executor = CleanupExecutor(
            client, found.plan, concurrency=concurrency, dry_run=dry_run, allow_empty_repositories=True
        )
        return await executor.run(), found.missing

    report, missing = c.run(work)
    by_item = {_item(r): r for r in report.results}
    rows = [
        _row(key, by_item[item], c.out.redact)
        if item in by_item
        else {key: item, "status": "already_gone", "detail": "not found (--missing-ok)"}
        for item in items
    ]
    if c.out.json:
        c.out.emit_json({"registry": reg, "repository": repo, "dry_run": dry_run, "results": rows})
    else:
        table = Table(header_style="bold")
        table.add_column(key.upper())
        table.add_column("STATUS")
        table.add_column("DETAIL", overflow="fold")
        for row in rows:
            style = _STYLES.get(row["status"], "yellow")
            table.add_row(
                row[key], f"[{style}]{row['status']}[/]", row.get("error") or row.get("detail") or ""
            )
        c.out.show(table)
    if dry_run:
        c.out.banner("DRY RUN: nothing was deleted. Drop --dry-run to delete.")
    if missing:
        c.out.warn(f"not found, ignored (--missing-ok): {', '.join(missing)}")
    if report.skipped:
        c.out.warn(
            f"{len(report.skipped)} skipped for safety (changed since it was looked up): "
            "not deleted, not a failure"
        )
    _exit_on_problems(c, report, len(rows))


def _item(result: ItemResult) -> str:
    deletion = result.deletion
    return deletion.tag or "" if deletion.kind is DeletionKind.TAG else deletion.digest


def _row(key: str, result: ItemResult, redact: Callable[[str], str]) -> dict[str, Any]:
    row: dict[str, Any] = {key: _item(result), "status": result.status.value}
    if result.status is ItemStatus.FAILED:
        row.update(
            error=redact(result.detail or ""),
            status_code=result.status_code,
            request_id=result.request_id,
            exit_code=int(exit_code_for_status(result.status_code)),
        )
    elif result.status is ItemStatus.NOT_ATTEMPTED:
        row["error"] = redact(result.detail or "")
    elif result.detail:
        row["detail"] = redact(result.detail)
    return row


def _exit_on_problems(c: Cli, report: CleanupReport, items: int) -> None:
    """Exit 0 when no item failed (skips for safety included); else the one code every problem
    shares, else 1.

    A failed item's code follows its HTTP status. Items not attempted follow from the stop that
    left them out: after a circuit breaker, the failures' code; when nothing failed, the run was
    stopped by the rate-limit budget (6).
    """
    problems = [r for r in report.results if r.status not in _FINE]
    if not problems:
        return
    codes = {exit_code_for_status(r.status_code) for r in problems if r.status is ItemStatus.FAILED}
    if len(problems) < items or len(codes) > 1:
        code = ExitCode.FAILED
    else:
        code = codes.pop() if codes else ExitCode.RATE_LIMITED
    counts = report.counts
    message = f"{counts['failed']} of {items} deletions failed"
    if counts["not_attempted"]:
        message += f", {counts['not_attempted']} not attempted"
    if report.stopped_reason:
        message += f" (stopped: {report.stopped_reason})"
    c.out.error(message)
    raise typer.Exit(int(code))
