"""The shared body of ``docr tags delete`` and ``docr manifests delete``: check, confirm, delete, report.

The deletions run through the cleanup executor (:class:`~docr_async.cleanup.CleanupExecutor`), so
they get its outcome mapping, its circuit breaker (repeated 401/403/409 responses stop the run) and
its budget stop (an exhausted rate-limit budget stops the run); items not sent are reported as
``not_attempted``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..cleanup.executor import CleanupExecutor, ItemResult, ItemStatus
from ..cleanup.plan import CleanupPlan, Deletion, DeletionKind
from ..cleanup.policy import RetentionPolicy
from ..exceptions import NotFoundError
from ..names import resolve_repository, validate_digest, validate_tag
from ._exit import ExitCode, exit_code_for_status

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._client import DOCRClient
    from ..cleanup.executor import CleanupReport
    from ._common import Cli

__all__ = ["ConcurrencyOpt", "RepositoryOpt", "delete_many"]

ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Deletions in flight at once.")
]
RepositoryOpt = Annotated[str, typer.Option("--repository", "--repo", help="Repository (my/app).")]

_DONE = frozenset({ItemStatus.DELETED, ItemStatus.ALREADY_GONE})
_STYLES = {"deleted": "green", "already_gone": "dim", "failed": "red", "skipped": "yellow"}


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
    c.confirm_destructive(f"{what} from {reg}/{repo}", force)

    async def work(client: DOCRClient) -> CleanupReport:
        tags_of = await _current_tags(client, reg, repo) if kind is DeletionKind.MANIFEST else {}
        deletions = tuple(_deletion(kind, repo, item, tags_of) for item in items)
        plan = CleanupPlan(
            registry=reg,
            created_at=datetime.now(UTC),
            policy=_requested(deletions),
            deletions=deletions,
            repositories=(repo,),
        )
        # No GC pre-check: during a GC the deletions fail with 409 as before (and trip the breaker).
        return await CleanupExecutor(client, plan, concurrency=concurrency, check_gc=False).run()

    report = c.run(work)
    rows = [_row(key, result, c.out.redact) for result in report.results]
    if c.out.json:
        c.out.emit_json({"registry": reg, "repository": repo, "results": rows})
    else:
        table = Table(header_style="bold")
        table.add_column(key.upper())
        table.add_column("STATUS")
        table.add_column("DETAIL", overflow="fold")
        for row in rows:
            style = _STYLES.get(row["status"], "yellow")
            table.add_row(row[key], f"[{style}]{row['status']}[/]", row.get("error") or "")
        c.out.show(table)
    _exit_on_problems(c, report)


async def _current_tags(client: DOCRClient, registry: str, repository: str) -> dict[str, tuple[str, ...]]:
    """The tags of every manifest now: a manifest deletion removes exactly these (the executor skips
    a manifest that gains another tag before its deletion is sent)."""
    try:
        return {m.digest: tuple(m.tags) async for m in client.manifests.list(repository, registry=registry)}
    except NotFoundError:  # no such repository: every digest is already gone
        return {}


def _deletion(
    kind: DeletionKind, repository: str, item: str, tags_of: dict[str, tuple[str, ...]]
) -> Deletion:
    if kind is DeletionKind.TAG:
        # The digest a tag points at is not needed to delete it (and not known without a listing).
        return Deletion(kind=kind, repository=repository, digest="", tag=item, reason="requested")
    return Deletion(
        kind=kind, repository=repository, digest=item, tags=tags_of.get(item, ()), reason="requested"
    )


def _requested(deletions: Sequence[Deletion]) -> RetentionPolicy:
    """A policy that describes exactly these deletions (the executor runs the deletions, not this)."""
    if all(d.kind is DeletionKind.TAG for d in deletions):
        return RetentionPolicy(include_tags=tuple(d.tag or "" for d in deletions), protected_tags=())
    tags = tuple(t for d in deletions for t in d.tags)
    return RetentionPolicy(include_tags=tags, protected_tags=(), delete_untagged=True)


def _row(key: str, result: ItemResult, redact: Callable[[str], str]) -> dict[str, Any]:
    deletion = result.deletion
    row: dict[str, Any] = {
        key: deletion.tag if deletion.kind is DeletionKind.TAG else deletion.digest,
        "status": result.status.value,
    }
    if result.status is ItemStatus.FAILED:
        row.update(
            error=redact(result.detail or ""),
            status_code=result.status_code,
            request_id=result.request_id,
            exit_code=int(exit_code_for_status(result.status_code)),
        )
    elif result.status not in _DONE:
        row["error"] = redact(result.detail or "")
    return row


def _exit_on_problems(c: Cli, report: CleanupReport) -> None:
    """Exit 0 when every item is gone; else with the one code every problem shares, else 1.

    A failed item's code follows its HTTP status; a skipped item's is 1. Items not attempted
    follow from the stop that left them out: after a circuit breaker, the failures' code; when
    nothing failed, the run was stopped by the rate-limit budget (6).
    """
    results = report.results
    problems = [r for r in results if r.status not in _DONE]
    if not problems:
        return
    codes = {
        exit_code_for_status(r.status_code) if r.status is ItemStatus.FAILED else ExitCode.FAILED
        for r in problems
        if r.status is not ItemStatus.NOT_ATTEMPTED
    }
    if len(problems) < len(results) or len(codes) > 1:
        code = ExitCode.FAILED
    else:
        code = codes.pop() if codes else ExitCode.RATE_LIMITED
    counts = report.counts
    message = f"{counts['failed']} of {len(results)} deletions failed"
    for status in ("not_attempted", "skipped"):
        if counts[status]:
            message += f", {counts[status]} {status.replace('_', ' ')}"
    if report.stopped_reason:
        message += f" (stopped: {report.stopped_reason})"
    c.out.error(message)
    raise typer.Exit(int(code))
