"""Rendering for the ``docr`` command: JSON documents on stdout, rich tables, progress on stderr.

stdout carries only the result (a table, or one JSON document with ``-o json``); messages,
warnings, errors and progress bars go to stderr, and progress bars only when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..models import (
        GarbageCollection,
        Manifest,
        Registry,
        RegistryOptions,
        RepositoryV2,
        Subscription,
        Tag,
    )

T = TypeVar("T")

__all__ = [
    "Output",
    "OutputFormat",
    "gc_table",
    "human_bytes",
    "manifests_table",
    "options_table",
    "registries_table",
    "repositories_table",
    "short_digest",
    "subscription_table",
    "tags_table",
    "to_jsonable",
]

_PIPE_WIDTH = 160


class OutputFormat(StrEnum):
    """What stdout carries."""

    TABLE = "table"
    JSON = "json"


def to_jsonable(value: Any) -> Any:
    """Convert models (attrs classes), datetimes, enums and tuples to plain JSON values.

    Unknown fields a model kept in ``extra`` are merged back in, so nothing the API sent is lost.
    """
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        extra: Mapping[str, Any] = {}
        for field in attrs.fields(type(value)):
            if not field.init:
                continue
            item = getattr(value, field.name)
            if field.name == "extra" and isinstance(item, Mapping):
                extra = item
                continue
            out[field.name.lstrip("_")] = to_jsonable(item)
        for key, item in extra.items():
            out.setdefault(key, to_jsonable(item))
        return out
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def human_bytes(size: float | None) -> str:
    """``1536`` -> ``1.5 KiB``; ``None`` -> ``-``."""
    if size is None:
        return "-"
    value = float(size)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def short_digest(digest: str | None) -> str:
    """``sha256:abcdef0123456789...`` -> ``sha256:abcdef012345``."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


def when(value: datetime | None) -> str:
    """A timestamp for tables (UTC, to the second)."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


class Output:
    """Where and how the command writes. The only place (with the demo) that prints.

    Args:
        fmt: ``table`` or ``json`` for stdout.
        secrets: Strings never written anywhere (the API token).
        stdout: Override stdout (tests).
        stderr: Override stderr (tests).
    """

    def __init__(
        self,
        fmt: OutputFormat = OutputFormat.TABLE,
        *,
        secrets: Iterable[str] = (),
        stdout: Any = None,
        stderr: Any = None,
    ) -> None:
        self.format = fmt
        self._secrets = tuple(s for s in secrets if s)
        out_file = stdout if stdout is not None else sys.stdout
        err_file = stderr if stderr is not None else sys.stderr
        self._out_file = out_file
        out_tty = _isatty(out_file)
        self.out = Console(file=out_file, highlight=False, width=None if out_tty else _PIPE_WIDTH)
        self.err = Console(file=err_file, highlight=False, soft_wrap=True, stderr=err_file is sys.stderr)

    @property
    def json(self) -> bool:
        """True with ``-o json``."""
        return self.format is OutputFormat.JSON

    @property
    def interactive(self) -> bool:
        """True when stderr is a terminal (progress bars are shown)."""
        return self.err.is_terminal

    def redact(self, text: str) -> str:
        """Remove every secret from ``text``."""
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def emit_json(self, data: Any) -> None:
        """Write one JSON document to stdout."""
        text = json.dumps(to_jsonable(data), indent=2)
        self._out_file.write(self.redact(text) + "\n")
        self._out_file.flush()

    def emit_text(self, text: str) -> None:
        """Write raw text to stdout (manifests, credentials), unstyled."""
        self._out_file.write(text if text.endswith("\n") else text + "\n")
        self._out_file.flush()

    def result(self, data: T, table: Callable[[T], Any]) -> None:
        """A command's result: ``data`` as JSON with ``-o json``, else the renderable ``table(data)``."""
        if self.json:
            self.emit_json(data)
        else:
            self.show(table(data))

    def show(self, renderable: Any) -> None:
        """Print a rich renderable (a table) to stdout."""
        self.out.print(renderable)
        self._out_file.flush()

    def info(self, message: str, style: str = "") -> None:
        """A status line on stderr."""
        self.err.print(Text(self.redact(message), style=style))

    def warn(self, message: str) -> None:
        """A warning on stderr."""
        self.err.print(Text("warning: ", style="bold yellow") + Text(self.redact(message)))

    def error(self, message: str) -> None:
        """One error line on stderr."""
        self.err.print(Text("error: ", style="bold red") + Text(self.redact(message)))

    def banner(self, message: str, style: str = "bold black on yellow") -> None:
        """A loud line on stderr (the dry-run notice)."""
        self.err.print(Text(f" {self.redact(message)} ", style=style))

    def progress(self) -> Progress:
        """A progress display with ETA on stderr, disabled unless stderr is a terminal."""
        return Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.err,
            disable=not self.interactive,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---- tables -----------------------------------------------------------------------------------


def _table(title: str | None, *columns: str, right: Iterable[str] = ()) -> Table:
    table = Table(title=title, title_justify="left", caption_justify="left", header_style="bold")
    numeric = set(right)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    return table


