"""``docr manifests``: list and delete manifests (digests)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cleanup.plan import DeletionKind
from ._bulk import ConcurrencyOpt, DryRunOpt, MissingOkOpt, RepositoryOpt, delete_many
from ._common import ForceOpt, FormatOpt, NoHeaderOpt, OutputOpt, RegistryOpt, RepositoryNameArg, cli
from ._digests import resolve_digests
from ._output import manifests_table

__all__ = ["manifests_app"]

manifests_app = typer.Typer(help="List and delete manifests (digests).", no_args_is_help=True)


@manifests_app.command("list")
def manifests_list(
    ctx: typer.Context,
    *,
    repository: RepositoryNameArg,
    registry: RegistryOpt = None,
    untagged_only: Annotated[
        bool, typer.Option("--untagged-only", help="Only manifests no tag points at.")
    ] = False,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the manifests of a repository, newest first."""
    c = cli(
        ctx,
        output,
        registry=registry,
        columns=columns,
        no_header=no_header,
        listing=manifests_table,
        repository=repository,
    )
    manifests = c.run(lambda client: client.manifests.list(repository, registry=registry).collect())
    if untagged_only:
        manifests = [m for m in manifests if m.is_untagged]
    c.out.result(manifests, manifests_table)


@manifests_app.command("delete")
def manifests_delete(
    ctx: typer.Context,
    *,
    digests: Annotated[
        list[str], typer.Argument(help="Manifest digests (sha256:..., or a unique prefix of 12+ hex digits).")
    ],
    repository: RepositoryOpt,
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    concurrency: ConcurrencyOpt = 8,
    missing_ok: MissingOkOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete manifests with every tag on them; one that gained a tag since the lookup is skipped."""
    c = cli(ctx, output, registry=registry)
    registry = c.registry_name(registry, repository)
    delete_many(
        c,
        DeletionKind.MANIFEST,
        resolve_digests(c, digests, repository=repository, registry=registry),
        repository=repository,
        registry=registry,
        force=force,
        concurrency=concurrency,
        missing_ok=missing_ok,
        dry_run=dry_run,
    )
