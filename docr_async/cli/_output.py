"""Rendering for the ``docr`` command: JSON documents on stdout, rich tables, progress on stderr.

stdout carries only the result (a table, or one JSON document with ``-o json``); messages,
warnings, errors and progress bars go to stderr, and progress bars only when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
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

from ._listings import (
    Column,
    Listing,
    aligned_text,
    gc_table,
    human_bytes,
    manifests_table,
    parse_columns,
    registries_table,
    repositories_table,
    short_digest,
    tags_table,
    when,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..models import (
        RegistryOptions,
        Subscription,
    )

T = TypeVar("T")

__all__ = [
    "Column",
    "Listing",
    "Output",
    "OutputFormat",
    "aligned_text",
    "gc_table",
    "human_bytes",
    "manifests_table",
    "options_table",
    "parse_columns",
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
    """Rich tables on a terminal; plain aligned text (as ``text``) when stdout is not one."""
    TEXT = "text"
    """Plain aligned text, as doctl prints: raw values (full digests, bytes, ISO times)."""
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
        columns: Sequence[str] | None = None,
        no_header: bool = False,
    ) -> None:
        self.format = fmt
        self.columns = list(columns) if columns else None
        self.no_header = no_header
        self._secrets = tuple(s for s in secrets if s)
        out_file = stdout if stdout is not None else sys.stdout
        err_file = stderr if stderr is not None else sys.stderr
        self._out_file = out_file
        out_tty = _isatty(out_file)
        self.plain = fmt is OutputFormat.TEXT or (fmt is OutputFormat.TABLE and not out_tty)
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
        """Print a :class:`Listing` (a table, or plain text when not on a terminal) or a renderable."""
        if isinstance(renderable, Listing):
            self._show_listing(renderable)
        elif self.plain and isinstance(renderable, Text):
            self.emit_text(self.redact(renderable.plain))
        elif self.plain and isinstance(renderable, Table):
            self._out_file.write(self._table_text(renderable))
        else:
            self.out.print(self._redacted(renderable))
        self._out_file.flush()

    def _show_listing(self, listing: Listing) -> None:
        columns = listing.pick(self.columns)
        header = None if self.no_header else [column.name for column in columns]
        if self.plain:
            rows = [[self.redact(column.raw(row)) for column in columns] for row in listing.rows]
            self._out_file.write(aligned_text(header, rows))
            return
        table = Table(header_style="bold", show_header=not self.no_header)
        for column in columns:
            table.add_column(column.header, justify="right" if column.right else "left", overflow="fold")
        for row in listing.rows:
            table.add_row(*(self.redact(column.shown(row)) for column in columns))
        self.out.print(table)

    def _table_text(self, table: Table) -> str:
        """A rich table as plain aligned text (title first, when it has one), secrets removed."""
        cells = [[_cell_text(cell) for cell in column.cells] for column in table.columns]
        rows = [[self.redact(column[i]) for column in cells] for i in range(table.row_count)]
        header = None if self.no_header else [self.redact(_cell_text(c.header)) for c in table.columns]
        title = f"{self.redact(_cell_text(table.title))}\n" if table.title and not self.no_header else ""
        return title + aligned_text(header, rows)

    def _redacted(self, renderable: Any) -> Any:
        """A rich table with every secret removed from its cells (other renderables as they are)."""
        if not self._secrets or not isinstance(renderable, Table):
            return renderable
        for column in renderable.columns:
            column._cells = [self.redact(cell) if isinstance(cell, str) else cell for cell in column._cells]
        if isinstance(renderable.title, str):
            renderable.title = self.redact(renderable.title)
        return renderable

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


def _cell_text(cell: Any) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain  # a rich table reads str cells as markup
    return str(cell) if cell is not None else ""


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
