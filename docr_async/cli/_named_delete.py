"""``docr tags delete`` / ``docr manifests delete``: named items, through the cleanup executor.

Shared by both commands (they differ only in what they name). The registry and the repository
must exist (exit 4, "repository team/web not found in registry example"), and so must every item
unless ``--missing-ok``. The deletions then run through :class:`CleanupExecutor`, so each item is
verified just before its DELETE (a tag moved since the lookup is skipped), a running garbage
collection is refused (exit 5), and repeated 401/403/409 trip its circuit breaker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.table import Table

from ..cleanup import CleanupExecutor, CleanupReport, ItemStatus, plan_named_deletions
from ..exceptions import ValidationError, status_error_class
from ..names import resolve_repository, validate_digest, validate_tag
from ._exit import ExitCode, describe_error, exit_code_for

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ._common import Cli

__all__ = ["delete_named"]

_STYLES = {
    "deleted": "green",
    "already_gone": "dim",
    "would_delete": "yellow",
    "skipped": "yellow",
    "failed": "red",
    "not_attempted": "red",
}


def delete_named(
    c: Cli,
    *,
    kind: Literal["tag", "digest"],
    items: list[str],
    repository: str,
    registry: str | None,
    force: bool,
    concurrency: int,
    missing_ok: bool,
    dry_run: bool,
) -> None:
    """Delete the named tags (``kind="tag"``) or manifests (``kind="digest"``) and print one row each."""
    try:
        reg, repo = resolve_repository(repository, registry)
        check = validate_tag if kind == "tag" else validate_digest
        names = list(dict.fromkeys(check(item) for item in items))
    except (ValidationError, ValueError) as exc:
        c.fail(describe_error(exc), ExitCode.USAGE)
    noun = "tag" if kind == "tag" else "manifest"
    what = f"{len(names)} {noun}{'' if len(names) == 1 else 's'}"
    if not dry_run:
        c.confirm_destructive(
            f"{what}{' (and their tags)' if kind == 'digest' else ''} from {reg}/{repo}", force
        )
    else:
        c.out.banner("DRY RUN: nothing will be deleted. Drop --dry-run to delete.")

    async def work(client: DOCRClient) -> tuple[CleanupReport, tuple[str, ...]]:
        found = await plan_named_deletions(
            client,
            repo,
            registry=reg,
            tags=names if kind == "tag" else (),
            digests=names if kind == "digest" else (),
            missing_ok=missing_ok,
        )
        executor = CleanupExecutor(
            client, found.plan, concurrency=concurrency, dry_run=dry_run, allow_empty_repositories=True
        )
        return await executor.run(), found.missing

    report, missing = c.run(work)
    by_name = {(r.deletion.tag if kind == "tag" else r.deletion.digest): r for r in report.results}
    rows: list[dict[str, Any]] = []
    for name in names:
        result = by_name.get(name)
        if result is None:  # absent, and --missing-ok
            rows.append({kind: name, "status": "already_gone", "detail": "not found (--missing-ok)"})
            continue
        row: dict[str, Any] = {kind: name, "status": result.status.value}
        if result.detail:
            row["detail"] = c.out.redact(result.detail)
        if result.status is ItemStatus.FAILED:
            row["error"] = row.pop("detail", "")
            row["status_code"] = result.status_code
            row["request_id"] = result.request_id
        rows.append(row)
    _show(c, kind, rows, {"registry": reg, "repository": repo, "dry_run": dry_run})
    _exit(c, report, rows, dry_run=dry_run, missing=missing)


def _show(c: Cli, kind: str, rows: list[dict[str, Any]], context: dict[str, Any]) -> None:
    if c.out.json:
        c.out.emit_json({**context, "results": rows})
        return
    table = Table(header_style="bold")
    table.add_column(kind.upper())
    table.add_column("STATUS")
    table.add_column("DETAIL", overflow="fold")
    for row in rows:
        status = row["status"]
        table.add_row(
            row[kind], f"[{_STYLES.get(status, '')}]{status}[/]", row.get("error") or row.get("detail") or ""
        )
    c.out.show(table)


def _exit(
    c: Cli, report: CleanupReport, rows: list[dict[str, Any]], *, dry_run: bool, missing: tuple[str, ...]
) -> None:
    if dry_run:
        c.out.banner("DRY RUN: nothing was deleted. Drop --dry-run to delete.")
    if missing:
        c.out.warn(f"not found, ignored (--missing-ok): {', '.join(missing)}")
    skipped = [r for r in rows if r["status"] == "skipped"]
    if skipped:
        c.out.warn(
            f"{len(skipped)} skipped for safety (changed since it was looked up): not deleted, not a failure"
        )
    failed = [r for r in report.results if r.status in (ItemStatus.FAILED, ItemStatus.NOT_ATTEMPTED)]
    if not failed:
        return
    codes = {r.status_code for r in failed}
    code = ExitCode.FAILED
    status = codes.pop() if len(codes) == 1 else None
    if len(failed) == len(rows) and status is not None:  # every item failed for one reason: its code
        code = exit_code_for(status_error_class(status)(status=status, message=""))
    c.out.error(
        f"{len(failed)} of {len(rows)} deletions failed"
        + (f" ({report.stopped_reason})" if report.stopped_reason else "")
    )
    raise typer.Exit(int(code))
