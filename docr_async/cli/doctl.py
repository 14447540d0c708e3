"""doctl's spellings: ``docr repository list-tags REPO`` runs as ``doctl registry repository list-tags``.

Each command here is a thin alias: doctl's arguments in doctl's order and doctl's flags, calling the
same function as the native command (``docr tags list`` ...), so the two cannot drift apart.
``garbage-collection`` is the ``gc`` group under doctl's name (registered in the root app).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ..models import TierSlug  # noqa: TC001 -- typer reads the annotations at runtime
from ._common import ForceOpt, FormatOpt, NoHeaderOpt, OutputOpt, RegistryNameArg  # noqa: TC001 -- read at runtime
from .manifests import manifests_delete, manifests_list
from .registries import registries_create
from .repositories import repos_list
from .tags import tags_delete, tags_list

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["doctl_create", "repository_app"]

F = TypeVar("F", bound="Callable[..., Any]")

repository_app = typer.Typer(
    help="doctl's repository commands (list-v2, list-tags, delete-tag, list-manifests, delete-manifest).",
    no_args_is_help=True,
)

RepositoryArg = Annotated[
    str, typer.Argument(help="Repository (my/app, or registry.digitalocean.com/<registry>/<repo>).")
]


def _command(name: str, *aliases: str) -> Callable[[F], F]:
    """Register a command under doctl's name and (hidden) doctl's short aliases."""

    def register(function: F) -> F:
        repository_app.command(name)(function)
        for alias in aliases:
            repository_app.command(alias, hidden=True)(function)
        return function

    return register


@_command("list-v2", "ls2", "list")
def list_v2(
    ctx: typer.Context,
    registry: RegistryNameArg = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List repositories (docr repos list)."""
    repos_list(ctx, registry=registry, output=output, columns=columns, no_header=no_header)


@_command("list-tags", "lt")
def list_tags(
    ctx: typer.Context,
    repository: RepositoryArg,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the tags of a repository (docr tags list)."""
    tags_list(ctx, repository=repository, output=output, columns=columns, no_header=no_header)


@_command("delete-tag", "dt")
def delete_tag(
    ctx: typer.Context,
    repository: RepositoryArg,
    tags: Annotated[list[str], typer.Argument(help="Tags to delete.")],
    force: ForceOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete tags (docr tags delete)."""
    tags_delete(ctx, tags=tags, repository=repository, force=force, output=output)


@_command("list-manifests", "lm")
def list_manifests(
    ctx: typer.Context,
    repository: RepositoryArg,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the manifests of a repository (docr manifests list)."""
    manifests_list(ctx, repository=repository, output=output, columns=columns, no_header=no_header)


@_command("delete-manifest", "dm")
def delete_manifest(
    ctx: typer.Context,
    repository: RepositoryArg,
    digests: Annotated[
        list[str], typer.Argument(help="Manifest digests (sha256:..., or a unique prefix of 12+ hex digits).")
    ],
    force: ForceOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete manifests with their tags (docr manifests delete)."""
    manifests_delete(ctx, digests=digests, repository=repository, force=force, output=output)


def doctl_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="New registry name.")],
    tier: Annotated[
        TierSlug | None,
        typer.Option("--subscription-tier", help="Subscription tier.", show_default=False),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region slug, e.g. fra1.", show_default=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Create a registry (docr registries create; doctl's --subscription-tier)."""
    registries_create(ctx, name=name, tier=tier, region=region, output=output)
