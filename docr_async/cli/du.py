"""``docr du``: where a registry's storage goes, and what a cleanup plus GC would free. Reads only."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..cleanup.usage import UsageReport, assumption, disk_usage
from ..names import validate_registry_name
from ._common import GC_TYPES, Cli, GCTypeChoice, OutputOpt, cli
from ._listings import when
from ._output import human_bytes
from ._policy_options import (
    DeleteUntaggedOpt,
    ExcludeRepoOpt,
    ExcludeTagOpt,
    IncludeRepoOpt,
    IncludeTagOpt,
    KeepLastOpt,
    NoDefaultProtectOpt,
    OlderThanOpt,
    PolicyFileOpt,
    ProtectOpt,
    UntaggedOlderThanOpt,
    retention_from_params,
)

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ..cleanup import RetentionPolicy, RetentionRules

__all__ = ["du_command", "usage_table", "usage_text"]

_BAR_WIDTH = 16
_MEASURE = Console(width=100_000, file=io.StringIO())


def du_command(
    ctx: typer.Context,
    *,
    registry: Annotated[
        str | None,
        typer.Argument(
            help="Registry (default: $DIGITALOCEAN_REGISTRY, or the account's only registry).",
            show_default=False,
        ),
    ] = None,
    keep_last: KeepLastOpt = None,
    older_than: OlderThanOpt = None,
    include_tag: IncludeTagOpt = None,
    exclude_tag: ExcludeTagOpt = None,
    protect: ProtectOpt = None,
    no_default_protect: NoDefaultProtectOpt = False,
    include_repo: IncludeRepoOpt = None,
    exclude_repo: ExcludeRepoOpt = None,
    delete_untagged: DeleteUntaggedOpt = False,
    untagged_older_than: UntaggedOlderThanOpt = None,
    policy_file: PolicyFileOpt = None,
    gc_type: Annotated[
        GCTypeChoice,
        typer.Option(
            "--gc-type", metavar="<type>", help=f"The garbage collection the prediction assumes: {GC_TYPES}."
        ),
    ] = GCTypeChoice.UNREFERENCED_BLOBS_ONLY,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Repositories listed at once.")
    ] = 4,
    output: OutputOpt = None,
) -> None:
    """Show the storage each repository uses (blobs counted once) and what a cleanup would free.

    UNIQUE is what only this repository references, SHARED what it shares with others. With a
    policy (the options of `docr cleanup`, or --policy FILE), FREED predicts what the cleanup plus
    a garbage collection frees, by blob reachability. Nothing is deleted.
    """
    c = cli(ctx, output)
    if registry is not None:
        registry = c.check(lambda: validate_registry_name(registry))
    policy = retention_from_params(c, ctx.params, required=False)
    report = _collect(c, registry, policy, gc_type, concurrency)
    out = c.out
    if out.json:
        out.emit_json(report.to_dict())
    elif out.out.is_terminal:
        out.show(usage_table(report, width=out.out.width))
    else:
        out.emit_text(usage_text(report))


def _collect(
    c: Cli,
    registry: str | None,
    policy: RetentionPolicy | RetentionRules | None,
    gc_type: GCTypeChoice,
    concurrency: int,
) -> UsageReport:
    out = c.out

    async def work(client: DOCRClient) -> UsageReport:
        with out.progress() as progress:
            task = progress.add_task("listing repositories", total=None)

            def on_repository(name: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, description=f"listed {name}")

            report = await disk_usage(
                client,
                registry,
                policy=policy,
                gc_type=gc_type.api,
                concurrency=concurrency,
                progress=on_repository,
            )
            done = len(report.repositories)
            progress.update(task, description="listing complete", total=max(1, done), completed=done)
        return report

    return c.run(work)


def _bar(unique: int, shared: int, scale: int) -> Text:
    """``█`` for unique bytes, ``░`` for shared, proportional to the largest repository."""
    if scale <= 0:
        return Text("")
    solid = round(_BAR_WIDTH * unique / scale)
    light = round(_BAR_WIDTH * (unique + shared) / scale) - solid
    return Text("█" * solid, style="cyan") + Text("░" * max(0, light), style="dim cyan")


def _summary_lines(report: UsageReport) -> list[str]:
    unique = sum(r.unique_bytes for r in report.repositories)
    unreferenced = report.unreferenced_bytes
    lines = [
        f"registry reports {human_bytes(report.storage_usage_bytes)} = referenced "
        f"{human_bytes(report.referenced_bytes)} ({human_bytes(unique)} unique + "
        f"{human_bytes(report.shared_blob_bytes)} shared, each blob once) + unreferenced "
        f"{human_bytes(unreferenced)}",
        report.explanation(),
        f"a garbage collection ({report.gc_type.value}) alone would free "
        f"{human_bytes(report.reclaimable_now_bytes)}",
    ]
    if report.freed_bytes is not None:
        lines.append(
            f"the cleanup plus that garbage collection would free {human_bytes(report.freed_bytes)} "
            f"({human_bytes(report.freed_shared_bytes)} of it shared between repositories)"
        )
        lines.append(f"assumes {assumption(report.gc_type)}")
    return lines


def usage_table(report: UsageReport, width: int | None = None) -> Table:
    """The report as a rich table with proportional bars (largest repositories first).

    Args:
        report: The report.
        width: The terminal's width: a narrower terminal loses the dates, then the bars.
    """
    for dates, bars in ((True, True), (False, True), (False, False)):
        table = _usage_table(report, dates=dates, bars=bars)
        if width is None or _natural_width(table) <= width:
            break
    return table


def _natural_width(table: Table) -> int:
    return Measurement.get(_MEASURE, _MEASURE.options, table).maximum


def _usage_table(report: UsageReport, *, dates: bool, bars: bool) -> Table:
    predicting = report.freed_bytes is not None
    rows = report.repositories
    widest = max((len(r.repository) for r in rows), default=5)
    table = Table(
        title=f"Storage of {report.registry}: {len(rows)} repositories",
        title_justify="left",
        caption_justify="left",
        header_style="bold",
        show_footer=True,
    )
    table.add_column("REPOSITORY", "total", overflow="fold", min_width=min(40, widest))
    table.add_column("UNIQUE", human_bytes(sum(r.unique_bytes for r in rows)), justify="right", no_wrap=True)
    table.add_column("SHARED", human_bytes(report.shared_blob_bytes), justify="right", no_wrap=True)
    if bars:
        table.add_column("", no_wrap=True)
    table.add_column("TAGS", str(sum(r.tags for r in rows)), justify="right", no_wrap=True)
    table.add_column("MANIFESTS", str(sum(r.manifests for r in rows)), justify="right", no_wrap=True)
    table.add_column(
        "UNTAGGED",
        f"{sum(r.untagged_manifests for r in rows)} / {human_bytes(sum(r.untagged_bytes for r in rows))}",
        justify="right",
        no_wrap=True,
    )
    if dates:
        table.add_column("OLDEST", no_wrap=True)
        table.add_column("NEWEST", no_wrap=True)
    if predicting:
        table.add_column(
            "FREED", human_bytes(report.freed_bytes), justify="right", style="green", no_wrap=True
        )
    scale = max((r.total_bytes for r in rows), default=0)
    for r in rows:
        cells: list[str | Text] = [r.repository, human_bytes(r.unique_bytes), human_bytes(r.shared_bytes)]
        if bars:
            cells.append(_bar(r.unique_bytes, r.shared_bytes, scale))
        cells += [str(r.tags), str(r.manifests), f"{r.untagged_manifests} / {human_bytes(r.untagged_bytes)}"]
        if dates:
            cells += [when(r.oldest_push)[:10], when(r.newest_push)[:10]]
        if predicting:
            cells.append(human_bytes(r.freed_bytes))
        table.add_row(*cells)
    legend = ["█ unique  ░ shared"] if bars else []
    table.caption = "\n".join([*legend, *_summary_lines(report)])
    return table


def usage_text(report: UsageReport) -> str:
    """The report as plain tab-separated text, exact byte counts (for pipes and scripts)."""
    predicting = report.freed_bytes is not None
    header = [
        "REPOSITORY",
        "UNIQUE",
        "SHARED",
        "TAGS",
        "MANIFESTS",
        "UNTAGGED",
        "UNTAGGED_BYTES",
        "OLDEST",
        "NEWEST",
    ]
    lines = ["\t".join([*header, "FREED"] if predicting else header)]
    for r in report.repositories:
        cells = [
            r.repository,
            str(r.unique_bytes),
            str(r.shared_bytes),
            str(r.tags),
            str(r.manifests),
            str(r.untagged_manifests),
            str(r.untagged_bytes),
            when(r.oldest_push),
            when(r.newest_push),
        ]
        if predicting:
            cells.append(str(r.freed_bytes))
        lines.append("\t".join(cells))
    lines.append("")
    lines += [f"# {line}" for line in _summary_lines(report)]
    return "\n".join(lines)
