"""``docr demo``: a full cleanup against an in-process fake registry. No token, no network."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from .._client import DOCRClient
from .._ratelimit import RateLimiter
from ..cleanup import CleanupExecutor, ItemResult, RetentionPolicy, build_plan, collect_garbage
from ._cleanup_tables import plan_summary_table, report_summary_table
from ._common import OutputOpt, cli
from ._output import human_bytes

if TYPE_CHECKING:
    from ..testing import FakeDOCR
    from ._output import Output

__all__ = ["demo_command", "run_demo"]

REGISTRY = "example"


def demo_command(
    ctx: typer.Context,
    *,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated registry.")] = 1,
    repos: Annotated[int, typer.Option("--repos", min=1, max=100, help="Repositories.")] = 12,
    tags: Annotated[int, typer.Option("--tags", min=1, max=20_000, help="Tags in total.")] = 600,
    untagged: Annotated[
        int | None,
        typer.Option(
            "--untagged", min=0, help="Untagged manifests in total (default: tags / 8).", show_default=False
        ),
    ] = None,
    days: Annotated[
        float, typer.Option("--days", min=1, help="Spread push times over this many days.")
    ] = 180.0,
    keep_last: Annotated[
        int, typer.Option("--keep-last", min=0, help="Policy: keep the newest N tags.")
    ] = 10,
    older_than: Annotated[
        str, typer.Option("--older-than", help="Policy: delete tags older than this.")
    ] = "30d",
    latency: Annotated[
        float, typer.Option("--latency", min=0, max=5, help="Simulated API latency per request, in seconds.")
    ] = 0.02,
    output: OutputOpt = None,
) -> None:
    """Run a complete cleanup against an embedded fake registry (no token, no network).

    Seeds a realistic registry, shows its storage, plans with a retention policy, deletes with
    progress bars, runs a garbage collection and shows the storage before and after.
    """
    c = cli(ctx, output)
    summary = c.run_plain(
        lambda: run_demo(
            c.out,
            seed=seed,
            repos=repos,
            tags=tags,
            untagged=tags // 8 if untagged is None else untagged,
            days=days,
            keep_last=keep_last,
            older_than=older_than,
            latency=latency,
        )
    )
    if c.out.json:
        c.out.emit_json(summary)


async def run_demo(
    out: Output,
    *,
    seed: int,
    repos: int,
    tags: int,
    untagged: int,
    days: float,
    keep_last: int,
    older_than: str,
    latency: float = 0.0,
) -> dict[str, Any]:
    """Seed a fake registry, clean it, collect garbage; return a JSON-ready summary."""
    from ..testing import FakeDOCR, FaultConfig, GCConfig, RateLimitConfig, SeedSpec  # noqa: PLC0415 -- only the demo needs aiohttp.web

    started = time.monotonic()
    policy = RetentionPolicy(keep_last=keep_last, older_than=older_than, delete_untagged=True)
    spec = SeedSpec(registries=1, repos=repos, tags=tags, untagged=untagged, days=days, tier="professional")
    out.info(f"starting an in-process fake registry (seed {seed}: {repos} repositories, {tags} tags) ...")
    async with FakeDOCR(
        seed=seed,
        seed_spec=spec,
        rate_limits=RateLimitConfig(enabled=False),
        faults=FaultConfig(latency=latency),
        gc=GCConfig(step_seconds=0.05),
    ) as fake:
        latest = _tag_latest(fake)
        async with DOCRClient(
            fake.token, base_url=fake.url, rate_limiter=RateLimiter(burst_limit=None)
        ) as client:
            before = await _storage(client)
            if not out.json:
                out.show(_storage_table("Before", before))
                out.info(f"'latest' points at the newest image of {latest} repositories and is protected")
            with out.progress() as progress:
                task = progress.add_task("scanning repositories", total=before["repositories"])

                def scanned(name: str, done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total, description=f"scanned {name}")

                plan = await build_plan(client, REGISTRY, policy, on_repository=scanned, concurrency=8)
            if not out.json:
                out.show(plan_summary_table(plan))
            with out.progress() as progress:
                task = progress.add_task("deleting", total=len(plan.deletions))

                def deleted(_: ItemResult) -> None:
                    progress.advance(task)

                executor = CleanupExecutor(client, plan, concurrency=16, progress=deleted)
                report = await executor.run()
            if not out.json:
                out.show(report_summary_table(report))
                out.info("starting a garbage collection (unreferenced blobs only) ...")
            gc = await collect_garbage(client, REGISTRY, poll_interval=0.05, timeout=60)
            after = await _storage(client)
    summary = {
        "registry": REGISTRY,
        "seed": seed,
        "policy": policy.describe(),
        "before": before,
        "plan": {**plan.to_dict()["summary"], "expected_freed_bytes": plan.expected_freed_bytes},
        "report": {
            "ok": report.ok,
            "counts": report.counts,
            "items": len(report.results),
            "tags_removed": report.tags_removed,
            "requests": report.requests.attempts,
            "duration_seconds": round(report.duration_seconds, 3),
        },
        "garbage_collection": gc.to_dict(),
        "after": after,
        "freed_bytes": before["storage_usage_bytes"] - after["storage_usage_bytes"],
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    if not out.json:
        out.show(_before_after_table(before, after, gc.garbage_collection.freed_bytes))
        out.info(
            f"demo finished in {summary['duration_seconds']:.1f}s: "
            f"{report.counts['deleted']} deletions, {human_bytes(summary['freed_bytes'])} freed",
            style="bold green",
        )
    return summary


def _tag_latest(fake: FakeDOCR) -> int:
    """Point ``latest`` at the newest tagged image of each repository, as CI pipelines do."""
    registry = fake.state.registries[REGISTRY]
    count = 0
    for name, repo in sorted(registry.repositories.items()):
        newest = next((m for m in repo.sorted_manifests() if m.tags), None)
        if newest is not None:
            fake.push(REGISTRY, name, "latest", digest=newest.digest)
            count += 1
    return count


async def _storage(client: DOCRClient) -> dict[str, Any]:
    registry = await client.registries.get(REGISTRY)
    repos = await client.repositories.list(REGISTRY).collect()
    return {
        "storage_usage_bytes": registry.storage_usage_bytes or 0,
        "repositories": len(repos),
        "tags": sum(r.tag_count or 0 for r in repos),
        "manifests": sum(r.manifest_count or 0 for r in repos),
        "nested_repositories": sorted(r.name for r in repos if "/" in r.name),
    }


def _storage_table(title: str, data: dict[str, Any]) -> Table:
    table = Table(
        title=f"{title}: registry {REGISTRY}",
        title_justify="left",
        caption_justify="left",
        header_style="bold",
    )
    table.add_column("STORAGE", justify="right")
    table.add_column("REPOSITORIES", justify="right")
    table.add_column("TAGS", justify="right")
    table.add_column("MANIFESTS", justify="right")
    table.add_row(
        human_bytes(data["storage_usage_bytes"]),
        str(data["repositories"]),
        str(data["tags"]),
        str(data["manifests"]),
    )
    nested = data["nested_repositories"]
    if nested:
        table.caption = "nested: " + ", ".join(nested)
    return table


def _before_after_table(before: dict[str, Any], after: dict[str, Any], freed: int | None) -> Table:
    table = Table(title="Before and after", title_justify="left", caption_justify="left", header_style="bold")
    table.add_column("")
    table.add_column("BEFORE", justify="right")
    table.add_column("AFTER", justify="right")
    table.add_row(
        "storage", human_bytes(before["storage_usage_bytes"]), human_bytes(after["storage_usage_bytes"])
    )
    for key in ("repositories", "tags", "manifests"):
        table.add_row(key, str(before[key]), str(after[key]))
    table.caption = f"garbage collection freed {human_bytes(freed)}"
    return table
