"""The ``docr`` command: a typer app mirroring ``doctl registry``, plus cleanup and a demo."""

from __future__ import annotations

import asyncio
from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.text import Text

from .._version import __version__
from ..cleanup.policy import parse_duration
from ..docker_config import (
    conflicting_credential_helpers,
    default_docker_config_path,
    kubernetes_pull_secret,
    merge_docker_config,
    validate_dns_label,
    validate_dns_subdomain,
)
from ..exceptions import ValidationError
from ..models import GCStatus, TierSlug
from ..names import resolve_repository, validate_registry_name
from ._common import (
    DEFAULT_BASE_URL,
    Cli,
    ForceOpt,
    GCTypeChoice,
    OutputOpt,
    RegistryOpt,
    Settings,
    cli,
)
from ._exit import ExitCode, describe_error
from ._named_delete import delete_named
from ._output import (
    OutputFormat,
    gc_table,
    manifests_table,
    options_table,
    registries_table,
    repositories_table,
    subscription_table,
    tags_table,
)
from .cleanup import cleanup_command
from .demo import demo_command

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._client import DOCRClient
    from ..models import GarbageCollection

__all__ = ["app", "run_app"]

T = TypeVar("T")

app = typer.Typer(
    name="docr",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
registries_app = typer.Typer(help="Create, list, inspect and delete registries.", no_args_is_help=True)
repos_app = typer.Typer(help="List and delete repositories.", no_args_is_help=True)
tags_app = typer.Typer(help="List and delete tags.", no_args_is_help=True)
manifests_app = typer.Typer(help="List and delete manifests (digests).", no_args_is_help=True)
gc_app = typer.Typer(help="Start, watch and cancel garbage collections.", no_args_is_help=True)
subscription_app = typer.Typer(help="Show or change the account's subscription tier.", no_args_is_help=True)
app.add_typer(registries_app, name="registries")
app.add_typer(repos_app, name="repos")
app.add_typer(tags_app, name="tags")
app.add_typer(manifests_app, name="manifests")
app.add_typer(gc_app, name="gc")
app.add_typer(subscription_app, name="subscription")
app.command("cleanup", no_args_is_help=True)(cleanup_command)
app.command("demo")(demo_command)


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
            "--token",
            "-t",
            envvar=["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"],
            show_envvar=True,
            show_default=False,
            help="API token (prefer the environment variable: arguments are visible to other users).",
        ),
    ] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="API root URL.")] = DEFAULT_BASE_URL,
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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """DigitalOcean Container Registry from the command line.

    Exit codes: 0 ok, 1 some items failed, 2 usage, 3 auth (401/403), 4 not found,
    5 conflict or GC active, 6 rate-limited, 7 API or connection error, 130 interrupted.
    """
    ctx.obj = Settings(
        token=token or None,
        base_url=base_url,
        output=output,
        max_concurrency=max_concurrency,
        max_wait=max_wait,
        retries=retries,
        allow_insecure_http=allow_insecure_http,
    )


# ---- registries ---------------------------------------------------------------------------------


@registries_app.command("list")
def registries_list(ctx: typer.Context, *, output: OutputOpt = None) -> None:
    """List every registry of the account."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.list())
    if c.out.json:
        c.out.emit_json(list(result.registries))
    else:
        c.out.show(registries_table(result.registries))


@registries_app.command("get")
def registries_get(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Registry name.")], output: OutputOpt = None
) -> None:
    """Show one registry."""
    c = cli(ctx, output)
    registry = c.run(lambda client: client.registries.get(name))
    if c.out.json:
        c.out.emit_json(registry)
    else:
        c.out.show(registries_table([registry]))


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
    if c.out.json:
        c.out.emit_json(registry)
    else:
        c.out.show(registries_table([registry]))


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
    _validate(c, lambda: validate_registry_name(name))
    c.confirm_destructive(f"registry {name} and everything in it", force)
    c.run(lambda client: client.registries.delete(name))
    _deleted(c, {"registry": name, "status": "deleted"}, f"deleted registry {name}")


# ---- account calls ----------------------------------------------------------------------------


@app.command("options")
def options(ctx: typer.Context, *, output: OutputOpt = None) -> None:
    """List available regions and subscription tiers."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.get_options())
    if c.out.json:
        c.out.emit_json(result)
    else:
        c.out.show(options_table(result))


@subscription_app.command("get")
def subscription_get(ctx: typer.Context, *, output: OutputOpt = None) -> None:
    """Show the account's subscription."""
    c = cli(ctx, output)
    result = c.run(lambda client: client.registries.get_subscription())
    if c.out.json:
        c.out.emit_json(result)
    else:
        c.out.show(subscription_table(result))


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
    if c.out.json:
        c.out.emit_json(result)
    else:
        c.out.show(subscription_table(result))