def registries_table(registries: Iterable[Registry]) -> Table:
    """Registries: name, region, storage, tier, created."""
    table = _table(None, "NAME", "REGION", "STORAGE", "TIER", "CREATED", right=("STORAGE",))
    for reg in registries:
        tier = reg.subscription.tier.slug if reg.subscription and reg.subscription.tier else "-"
        table.add_row(
            reg.name, reg.region or "-", human_bytes(reg.storage_usage_bytes), tier, when(reg.created_at)
        )
    return table


def repositories_table(repos: Iterable[RepositoryV2]) -> Table:
    """Repositories: name, tag and manifest counts, latest push."""
    table = _table(
        None,
        "NAME",
        "TAGS",
        "MANIFESTS",
        "LATEST PUSH",
        "LATEST SIZE",
        right=("TAGS", "MANIFESTS", "LATEST SIZE"),
    )
    for repo in repos:
        latest = repo.latest_manifest
        table.add_row(
            repo.name,
            str(repo.tag_count if repo.tag_count is not None else "-"),
            str(repo.manifest_count if repo.manifest_count is not None else "-"),
            when(latest.updated_at) if latest else "-",
            human_bytes(latest.compressed_size_bytes) if latest else "-",
        )
    return table


def tags_table(tags: Iterable[Tag]) -> Table:
    """Tags: tag, digest, size, pushed."""
    table = _table(None, "TAG", "DIGEST", "COMPRESSED", "UPDATED", right=("COMPRESSED",))
    for tag in tags:
        table.add_row(
            tag.tag,
            short_digest(tag.manifest_digest),
            human_bytes(tag.compressed_size_bytes),
            when(tag.updated_at),
        )
    return table


def manifests_table(manifests: Iterable[Manifest]) -> Table:
    """Manifests: digest, tags, size, pushed."""
    table = _table(None, "DIGEST", "TAGS", "COMPRESSED", "UPDATED", right=("COMPRESSED",))
    for manifest in manifests:
        table.add_row(
            short_digest(manifest.digest),
            ", ".join(manifest.tags) if manifest.tags else "(untagged)",
            human_bytes(manifest.compressed_size_bytes),
            when(manifest.updated_at),
        )
    return table


def gc_table(gcs: Iterable[GarbageCollection]) -> Table:
    """Garbage collections: uuid, status, blobs, freed, created, updated."""
    table = _table(
        None,
        "UUID",
        "STATUS",
        "BLOBS DELETED",
        "FREED",
        "CREATED",
        "UPDATED",
        right=("BLOBS DELETED", "FREED"),
    )
    for gc in gcs:
        table.add_row(
            gc.uuid,
            gc.status,
            str(gc.blobs_deleted if gc.blobs_deleted is not None else "-"),
            human_bytes(gc.freed_bytes),
            when(gc.created_at),
            when(gc.updated_at),
        )
    return table


def options_table(options: RegistryOptions) -> Table:
    """Subscription tiers (and the regions in the title)."""
    regions = ", ".join(options.available_regions) or "-"
    table = _table(
        f"Regions: {regions}",
        "TIER",
        "SLUG",
        "REPOS",
        "STORAGE",
        "TRANSFER",
        "PRICE/MONTH",
        "ELIGIBLE",
        right=("REPOS", "STORAGE", "TRANSFER", "PRICE/MONTH"),
    )
    for tier in options.subscription_tiers:
        repos = tier.included_repositories
        eligible = "-" if tier.eligible is None else ("yes" if tier.eligible else "no")
        if tier.eligibility_reasons:
            eligible += f" ({', '.join(tier.eligibility_reasons)})"
        table.add_row(
            tier.name,
            tier.slug,
            "unlimited" if repos == 0 else str(repos if repos is not None else "-"),
            human_bytes(tier.included_storage_bytes),
            human_bytes(tier.included_bandwidth_bytes),
            "-" if tier.monthly_price_in_cents is None else f"${tier.monthly_price_in_cents / 100:.2f}",
            eligible,
        )
    return table


def subscription_table(subscription: Subscription) -> Table:
    """The subscription as a two-column table."""
    table = _table(None, "FIELD", "VALUE")
    tier = subscription.tier
    table.add_row("tier", f"{tier.name} ({tier.slug})" if tier else "-")
    if tier is not None:
        table.add_row("included storage", human_bytes(tier.included_storage_bytes))
        repos = tier.included_repositories
        table.add_row("included repositories", "unlimited" if repos == 0 else str(repos))
        price = tier.monthly_price_in_cents
        table.add_row("price per month", "-" if price is None else f"${price / 100:.2f}")
    table.add_row("created", when(subscription.created_at))
    table.add_row("updated", when(subscription.updated_at))
    return table


def key_value_table(rows: Mapping[str, Any], title: str | None = None) -> Table:
    """A two-column table of labelled values."""
    table = _table(title, "FIELD", "VALUE")
    for key, value in rows.items():
        table.add_row(key, "-" if value is None else str(value))
    return table
