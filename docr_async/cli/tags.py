"""``docr tags``: list and delete tags."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cleanup.plan import DeletionKind
from ._bulk import ConcurrencyOpt, DryRunOpt, MissingOkOpt, RepositoryOpt, delete_many
from ._common import (
    ForceOpt,
    FormatOpt,
    NewestLimitOpt,
    NoHeaderOpt,
    OutputOpt,
    RegistryOpt,
    RepositoryNameArg,
    cli,
)
from ._output import tags_table

__all__ = ["tags_app"]

tags_app = typer.Typer(help="List and delete tags.", no_args_is_help=True)


@tags_app.command("list")
def tags_list(
    ctx: typer.Context,
    *,
    repository: RepositoryNameArg,
    registry: RegistryOpt = None,
    limit: NewestLimitOpt = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the tags of a repository, newest first."""
    c = cli(
        ctx,
        output,
        registry=registry,
        columns=columns,
        no_header=no_header,
        listing=tags_table,
        repository=repository,
    )
    tags = c.run(lambda client: client.tags.list(repository, registry=registry).collect(limit))
    c.out.result(tags, tags_table)


@tags_app.command("delete")
def tags_delete(
    ctx: typer.Context,
    *,
    tags: Annotated[list[str], typer.Argument(help="Tags to delete.")],
    repository: RepositoryOpt,
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    concurrency: ConcurrencyOpt = 8,
    missing_ok: MissingOkOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete tags, each verified just before its DELETE. A missing registry, repository or tag exits 4."""
    c = cli(ctx, output, registry=registry)
    delete_many(
        c,
        DeletionKind.TAG,
        tags,
        repository=repository,
        registry=c.registry_name(registry, repository),
        force=force,
        concurrency=concurrency,
        missing_ok=missing_ok,
        dry_run=dry_run,
    )
