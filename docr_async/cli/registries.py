"""``docr registries``: create, list, inspect and delete registries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import attrs
import typer

from ..models import TierSlug  # noqa: TC001 -- typer reads the annotations at runtime
from ..names import validate_registry_name
from ._common import ForceOpt, FormatOpt, NoHeaderOpt, OutputOpt, RegistryNameArg, cli
from ._output import registries_table

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ..models import Registry

__all__ = ["registries_app", "registries_get"]

registries_app = typer.Typer(help="Create, list, inspect and delete registries.", no_args_is_help=True)


@registries_app.command("list")
def registries_list(
    ctx: typer.Context, *, output: OutputOpt = None, columns: FormatOpt = None, no_header: NoHeaderOpt = False
) -> None:
    """List every registry of the account."""
    c = cli(ctx, output, columns=columns, no_header=no_header, listing=registries_table)
    result = c.run(lambda client: client.registries.list())
    c.out.result(list(result.registries), registries_table)


@registries_app.command("get")
def registries_get(
    ctx: typer.Context,
    name: RegistryNameArg = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """Show one registry (with the account's subscription tier, as the listing shows it)."""
    c = cli(ctx, output, registry=name, columns=columns, no_header=no_header, listing=registries_table)

    async def work(client: DOCRClient) -> Registry:
        registry = await client.registries.get(name)
        if registry.subscription is None or registry.subscription.tier is None:
            # GET /v2/registries/{name} may omit the subscription the listing carries: the tier
            # is the account's, so ask for it rather than show "-".
            registry = attrs.evolve(registry, subscription=await client.registries.get_subscription())
        return registry

    registry = c.run(work)
    c.out.result(registry, lambda one: registries_table([one]))


@registries_app.command("create")
def registries_create(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="New registry name.")],
    tier: Annotated[
        TierSlug | None, typer.Option("--tier", help="Subscription tier.", show_default=False)
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region slug, e.g. fra1.", show_default=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Create a registry."""
    c = cli(ctx, output)
    registry = c.run(lambda client: client.registries.create(name, subscription_tier=tier, region=region))
    c.out.result(registry, lambda one: registries_table([one]))


@registries_app.command("delete")
def registries_delete(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Registry name.")],
    force: ForceOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete a registry and everything in it."""
    c = cli(ctx, output)
    c.check(lambda: validate_registry_name(name))
    c.confirm_destructive(f"registry {name} and everything in it", force)
    c.run(lambda client: client.registries.delete(name))
    c.deleted({"registry": name, "status": "deleted"}, f"deleted registry {name}")
