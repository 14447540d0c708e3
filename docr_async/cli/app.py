"""The ``docr`` command: a typer app mirroring ``doctl registry``, plus cleanup and a demo.

This module holds the root app and its global options; each command group lives in its own module.
"""

from __future__ import annotations

import sys
from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated

import typer

from .._version import __version__
from ._argv import hoist_global_options
from ._common import DEFAULT_BASE_URL, Settings
from ._doctl_config import DoctlConfigError, doctl_token
from ._exit import ExitCode
from ._output import OutputFormat
from .account import options, subscription_app, validate_name
from .cleanup import cleanup_command
from .demo import demo_command
from .docker import docker_config
from .doctl import doctl_create, repository_app
from .du import du_command
from .gc import gc_app
from .manifests import manifests_app
from .registries import registries_app, registries_get
from .repositories import repos_app
from .tags import tags_app
from .watch import watch_command

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["app", "run_app"]

app = typer.Typer(
    name="docr",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
app.add_typer(registries_app, name="registries")
app.add_typer(repos_app, name="repos")
app.add_typer(tags_app, name="tags")
app.add_typer(manifests_app, name="manifests")
app.add_typer(gc_app, name="gc")
app.add_typer(gc_app, name="garbage-collection", help="Alias of 'gc' (doctl's spelling).")
app.add_typer(repository_app, name="repository")
app.add_typer(repository_app, name="repo", hidden=True)
app.add_typer(repository_app, name="r", hidden=True)
app.add_typer(subscription_app, name="subscription")
app.command("cleanup", no_args_is_help=True)(cleanup_command)
app.command("demo")(demo_command)
app.command("options")(options)
app.command("validate-name")(validate_name)
app.command("docker-config")(docker_config)
app.command("watch")(watch_command)
app.command("du")(du_command)
app.command("get", help="Show a registry (doctl: registry get).")(registries_get)
app.command("create", help="Create a registry (doctl: registry create).")(doctl_create)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"docr {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    *,
    token: Annotated[
        str | None,
        typer.Option(
            "--access-token",
            "--token",
            "-t",
            envvar=["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"],
            show_envvar=True,
            show_default=False,
            help="API token (prefer the environment variable: arguments are visible to other users). "
            "Default: the variables, then doctl's config file.",
        ),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            show_default=False,
            help="doctl auth context whose token to use (default: doctl's current context).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--doctl-config",
            show_default=False,
            help="doctl's config file (default ~/.config/doctl/config.yaml).",
        ),
    ] = None,
    base_url: Annotated[
        str, typer.Option("--api-url", "--base-url", "-u", help="API root URL.")
    ] = DEFAULT_BASE_URL,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", case_sensitive=False, help="Output format.")
    ] = OutputFormat.TABLE,
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", min=1, help="Requests in flight at once.")
    ] = 16,
    max_wait: Annotated[
        float | None,
        typer.Option(
            "--max-wait",
            min=0,
            show_default=False,
            help="Longest wait for rate-limit budget, in seconds, before exiting with code 6 (default 900).",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries",
            min=0,
            max=20,
            show_default=False,
            help="Retries of a 429, a 5xx or a connection error (default 4, with backoff).",
        ),
    ] = None,
    allow_insecure_http: Annotated[
        bool,
        typer.Option("--allow-insecure-http", help="Allow a plain http:// base URL on a non-loopback host."),
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            envvar="DOCR_REDIS_URL",
            show_default=False,
            help="Share the token's rate limit with every process using this Redis (docr-async[redis]).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """DigitalOcean Container Registry from the command line.

    Exit codes: 0 ok, 1 some items failed, 2 usage, 3 auth (401/403), 4 not found,
    5 conflict or GC active, 6 rate-limited, 7 API or connection error, 130 interrupted.
    """
    if not token:  # neither --access-token nor the variables (typer reads them): doctl's config
        try:
            token = doctl_token(config, context)
        except DoctlConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(int(ExitCode.USAGE)) from None
    ctx.obj = Settings(
        token=token or None,
        base_url=base_url,
        output=output,
        max_concurrency=max_concurrency,
        max_wait=max_wait,
        retries=retries,
        allow_insecure_http=allow_insecure_http,
        redis_url=redis_url or None,
    )


def run_app(argv: Sequence[str] | None = None) -> None:
    """Run the ``docr`` command (exits the process)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    app(args=hoist_global_options(args), prog_name="docr")
