"""``docr repos``: list and delete repositories."""

from __future__ import annotations

from typing import Annotated

import typer

from ..names import resolve_repository
from ._common import (
    ForceOpt,
    FormatOpt,
    NoHeaderOpt,
    OutputOpt,
    RegistryNameArg,
    RegistryOpt,
    RepositoryNameArg,
    cli,
)
from ._output import repositories_table

__all__ = ["repos_app"]

repos_app = typer.Typer(help="List and delete repositories.", no_args_is_help=True)


@repos_app.command("list")
def repos_list(
    ctx: typer.Context,
    *,
    registry: RegistryNameArg = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many.", show_default=False)
    ] = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the repositories of a registry."""
    c = cli(ctx, output, registry=registry, columns=columns, no_header=no_header, listing=repositories_table)
    repos = c.run(lambda client: client.repositories.list(registry=registry).collect(limit))
    c.out.result(repos, repositories_table)


@repos_app.command("delete")
def repos_delete(
    ctx: typer.Context,
    *,
    repository: RepositoryNameArg,
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete a repository with all its tags and manifests."""
    c = cli(ctx, output, registry=registry)
    reg, repo = c.check(lambda: resolve_repository(repository, c.registry_name(registry, repository)))
    c.confirm_destructive(f"repository {reg}/{repo} with all its tags and manifests", force)
    c.run(lambda client: client.repositories.delete(repo, registry=reg))
    c.deleted(
        {"registry": reg, "repository": repo, "status": "deleted"},
        f"deleted repository {reg}/{repo}",
    )
