"""The shared body of ``docr tags delete`` and ``docr manifests delete``: check, confirm, delete, report."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..cleanup.plan import DeletionKind
from ..exceptions import DOCRError, NotFoundError
from ..names import resolve_repository, validate_digest, validate_tag
from ._exit import ExitCode, describe_error, exit_code_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._client import DOCRClient
    from ._common import Cli

__all__ = ["ConcurrencyOpt", "RepositoryOpt", "delete_many"]

ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Deletions in flight at once.")
]
RepositoryOpt = Annotated[str, typer.Option("--repository", "--repo", help="Repository (my/app).")]


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

    async def delete_one(client: DOCRClient, item: str) -> None:
        if kind is DeletionKind.TAG:
            await client.tags.delete(item, repository=repo, registry=reg)
        else:
            await client.manifests.delete(item, repository=repo, registry=reg)

    async def work(client: DOCRClient) -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(concurrency)

        async def one(item: str) -> dict[str, Any]:
            async with gate:
                try:
                    await delete_one(client, item)
                except NotFoundError:
                    return {key: item, "status": "already_gone"}
                except DOCRError as exc:
                    return {
                        key: item,
                        "status": "failed",
                        "error": c.out.redact(describe_error(exc)),
                        "status_code": getattr(exc, "status", None),
                        "request_id": getattr(exc, "request_id", None),
                        "exit_code": int(exit_code_for(exc)),
                    }
            return {key: item, "status": "deleted"}

        return list(await asyncio.gather(*(one(item) for item in items)))

    results = c.run(work)
    failures = [r for r in results if r["status"] == "failed"]
    if c.out.json:
        c.out.emit_json({"registry": reg, "repository": repo, "results": results})
    else:
        table = Table(header_style="bold")
        table.add_column(key.upper())
        table.add_column("STATUS")
        table.add_column("DETAIL", overflow="fold")
        styles = {"deleted": "green", "already_gone": "dim", "failed": "red"}
        for result in results:
            table.add_row(
                result[key],
                f"[{styles[result['status']]}]{result['status']}[/]",
                result.get("error") or "",
            )
        c.out.show(table)
    if failures:
        codes = {r["exit_code"] for r in failures}
        code = codes.pop() if len(codes) == 1 and len(failures) == len(results) else int(ExitCode.FAILED)
        c.out.error(f"{len(failures)} of {len(results)} deletions failed")
        raise typer.Exit(code)
