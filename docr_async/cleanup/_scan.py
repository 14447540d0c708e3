"""Read the tags and manifests of many repositories at once: the one scan the planner and ``du`` share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._groups import collapse

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._client import DOCRClient
    from ..models import Manifest, Tag

__all__ = ["Listings", "list_repositories"]

Listings = dict[str, tuple[list["Tag"], list["Manifest"]]]
"""Repository name -> (its tags, its manifests), each listing read completely."""


async def list_repositories(
    client: DOCRClient,
    registry: str,
    names: Sequence[str],
    *,
    wants_tags: Callable[[str], bool],
    concurrency: int,
    on_listed: Callable[[str, int, int], None] | None = None,
) -> Listings:
    """List ``names``' tags (where ``wants_tags(name)``) and manifests, ``concurrency`` repositories at once.

    ``on_listed`` is called after each repository with (name, listed so far, to list).

    Raises:
        DOCRError: If one listing fails (raised as itself; the other listings are cancelled).
        ExceptionGroup: If several fail at once (every error, for ``except*``).
    """
    listed: Listings = {}
    gate = anyio.CapacityLimiter(max(1, concurrency))

    async def scan(name: str) -> None:
        async with gate:
            tags = await client.tags.list(name, registry=registry).collect() if wants_tags(name) else []
            manifests = await client.manifests.list(name, registry=registry).collect()
        listed[name] = (tags, manifests)
        if on_listed is not None:
            on_listed(name, len(listed), len(names))

    failure: BaseException | None = None
    try:
        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(scan, name)
    except BaseExceptionGroup as group_error:
        failure = collapse(group_error)
    if failure is not None:
        raise failure
    return listed
