"""Account-level commands: ``docr options``, ``docr validate-name`` and ``docr subscription``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ..models import TierSlug  # noqa: TC001 -- typer reads the annotations at runtime
from ._common import OutputOpt, cli
from ._exit import ExitCode
from ._output import options_table, subscription_table

__all__ = ["options", "subscription_app", "validate_name"]

subscription_app = typer.Typer(help="Show or change the account's subscription tier.", no_args_is_help=True)


def options(ctx: typer.Context, *, output: OutputOpt = None) -> None:
    """List available regions and subscription tiers."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.get_options())
    c.out.result(result, options_table)


@subscription_app.command("get")
def subscription_get(ctx: typer.Context, *, output: OutputOpt = None) -> None:
    """Show the account's subscription."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.get_subscription())
    c.out.result(result, subscription_table)


@subscription_app.command("update")
def subscription_update(
    ctx: typer.Context,
    *,
    tier: Annotated[TierSlug, typer.Argument(help="New tier.")],
    output: OutputOpt = None,
) -> None:
    """Change the subscription tier."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.update_subscription(tier))
    c.out.result(result, subscription_table)


def validate_name(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Registry name to check.")],
    output: OutputOpt = None,
) -> None:
    """Check that a registry name is valid and free (exit 5 if it is taken)."""
    c = cli(ctx, output)
    available = c.run(lambda client: client.registries.validate_name(name))
    if c.out.json:
        c.out.emit_json({"name": name, "available": available})
    else:
        verdict = "available" if available else "taken"
        c.out.show(Text(f"{name} is {verdict}", style="green" if available else "red"))
    if not available:
        raise typer.Exit(int(ExitCode.CONFLICT))
