"""The listings of the ``docr`` command and their columns (doctl's names, for ``--format``).

A listing is rows plus the columns they can be shown with: :class:`~docr_async.cli._output.Output`
draws it as a Rich table on a terminal, or as plain aligned text (raw values) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..models import GarbageCollection, Manifest, Registry, RepositoryV2, Tag

__all__ = [
    "Column",
    "Listing",
    "aligned_text",
    "gc_table",
    "human_bytes",
    "manifests_table",
    "parse_columns",
    "registries_table",
    "repositories_table",
    "short_digest",
    "tags_table",
    "when",
]


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


@attrs.frozen
class Column:
    """One column of a listing: its doctl name (``--format``), its table header and its value.

    Attributes:
        name: The doctl column name (``Tag``, ``ManifestDigest``...), as ``--format`` takes it.
        header: The header of the terminal table.
        value: The raw value of a row (plain text prints it as is: full digests, bytes, ISO times).
        pretty: How the terminal table shows the value (short digests, KiB, seconds).
        right: Right-aligned in the terminal table.
    """

    name: str
    header: str
    value: Callable[[Any], Any]
    pretty: Callable[[Any], str] | None = None
    right: bool = attrs.field(default=False, kw_only=True)

    def raw(self, row: Any) -> str:
        """The cell as plain text prints it (``-`` when empty)."""
        value = self.value(row)
        if value is None or value == "":
            return "-"
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, Enum):
            return str(value.value)
        return str(value)

    def shown(self, row: Any) -> str:
        """The cell as the terminal table shows it."""
        value = self.value(row)
        if self.pretty is not None:
            return self.pretty(value)
        return self.raw(row)


@attrs.frozen
class Listing:
    """Rows and the columns they can be shown with (``--format`` picks among ``columns``).

    Attributes:
        columns: Every column the listing has.
        default: The names of the columns shown without ``--format``.
        rows: The items.
    """

    columns: tuple[Column, ...]
    default: tuple[str, ...]
    rows: list[Any]

    def names(self) -> list[str]:
        """The column names ``--format`` accepts."""
        return [column.name for column in self.columns]

    def pick(self, wanted: Sequence[str] | None) -> list[Column]:
        """The columns to show: ``wanted`` (case-insensitive names), else the default ones.

        Raises:
            ValueError: If a wanted name is not a column of this listing.
        """
        by_name = {column.name.lower(): column for column in self.columns}
        chosen = []
        for name in wanted if wanted else self.default:
            column = by_name.get(name.strip().lower())
            if column is None:
                raise ValueError(
                    f"--format: unknown column {name.strip()!r}; choose from {', '.join(self.names())}"
                )
            chosen.append(column)
        return chosen


def parse_columns(value: str | None) -> list[str] | None:
    """``--format Tag,ManifestDigest`` -> ``["Tag", "ManifestDigest"]`` (``None`` or empty: default)."""
    if not value:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    return names or None


def aligned_text(header: Sequence[str] | None, rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by at least three spaces, as doctl's text output."""
    lines = ([list(header)] if header else []) + [list(row) for row in rows]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        out.append("   ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def registries_table(registries: Iterable[Registry]) -> Listing:
    """Registries: name, region, storage, tier, created."""
    return Listing(
        (
            Column("Name", "NAME", lambda r: r.name),
            Column("Endpoint", "ENDPOINT", lambda r: f"registry.digitalocean.com/{r.name}"),
            Column("Region", "REGION", lambda r: r.region),
            Column(
                "StorageUsageBytes",
                "STORAGE",
                lambda r: r.storage_usage_bytes,
                human_bytes,
                right=True,
            ),
            Column("Tier", "TIER", _tier_slug),
            Column("CreatedAt", "CREATED", lambda r: r.created_at, when),
        ),
        ("Name", "Region", "StorageUsageBytes", "Tier", "CreatedAt"),
        list(registries),
    )


def _tier_slug(registry: Registry) -> str | None:
    subscription = registry.subscription
    return subscription.tier.slug if subscription and subscription.tier else None


def repositories_table(repos: Iterable[RepositoryV2]) -> Listing:
    """Repositories: name, tag and manifest counts, latest push."""
    return Listing(
        (
            Column("Name", "NAME", lambda r: r.name),
            Column("RegistryName", "REGISTRY", lambda r: r.registry_name),
            Column("TagCount", "TAGS", lambda r: r.tag_count, right=True),
            Column("ManifestCount", "MANIFESTS", lambda r: r.manifest_count, right=True),
            Column(
                "LatestManifest",
                "LATEST DIGEST",
                lambda r: r.latest_manifest.digest if r.latest_manifest else None,
                short_digest,
            ),
            Column(
                "UpdatedAt",
                "LATEST PUSH",
                lambda r: r.latest_manifest.updated_at if r.latest_manifest else None,
                when,
            ),
            Column(
                "CompressedSizeBytes",
                "LATEST SIZE",
                lambda r: r.latest_manifest.compressed_size_bytes if r.latest_manifest else None,
                human_bytes,
                right=True,
            ),
        ),
        ("Name", "TagCount", "ManifestCount", "UpdatedAt", "CompressedSizeBytes"),
        list(repos),
    )


_IMAGE_COLUMNS = (
    Column("CompressedSizeBytes", "COMPRESSED", lambda r: r.compressed_size_bytes, human_bytes, right=True),
    Column("SizeBytes", "SIZE", lambda r: r.size_bytes, human_bytes, right=True),
    Column("UpdatedAt", "UPDATED", lambda r: r.updated_at, when),
    Column("RegistryName", "REGISTRY", lambda r: r.registry_name),
    Column("Repository", "REPOSITORY", lambda r: r.repository),
)
"""The columns tags and manifests share."""


def tags_table(tags: Iterable[Tag]) -> Listing:
    """Tags: tag, digest, size, pushed."""
    return Listing(
        (
            Column("Tag", "TAG", lambda t: t.tag),
            Column("ManifestDigest", "DIGEST", lambda t: t.manifest_digest, short_digest),
            *_IMAGE_COLUMNS,
        ),
        ("Tag", "ManifestDigest", "CompressedSizeBytes", "UpdatedAt"),
        list(tags),
    )


def _manifest_tags(manifest: Manifest) -> str | None:
    return ",".join(manifest.tags) if manifest.tags else None


def manifests_table(manifests: Iterable[Manifest]) -> Listing:
    """Manifests: digest, tags, size, pushed."""
    return Listing(
        (
            Column("Digest", "DIGEST", lambda m: m.digest, short_digest),
            Column("Tags", "TAGS", _manifest_tags, lambda v: v or "(untagged)"),
            *_IMAGE_COLUMNS,
        ),
        ("Digest", "Tags", "CompressedSizeBytes", "UpdatedAt"),
        list(manifests),
    )


def gc_table(gcs: Iterable[GarbageCollection]) -> Listing:
    """Garbage collections: uuid, status, blobs, freed, created, updated."""
    return Listing(
        (
            Column("UUID", "UUID", lambda g: g.uuid),
            Column("RegistryName", "REGISTRY", lambda g: g.registry_name),
            Column("Status", "STATUS", lambda g: g.status),
            Column("Type", "TYPE", lambda g: g.type),
            Column("BlobsDeleted", "BLOBS DELETED", lambda g: g.blobs_deleted, right=True),
            Column("FreedBytes", "FREED", lambda g: g.freed_bytes, human_bytes, right=True),
            Column("CreatedAt", "CREATED", lambda g: g.created_at, when),
            Column("UpdatedAt", "UPDATED", lambda g: g.updated_at, when),
        ),
        ("UUID", "Status", "BlobsDeleted", "FreedBytes", "CreatedAt", "UpdatedAt"),
        list(gcs),
    )
