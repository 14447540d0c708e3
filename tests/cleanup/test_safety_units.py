"""Pure parts of the safe executor: strict listings, task-group errors, private atomic files."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

import pytest

from docr_async import PaginationError
from docr_async.cleanup._groups import collapse
from docr_async.cleanup.files import write_private
from docr_async.cleanup.report import percentile
from docr_async.cleanup.verify import MAX_REREADS, _strict
from docr_async.pagination import Page

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator
    from pathlib import Path


class Listing:
    """A stand-in pager whose successive reads return the given page sequences."""

    def __init__(self, reads: list[list[Page[str]]]) -> None:
        self.reads = reads
        self.count = 0

    def __call__(self) -> Listing:
        return self

    async def pages(self) -> AsyncGenerator[Page[str]]:
        read = self.reads[min(self.count, len(self.reads) - 1)]
        self.count += 1
        for page in read:
            yield page


def page(items: tuple[str, ...], total: int | None) -> Page[str]:
    return Page(items=items, total=total)


async def test_a_listing_read_twice_the_same_item_is_read_again_never_deduplicated() -> None:
    shifted = [page(("a", "b"), 3), page(("b", "c"), 3)]  # a deletion elsewhere shifted page 2
    clean = [page(("a", "b"), 3), page(("c",), 3)]
    listing = Listing([shifted, clean])
    items, pages = await _strict(listing, str, "tags")  # type: ignore[arg-type]
    assert items == ["a", "b", "c"]
    assert listing.count == 2
    assert pages == 4


async def test_a_total_that_moves_while_reading_means_read_again() -> None:
    grew = [page(("a", "b"), 3), page(("c", "d"), 4)]
    listing = Listing([grew, [page(("a", "b", "c", "d"), 4)]])
    items, _ = await _strict(listing, str, "tags")  # type: ignore[arg-type]
    assert items == ["a", "b", "c", "d"]
    assert listing.count == 2


async def test_a_listing_that_never_settles_is_not_trusted() -> None:
    listing = Listing([[page(("a", "b"), 5)]])  # total says 5, two items came
    with pytest.raises(PaginationError, match="changed while it was read"):
        await _strict(listing, str, "the tag listing of web")  # type: ignore[arg-type]
    assert listing.count == MAX_REREADS


def test_one_error_of_a_group_is_raised_as_itself_several_together() -> None:
    one = ValueError("x")
    assert collapse(BaseExceptionGroup("g", [BaseExceptionGroup("inner", [one])])) is one
    errors: list[Any] = [ValueError("a"), KeyError("b")]
    group = collapse(BaseExceptionGroup("g", [errors[0], BaseExceptionGroup("inner", [errors[1]])]))
    assert isinstance(group, ExceptionGroup)
    assert list(group.exceptions) == errors


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([1.0, 2.0], 0.99) == 2.0


def test_private_files_are_written_atomically_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, '{"new": true}')
    assert target.read_text() == '{"new": true}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    with pytest.raises(UnicodeEncodeError):
        write_private(target, "half written \ud800")  # a lone surrogate cannot be encoded
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
