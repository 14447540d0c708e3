"""Pure parts of the safe executor: strict listings, task-group errors, private atomic files."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any, cast

import pytest

from docr_async import ListingChangedError
from docr_async.cleanup._groups import collapse
from docr_async.cleanup.files import write_private
from docr_async.cleanup.report import percentile
from docr_async.cleanup.verify import MAX_REREADS, _strict, read_repository
from docr_async.pagination import Page

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable
    from pathlib import Path

    from docr_async.pagination import AsyncPager


class Listing:
    """A stand-in strict pager: the first ``changes`` reads raise ListingChangedError after one page."""

    def __init__(self, items: tuple[str, ...], changes: int) -> None:
        self.items = items
        self.changes = changes
        self.count = 0

    def __call__(self) -> Listing:
        return self

    async def pages(self) -> AsyncGenerator[Page[str]]:
        self.count += 1
        yield Page(items=self.items[:2], total=len(self.items))
        if self.count <= self.changes:
            raise ListingChangedError("total went 3 → 4 between page 1 and page 2")
        yield Page(items=self.items[2:], total=len(self.items))


async def test_a_listing_that_changed_while_read_is_read_again_from_scratch() -> None:
    listing = Listing(("a", "b", "c"), changes=2)
    pager = cast("Callable[[], AsyncPager[str]]", listing)
    items, pages = await _strict(pager, "tags")
    assert items == ["a", "b", "c"]  # only the clean read's items: nothing kept from changed reads
    assert listing.count == 3
    assert pages == 4  # 1 + 1 pages of the changed reads, 2 of the clean one


async def test_a_listing_that_never_settles_is_not_trusted() -> None:
    listing = Listing(("a", "b", "c"), changes=MAX_REREADS)
    with pytest.raises(ListingChangedError, match="the tag listing of web changed while it was read"):
        await _strict(cast("Callable[[], AsyncPager[str]]", listing), "the tag listing of web")
    assert listing.count == MAX_REREADS


async def test_verification_listings_are_strict() -> None:
    """read_repository asks for on_change="raise": a de-duplicated re-read never approves a delete."""
    calls: list[dict[str, Any]] = []

    class Pager:
        async def pages(self) -> AsyncGenerator[Page[Any]]:
            yield Page(items=(), total=0)

    class Resource:
        def list(self, repository: str, **kwargs: Any) -> Pager:
            calls.append(kwargs)
            return Pager()

    class Client:
        tags = Resource()
        manifests = Resource()

    view = await read_repository(Client(), "example", "web", manifests=True, now=0.0)  # type: ignore[arg-type]
    assert view.pages == 2
    assert [c["on_change"] for c in calls] == ["raise", "raise"]


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
