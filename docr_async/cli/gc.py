"""``docr gc``: start, watch and cancel garbage collections."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from ..models import GCStatus
from ._common import (
    GC_TYPES,
    Cli,
    ForceOpt,
    FormatOpt,
    GCTypeChoice,
    NewestLimitOpt,
    NoHeaderOpt,
    OutputOpt,
    cli,
)
from ._exit import ExitCode
from ._output import gc_table

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ..models import GarbageCollection

__all__ = ["gc_app", "gc_cancel", "gc_get_active", "gc_list", "gc_start"]

gc_app = typer.Typer(help="Start, watch and cancel garbage collections.", no_args_is_help=True)

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0, help="Longest wait for the garbage collection, in seconds.")
]
RegistryArg = Annotated[
    str | None,
    typer.Argument(help="Registry name (default: the account's only registry).", show_default=False),
]
PollOpt = Annotated[
    float, typer.Option("--poll-interval", min=0.01, help="First polling interval, in seconds.")
]


@gc_app.command("start")
def gc_start(
    ctx: typer.Context,
    *,
    registry: RegistryArg = None,
    gc_type: Annotated[
        GCTypeChoice | None,
        typer.Option(
            "--type",
            metavar="<type>",
            help=f"What to remove: {GC_TYPES} (default: unreferenced-blobs-only, as doctl).",
            show_default=False,
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
    c = cli(ctx, output, registry=registry)
    registry = c.registry_name(registry)
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
                gc.uuid,
                registry=registry,
                timeout=timeout,
                poll_interval=poll_interval,
                raise_on_failure=False,
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
    registry: RegistryArg = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """Show the active garbage collection (JSON null when none is active)."""
    c = cli(ctx, output, registry=registry, columns=columns, no_header=no_header, listing=gc_table)

    async def work(client: DOCRClient) -> GarbageCollection | None:
        await client.registries.get(registry)  # a 404 here means the registry, not "none active"
        return await client.garbage_collections.get_active(registry)

    gc = c.run(work)
    if gc is None:
        if c.out.json:
            c.out.emit_json(None)
        else:
            c.out.info(f"no active garbage collection on {registry or 'the default registry'}")
        return
    _show_gc(c, gc, require_success=False)


@gc_app.command("list")
def gc_list(
    ctx: typer.Context,
    *,
    registry: RegistryArg = None,
    limit: NewestLimitOpt = None,
    output: OutputOpt = None,
    columns: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List past and present garbage collections, newest first."""
    c = cli(ctx, output, registry=registry, columns=columns, no_header=no_header, listing=gc_table)
    gcs = c.run(lambda client: client.garbage_collections.list(registry).collect(limit))
    c.out.result(gcs, gc_table)


UuidArg = Annotated[str, typer.Argument(help="Garbage collection uuid.")]
GcRegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry", "-r", help="Registry name (default: the account's only registry).", show_default=False
    ),
]


@gc_app.command("get")
def gc_get(
    ctx: typer.Context, *, uuid: UuidArg, registry: GcRegistryOpt = None, output: OutputOpt = None
) -> None:
    """Show one garbage collection (active or past)."""
    c = cli(ctx, output, registry=registry)
    _show_gc(
        c,
        c.run(lambda client: client.garbage_collections.get(uuid, registry=registry)),
        require_success=False,
    )


@gc_app.command("cancel")
def gc_cancel(
    ctx: typer.Context,
    *,
    ids: Annotated[
        list[str],
        typer.Argument(help="[REGISTRY] UUID: the garbage collection, after its registry as doctl takes it."),
    ],
    registry: GcRegistryOpt = None,
    output: OutputOpt = None,
) -> None:
    """Cancel an active garbage collection."""
    c = cli(ctx, output, registry=registry)
    if len(ids) == 2 and registry is None:
        registry, uuid = ids
        c.registry = registry
    elif len(ids) == 1:
        uuid = ids[0]
    else:
        c.fail("give the garbage collection's UUID, optionally after its registry", ExitCode.USAGE)
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
    registry: GcRegistryOpt = None,
    timeout: TimeoutOpt = 1800.0,
    poll_interval: PollOpt = 5.0,
    output: OutputOpt = None,
) -> None:
    """Wait until a garbage collection ends (exit 1 unless it succeeded)."""
    c = cli(ctx, output, registry=registry)
    gc = c.run(
        lambda client: client.garbage_collections.wait(
            uuid, registry=registry, timeout=timeout, poll_interval=poll_interval, raise_on_failure=False
        )
    )
    _show_gc(c, gc, require_success=True)


def _show_gc(c: Cli, gc: GarbageCollection, *, require_success: bool) -> None:
    c.out.result(gc, lambda one: gc_table([one]))
    if require_success and gc.status != GCStatus.SUCCEEDED:
        c.fail(f"garbage collection {gc.uuid} ended {gc.status!r}", ExitCode.FAILED)