@app.command("validate-name")
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


# ---- repositories -------------------------------------------------------------------------------


@repos_app.command("list")
def repos_list(
    ctx: typer.Context,
    *,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many.", show_default=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """List the repositories of a registry."""
    c = cli(ctx, output)
    repos = c.run(lambda client: client.repositories.list(registry).collect(limit))
    if c.out.json:
        c.out.emit_json(repos)
    else:
        c.out.show(repositories_table(repos))


@repos_app.command("delete")
def repos_delete(
    ctx: typer.Context,
    *,
    repository: Annotated[str, typer.Argument(help="Repository (my/app).")],
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete a repository with all its tags and manifests."""
    c = cli(ctx, output)
    reg, repo = _validate(c, lambda: resolve_repository(repository, registry))
    c.confirm_destructive(f"repository {reg}/{repo} with all its tags and manifests", force)
    c.run(lambda client: client.repositories.delete(repo, registry=reg))
    _deleted(
        c,
        {"registry": reg, "repository": repo, "status": "deleted"},
        f"deleted repository {reg}/{repo}",
    )


# ---- tags ---------------------------------------------------------------------------------------


@tags_app.command("list")
def tags_list(
    ctx: typer.Context,
    *,
    repository: Annotated[str, typer.Argument(help="Repository (my/app).")],
    registry: RegistryOpt = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="At most this many (newest first).", show_default=False),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """List the tags of a repository, newest first."""
    c = cli(ctx, output)
    tags = c.run(lambda client: client.tags.list(repository, registry=registry).collect(limit))
    if c.out.json:
        c.out.emit_json(tags)
    else:
        c.out.show(tags_table(tags))


ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Deletions in flight at once.")
]


