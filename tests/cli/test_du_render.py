"""``docr du`` rendering (pure): the terminal table's bars and narrow-terminal fallbacks, the TSV."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from docr_async.cleanup import RepositoryListing, RetentionPolicy, UsageReport, compute_usage
from docr_async.cli.du import usage_table, usage_text
from docr_async.models import Blob, Manifest

NOW = datetime(2026, 11, 1, tzinfo=UTC)
BASE = Blob(digest="sha256:" + "0" * 64, compressed_size_bytes=8_000_000)


def manifest(n: int, tag: str, size: int) -> Manifest:
    own = Blob(digest=f"sha256:{n:064x}", compressed_size_bytes=size)
    return Manifest(digest=f"sha256:{n + 99:064x}", tags=(tag,), blobs=(BASE, own), updated_at=NOW)


def report(policy: RetentionPolicy | None = None) -> UsageReport:
    listings = [
        RepositoryListing(name="big", manifests=[manifest(1, "a", 16_000_000)]),
        RepositoryListing(name="small", manifests=[manifest(2, "b", 0)]),
    ]
    return compute_usage("example", listings, storage_usage_bytes=24_000_000, policy=policy, now=NOW)


def render(table: object, width: int) -> str:
    out = io.StringIO()
    Console(width=width, file=out, color_system=None).print(table)
    return out.getvalue()


def test_bars_are_proportional_unique_solid_and_shared_light() -> None:
    text = render(usage_table(report()), 200)
    big = next(line for line in text.splitlines() if " big " in line)
    small = next(line for line in text.splitlines() if " small " in line)
    # big: 16 MB unique + 8 MB shared = the scale (16 cells): 11 solid, 5 light.
    assert big.count("█") == 11
    assert big.count("░") == 5
    assert small.count("█") == 0
    assert small.count("░") == 5
    assert text.index(" big ") < text.index(" small ")
    assert "OLDEST" in text
    assert "FREED" not in text


def test_a_narrow_terminal_drops_dates_then_bars_but_keeps_the_numbers() -> None:
    wide = render(usage_table(report(RetentionPolicy(keep_last=0)), width=200), 200)
    assert "OLDEST" in wide
    assert "FREED" in wide
    medium_width = max(len(line) for line in wide.splitlines()[1:5]) - 5
    medium = render(usage_table(report(RetentionPolicy(keep_last=0)), width=medium_width), medium_width)
    assert "OLDEST" not in medium
    assert "█" in medium
    narrow = render(usage_table(report(RetentionPolicy(keep_last=0)), width=70), 70)
    assert "█" not in narrow
    assert "FREED" in narrow
    assert "15.3 MiB" in narrow  # big's unique bytes


def test_text_is_tab_separated_with_exact_bytes() -> None:
    lines = usage_text(report()).splitlines()
    assert lines[0].split("\t")[:3] == ["REPOSITORY", "UNIQUE", "SHARED"]
    assert lines[1].split("\t")[:3] == ["big", "16000000", "8000000"]
    assert lines[2].split("\t")[:3] == ["small", "0", "8000000"]
    assert "FREED" not in lines[0]
