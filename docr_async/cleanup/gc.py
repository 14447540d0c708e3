"""The garbage-collection workflow: start (or refuse/await an active one), wait, report storage.

Deleting tags and manifests frees nothing by itself: storage drops only after a garbage
collection removes the blobs no manifest references any more (by default, as doctl, it keeps
untagged manifests: the storage of a deleted tag is freed only when its manifest is deleted too).
While it runs the registry is read-only (pushes fail), so a job should start it once, after its
deletions, and wait for it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..exceptions import GarbageCollectionActiveError
from ..models import GarbageCollection, GCType
from ..names import validate_registry_name
from ..resources import DEFAULT_GC_TYPE

if TYPE_CHECKING:
    from .._client import DOCRClient

__all__ = ["GCResult", "collect_garbage"]


@attrs.frozen(kw_only=True)
class GCResult:
    """The outcome of :func:`collect_garbage`.

    Attributes:
        garbage_collection: The garbage collection as last seen (terminal when waited for).
        storage_before: The registry's ``storage_usage_bytes`` before starting.
        storage_after: The same after it finished (DigitalOcean computes it asynchronously, so it
            may lag); ``None`` when not waited for.
        waited_for_previous: True when an already-active collection was waited for first.
        duration_seconds: Wall time, waiting included.
    """

    garbage_collection: GarbageCollection
    storage_before: int | None
    storage_after: int | None
    waited_for_previous: bool
    duration_seconds: float

    @property
    def freed_bytes(self) -> int | None:
        """Bytes the garbage collection reports it freed."""
        return self.garbage_collection.freed_bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        gc = self.garbage_collection
        return {
            "uuid": gc.uuid,
            "status": gc.status,
            "type": gc.type,
            "blobs_deleted": gc.blobs_deleted,
            "freed_bytes": gc.freed_bytes,
            "storage_before": self.storage_before,
            "storage_after": self.storage_after,
            "waited_for_previous": self.waited_for_previous,
            "duration_seconds": round(self.duration_seconds, 3),
        }


async def collect_garbage(
    client: DOCRClient,
    registry: str,
    *,
    type: GCType | str = DEFAULT_GC_TYPE,
    wait: bool = True,
    timeout: float | None = 1800.0,  # noqa: ASYNC109 -- a polling deadline, not a cancel scope
    poll_interval: float = 5.0,
    if_active: Literal["error", "wait"] = "error",
) -> GCResult:
    """Run a garbage collection on ``registry`` and (by default) wait for it to finish.

    Args:
        client: The client.
        registry: The registry.
        type: What to remove; by default unreferenced blobs only (as doctl). Manifests the cleanup
            deleted are already gone; pass ``GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS`` to
            also remove every untagged manifest (images pulled by digest included).
        wait: Wait until it succeeds, fails or is cancelled.
        timeout: Longest wait, in seconds, for each collection waited for.
        poll_interval: First polling interval (it backs off from there).
        if_active: When one is already running: ``"error"`` raises, ``"wait"`` waits for it to end
            and then starts a new one.

    Raises:
        GarbageCollectionActiveError: If one is active and ``if_active="error"``.
        GarbageCollectionError: If it ends ``failed``.
        WaitTimeoutError: If it does not end within ``timeout``.
    """
    registry = validate_registry_name(registry)
    started = time.monotonic()
    gcs = client.garbage_collections
    before = (await client.registries.get(registry)).storage_usage_bytes
    active = await gcs.get_active(registry)
    waited = False
    if active is not None:
        if if_active != "wait":
            raise GarbageCollectionActiveError(
                f"garbage collection {active.uuid} is already {active.status!r} on {registry}",
                garbage_collection=active,
            )
        await gcs.wait(
            active.uuid,
            registry=registry,
            timeout=timeout,
            poll_interval=poll_interval,
            raise_on_failure=False,
        )
        waited = True
    gc = await gcs.start(registry, type=type)
    after: int | None = None
    if wait:
        gc = await gcs.wait(gc.uuid, registry=registry, timeout=timeout, poll_interval=poll_interval)
        after = (await client.registries.get(registry)).storage_usage_bytes
    return GCResult(
        garbage_collection=gc,
        storage_before=before,
        storage_after=after,
        waited_for_previous=waited,
        duration_seconds=time.monotonic() - started,
    )