MissingOkOpt = Annotated[
    bool,
    typer.Option(
        "--missing-ok",
        help="An item that does not exist is not an error (a missing registry or repository still is).",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Look everything up, delete nothing.")]


@tags_app.command("delete")
def tags_delete(
    ctx: typer.Context,
    *,
    tags: Annotated[list[str], typer.Argument(help="Tags to delete.")],
    repository: Annotated[str, typer.Option("--repository", "--repo", help="Repository (my/app).")],
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    concurrency: ConcurrencyOpt = 8,
    missing_ok: MissingOkOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete tags, each verified just before its DELETE. A missing registry, repository or tag exits 4."""
    delete_named(
        cli(ctx, output),
        kind="tag",
        items=tags,
        repository=repository,
        registry=registry,
        force=force,
        concurrency=concurrency,
        missing_ok=missing_ok,
        dry_run=dry_run,
    )


# ---- manifests ----------------------------------------------------------------------------------


@manifests_app.command("list")
def manifests_list(
    ctx: typer.Context,
    *,
    repository: Annotated[str, typer.Argument(help="Repository (my/app).")],
    registry: RegistryOpt = None,
    untagged_only: Annotated[
        bool, typer.Option("--untagged-only", help="Only manifests no tag points at.")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """List the manifests of a repository, newest first."""
    c = cli(ctx, output)
    manifests = c.run(lambda client: client.manifests.list(repository, registry=registry).collect())
    if untagged_only:
        manifests = [m for m in manifests if m.is_untagged]
    if c.out.json:
        c.out.emit_json(manifests)
    else:
        c.out.show(manifests_table(manifests))


@manifests_app.command("delete")
def manifests_delete(
    ctx: typer.Context,
    *,
    digests: Annotated[list[str], typer.Argument(help="Manifest digests (sha256:...).")],
    repository: Annotated[str, typer.Option("--repository", "--repo", help="Repository (my/app).")],
    registry: RegistryOpt = None,
    force: ForceOpt = False,
    concurrency: ConcurrencyOpt = 8,
    missing_ok: MissingOkOpt = False,
    dry_run: DryRunOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete manifests with every tag on them; one that gained a tag since the lookup is skipped."""
    delete_named(
        cli(ctx, output),
        kind="digest",
        items=digests,
        repository=repository,
        registry=registry,
        force=force,
        concurrency=concurrency,
        missing_ok=missing_ok,
        dry_run=dry_run,
    )


# ---- garbage collection -------------------------------------------------------------------------

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0, help="Longest wait for the garbage collection, in seconds.")
]
PollOpt = Annotated[
    float, typer.Option("--poll-interval", min=0.01, help="First polling interval, in seconds.")
]


@gc_app.command("start")
def gc_start(
    ctx: typer.Context,
    *,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    gc_type: Annotated[
        GCTypeChoice | None,
        typer.Option(
            "--type", help="What to remove (default: unreferenced blobs only, as doctl).", show_default=False
        ),
    ] = None,
    include_untagged_manifests: Annotated[
        bool,
        typer.Option(
            "--include-untagged-manifests",
            help="Also delete every untagged manifest (images pulled by digest included); asks first.",
        ),
    ] = False,
    force: ForceOpt = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends.")] = False,
    timeout: TimeoutOpt = 1800.0,
    poll_interval: PollOpt = 5.0,
    output: OutputOpt = None,
) -> None:
    """Start a garbage collection (the registry is read-only while it runs).

    By default it removes unreferenced blobs only, as doctl does: untagged manifests stay, since
    people pull images by digest. Deleting them too asks for confirmation (or --force).
    """
    c = cli(ctx, output)
    if include_untagged_manifests and gc_type is not None:
        c.fail("--include-untagged-manifests and --type cannot be combined", ExitCode.USAGE)
    if include_untagged_manifests:
        gc_type = GCTypeChoice.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS
    chosen = gc_type or GCTypeChoice.UNREFERENCED_BLOBS_ONLY
    if chosen is not GCTypeChoice.UNREFERENCED_BLOBS_ONLY:
        c.confirm_destructive(
            f"every untagged manifest of {registry} in a garbage collection "
            "(images pulled by digest included)",
            force,
        )

    async def work(client: DOCRClient) -> GarbageCollection:
        gc = await client.garbage_collections.start(registry, type=chosen.api)
        if not wait:
            return gc
        c.out.info(f"garbage collection {gc.uuid} started; waiting (up to {timeout:g}s)")
        try:
            return await client.garbage_collections.wait(
                registry, gc.uuid, timeout=timeout, poll_interval=poll_interval, raise_on_failure=False
            )
        except asyncio.CancelledError:  # Ctrl-C: it keeps running on DigitalOcean's side
            c.out.warn(
                f"garbage collection {gc.uuid} continues ({registry} stays read-only until it ends); "
                f"to stop it: docr gc cancel {gc.uuid} --registry {registry}"
            )
            raise

    _show_gc(c, c.run(work), require_success=wait)


@gc_app.command("get-active")
def gc_get_active(
    ctx: typer.Context,
    *,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    output: OutputOpt = None,
) -> None:
    """Show the active garbage collection (JSON null when none is active)."""
    c = cli(ctx, output)

    async def work(client: DOCRClient) -> GarbageCollection | None:
        await client.registries.get(registry)  # a 404 here means the registry, not "none active"
        return await client.garbage_collections.get_active(registry)

    gc = c.run(work)
    if gc is None:
        if c.out.json:
            c.out.emit_json(None)
        else:
            c.out.info(f"no active garbage collection on {registry}")
        return
    _show_gc(c, gc, require_success=False)


@gc_app.command("list")
def gc_list(
    ctx: typer.Context,
    *,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="At most this many (newest first).", show_default=False),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """List past and present garbage collections, newest first."""
    c = cli(ctx, output)
    gcs = c.run(lambda client: client.garbage_collections.list(registry).collect(limit))
    if c.out.json:
        c.out.emit_json(gcs)
    else:
        c.out.show(gc_table(gcs))


UuidArg = Annotated[str, typer.Argument(help="Garbage collection uuid.")]
GcRegistryOpt = Annotated[str, typer.Option("--registry", "-r", help="Registry name.")]


@gc_app.command("get")
def gc_get(ctx: typer.Context, *, uuid: UuidArg, registry: GcRegistryOpt, output: OutputOpt = None) -> None:
    """Show one garbage collection (active or past)."""
    c = cli(ctx, output)
    _show_gc(
        c,
        c.run(lambda client: client.garbage_collections.get(uuid, registry=registry)),
        require_success=False,
    )


@gc_app.command("cancel")
def gc_cancel(
    ctx: typer.Context, *, uuid: UuidArg, registry: GcRegistryOpt, output: OutputOpt = None
) -> None:
    """Cancel an active garbage collection."""
    c = cli(ctx, output)
    _show_gc(
        c,
        c.run(lambda client: client.garbage_collections.cancel(uuid, registry=registry)),
        require_success=False,
    )


@gc_app.command("wait")
def gc_wait(
    ctx: typer.Context,
    *,
    uuid: UuidArg,
    registry: GcRegistryOpt,
    timeout: TimeoutOpt = 1800.0,
    poll_interval: PollOpt = 5.0,
    output: OutputOpt = None,
) -> None:
    """Wait until a garbage collection ends (exit 1 unless it succeeded)."""
    c = cli(ctx, output)
    gc = c.run(
        lambda client: client.garbage_collections.wait(
            registry, uuid, timeout=timeout, poll_interval=poll_interval, raise_on_failure=False
        )
    )
    _show_gc(c, gc, require_success=True)


def _show_gc(c: Cli, gc: GarbageCollection, *, require_success: bool) -> None:
    if c.out.json:
        c.out.emit_json(gc)
    else:
        c.out.show(gc_table([gc]))
    if require_success and gc.status != GCStatus.SUCCEEDED:
        c.fail(f"garbage collection {gc.uuid} ended {gc.status!r}", ExitCode.FAILED)


# ---- docker credentials -------------------------------------------------------------------------


@app.command("docker-config")
def docker_config(
    ctx: typer.Context,
    *,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    expiry: Annotated[
        str,
        typer.Option("--expiry", help="Lifetime of the credentials (1h, 30d ...); 0 needs --never-expire."),
    ] = "1h",
    never_expire: Annotated[
        bool, typer.Option("--never-expire", help="With --expiry 0: credentials that never expire.")
    ] = False,
    read_write: Annotated[bool, typer.Option("--read-write", help="Push-capable credentials.")] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Merge into the docker config instead of printing.")
    ] = False,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Docker config to write; implies --write "
            "(default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    k8s_secret: Annotated[
        str | None,
        typer.Option(
            "--k8s-secret",
            help="Print a kubernetes.io/dockerconfigjson Secret with this name.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace of the Secret.", show_default=False)
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Get docker credentials: print them, merge them into the docker config, or print a pull Secret.

    Credentials expire after one hour unless --expiry says otherwise; never-expiring credentials
    need both --expiry 0 and --never-expire. Each call mints a DigitalOcean API token.
    """
    c = cli(ctx, output)
    expiry_seconds = _validate(c, lambda: _expiry_seconds(expiry, never_expire))
    write = write or config_path is not None
    if write and k8s_secret is not None:
        c.fail("choose one of --write and --k8s-secret", ExitCode.USAGE)
    if namespace is not None and k8s_secret is None:
        c.fail("--namespace needs --k8s-secret", ExitCode.USAGE)
    if k8s_secret is not None:
        _validate(c, lambda: validate_dns_subdomain(k8s_secret, field="--k8s-secret"))
        if namespace is not None:
            _validate(c, lambda: validate_dns_label(namespace, field="--namespace"))
    creds = c.run(
        lambda client: client.registries.docker_credentials(
            registry, expiry_seconds=expiry_seconds, read_write=read_write
        )
    )
    lifetime = "never expire" if expiry_seconds == 0 else f"expire in {expiry}"
    if k8s_secret is not None:
        c.out.emit_text(kubernetes_pull_secret(k8s_secret, creds, namespace))
        c.out.info(
            f"Secret {k8s_secret}: {'read-write' if read_write else 'read-only'}, credentials {lifetime}"
        )
        return
    if not write:
        c.out.emit_text(creds.to_json())
        return
    path = config_path if config_path is not None else default_docker_config_path()
    try:
        merge_docker_config(path, creds)
    except OSError as exc:
        c.fail(f"cannot write {path}: {exc.strerror or exc}", ExitCode.FAILED)
    except ValidationError as exc:
        c.fail(describe_error(exc), ExitCode.USAGE)
    hosts = sorted(creds.auths)
    for note in conflicting_credential_helpers(path, hosts):
        c.out.warn(f"{path}: {note}")
    if c.out.json:
        c.out.emit_json(
            {"path": str(path), "hosts": hosts, "read_write": read_write, "expiry_seconds": expiry_seconds}
        )
    else:
        c.out.info(
            f"wrote {'read-write' if read_write else 'read-only'} credentials for {', '.join(hosts)} "
            f"to {path} (they {lifetime})",
            style="green",
        )


def _expiry_seconds(expiry: str, never_expire: bool) -> int:
    text = expiry.strip()
    seconds = float(text) if text.isdigit() else parse_duration(text, field="--expiry").total_seconds()
    if seconds == 0:
        if not never_expire:
            raise ValidationError(
                "--expiry", expiry, "0 means credentials that never expire: add --never-expire to confirm"
            )
        return 0
    if never_expire:
        raise ValidationError("--never-expire", True, "needs --expiry 0")
    return max(1, int(-(-seconds // 1)))


# ---- helpers ------------------------------------------------------------------------------------


def _validate(c: Cli, check: Callable[[], T]) -> T:
    """Run a local validation; a bad value exits 2 before any request."""
    try:
        return check()
    except (ValidationError, ValueError) as exc:
        c.fail(describe_error(exc), ExitCode.USAGE)


def _deleted(c: Cli, data: dict[str, Any], message: str) -> None:
    if c.out.json:
        c.out.emit_json(data)
    else:
        c.out.info(message, style="green")


def run_app(argv: Sequence[str] | None = None) -> None:
    """Run the ``docr`` command (exits the process)."""
    app(args=list(argv) if argv is not None else None, prog_name="docr")
