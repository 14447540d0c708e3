"""Garbage collections: start, inspect, list, cancel, and wait for one to finish."""

from __future__ import annotations

import logging
import math
import operator
import re
import warnings
from typing import TYPE_CHECKING, overload

from .._constants import DEFAULT_PER_PAGE, LOGGER_NAME
from ..exceptions import GarbageCollectionError, NotFoundError, ValidationError, WaitTimeoutError
from ..models import GarbageCollection, GCStatus, GCType
from ._base import _invalid
from ._scoped import RegistryScoped, optional_registry

if TYPE_CHECKING:
    from ..pagination import AsyncPager, OnChange

__all__ = ["DEFAULT_GC_TYPE", "HISTORY_LAG_POLLS", "GarbageCollections"]

logger = logging.getLogger(LOGGER_NAME)

DEFAULT_GC_TYPE = GCType.UNREFERENCED_BLOBS_ONLY
"""As doctl (and FakeDOCR): unreferenced blobs only; untagged manifests (pullable by digest) stay."""

HISTORY_LAG_POLLS = 5
"""Polls :meth:`GarbageCollections.wait` makes while a collection is neither active nor in the
history yet (the active endpoint says 404 before the history lists the finished one) before it
raises :class:`NotFoundError`."""


_gc_uuid = operator.attrgetter("uuid")


def _gc_type(value: GCType | str) -> str:
    try:
        return GCType(value).value
    except ValueError:
        raise ValidationError("type", value, f"must be one of {[t.value for t in GCType]}") from None


_UUID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def _uuid(value: object) -> str:
    # One path segment, nothing to encode: no '/', '.', '..', '?', '#', '%' or control characters.
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise ValidationError("uuid", value, "must be a garbage collection uuid")
    return value


_GC_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _wait_arguments(args: tuple[str, ...], uuid: str | None, registry: str | None) -> tuple[str, str | None]:
    """``(uuid, registry or None)`` from ``wait``'s arguments, checked.

    ``wait(uuid, registry=...)`` is the form (``uuid=`` may be a keyword, as in :meth:`get`). The
    deprecated order ``wait(registry, uuid)`` (or ``wait(registry, uuid=...)``) is told apart from a
    mistaken ``wait(uuid, registry)`` by the shape of a garbage collection uuid.
    """
    old = (*args, uuid) if uuid is not None else args
    if not old:
        return _uuid(uuid), optional_registry(registry)  # no uuid at all: a ValidationError
    if len(old) == 1:
        return _uuid(old[0]), optional_registry(registry)
    if len(old) != 2 or registry is not None:
        raise TypeError("use wait(uuid, registry=...): one garbage collection uuid, the rest keywords")
    first, second = old
    if _GC_UUID_RE.fullmatch(str(first)) and not _GC_UUID_RE.fullmatch(str(second)):
        raise TypeError(
            f"wait({first!r}, {second!r}): the registry is keyword-only, use wait(uuid, registry=...)"
        )
    warnings.warn(
        "wait(registry, uuid) is deprecated: use wait(uuid, registry=...), like get() and cancel()",
        DeprecationWarning,
        stacklevel=3,
    )
    return _uuid(second), optional_registry(first)


def _check_seconds(name: str, value: object, *, zero_ok: bool = False) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero_ok)
    ):
        bound = ">= 0" if zero_ok else "> 0"
        raise ValidationError(name, value, f"must be a finite number of seconds {bound}")


class GarbageCollections(RegistryScoped):
    """Garbage collections of a registry: ``client.garbage_collections`` (and the legacy twin)."""

    async def start(
        self, registry: str | None = None, *, type: GCType | str | None = DEFAULT_GC_TYPE
    ) -> GarbageCollection:
        """Start a garbage collection. The registry is read-only until it ends.

        Args:
            registry: The registry (default: the client's default registry).
            type: What to remove (a :class:`GCType`); ``None`` sends no body and lets the API pick
                its default (``unreferenced blobs only``, which frees nothing unless manifests were
                deleted first).

        A ``201`` with an empty body (seen in DigitalOcean's own client's mocked tests) is
        tolerated: the collection is then read from the active endpoint.

        Raises:
            ConflictError: If one is already active.
            InvalidResponseError: If the body is empty and no collection is active either.
        """
        given = optional_registry(registry)
        body = None if type is None else {"type": _gc_type(type)}
        registry = await self._registry(given)
        path = f"{self._prefix}/{registry}/garbage-collection"
        response = await self._call("POST", path, body=body)
        if response.data is not None:
            return self._structure(response, GarbageCollection, "garbage_collection")
        logger.debug(
            "garbage collection started with an empty %d body; reading the active one", response.status
        )
        active = await self.get_active(registry)
        if active is None:
            message = "garbage collection start answered with an empty body, and none is active"
            raise _invalid(response, message)
        return active

    async def get_active(self, registry: str | None = None) -> GarbageCollection | None:
        """Return the active garbage collection, or None when none is active.

        The API answers 404 both for "no active GC" and for an unknown registry; both give None.
        ``registry`` defaults to the client's default registry.
        """
        path = f"{self._prefix}/{await self._registry(optional_registry(registry))}/garbage-collection"
        try:
            response = await self._call("GET", path)
        except NotFoundError:
            return None
        return self._structure(response, GarbageCollection, "garbage_collection")

    def list(
        self,
        registry: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        page: int = 1,
        on_change: OnChange = "reread",
    ) -> AsyncPager[GarbageCollection]:
        """List past and present garbage collections, newest first.

        Args:
            registry: The registry name (default: the client's default registry).
            per_page: Page size, 1-200.
            page: The page to start from (1 = the newest).
            on_change: ``"reread"`` (default, bounded) or ``"raise"``, when the listing changed while it
                was read (see :mod:`docr_async.pagination`).

        Raises:
            ValidationError: On a bad registry name, ``per_page`` or ``on_change``.
            ListingChangedError: While iterating, if the listing changed (see ``on_change``).
        """
        path = self._registry_path(optional_registry(registry), "garbage-collections")
        return self._list(
            path,
            "garbage_collections",
            GarbageCollection,
            per_page=per_page,
            page=page,
            identity=_gc_uuid,
            on_change=on_change,
        )

    async def cancel(self, uuid: str, *, registry: str | None = None) -> GarbageCollection:
        """Cancel an active garbage collection (it moves to ``cancelling``, then ``cancelled``).

        ``registry`` defaults to the client's default registry.

        Raises:
            NotFoundError: If there is no such garbage collection.
        """
        uuid = _uuid(uuid)
        path = f"{self._prefix}/{await self._registry(optional_registry(registry))}/garbage-collection/{uuid}"
        response = await self._call("PUT", path, body={"cancel": True})
        return self._structure(response, GarbageCollection, "garbage_collection")

    async def get(self, uuid: str, *, registry: str | None = None) -> GarbageCollection:
        """Find a garbage collection by uuid: the active one, else in the history.

        ``registry`` defaults to the client's default registry.

        Raises:
            NotFoundError: If it is neither active nor in the history.
        """
        uuid = _uuid(uuid)
        registry = await self._registry(optional_registry(registry))
        active = await self.get_active(registry)
        if active is not None and active.uuid == uuid:
            return active
        return await self._from_history(registry, uuid)

    async def _from_history(self, registry: str, uuid: str) -> GarbageCollection:
        gc = await self._find_in_history(registry, uuid)
        if gc is None:
            raise _not_found(f"garbage collection {uuid} not found")
        return gc

    async def _find_in_history(self, registry: str, uuid: str) -> GarbageCollection | None:
        async for gc in self.list(registry):
            if gc.uuid == uuid:
                return gc
        return None

    @overload
    async def wait(
        self,
        uuid: str,
        *,
        registry: str | None = None,
        timeout: float | None = 1800.0,  # noqa: ASYNC109 -- a polling deadline, not a cancel scope
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        raise_on_failure: bool = True,
    ) -> GarbageCollection: ...

    @overload
    async def wait(  # deprecated order: wait(registry, uuid)
        self,
        registry_: str,
        uuid: str,
        /,
        *,
        timeout: float | None = 1800.0,  # noqa: ASYNC109
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        raise_on_failure: bool = True,
    ) -> GarbageCollection: ...

    async def wait(
        self,
        *args: str,
        uuid: str | None = None,
        registry: str | None = None,
        timeout: float | None = 1800.0,  # noqa: ASYNC109 -- a polling deadline, not a cancel scope
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        raise_on_failure: bool = True,
    ) -> GarbageCollection:
        """Poll until the garbage collection reaches ``succeeded``, ``failed`` or ``cancelled``.

        Called as ``wait(uuid, registry=...)`` (``registry`` defaults to the client's default
        registry), like :meth:`get` and :meth:`cancel`. The old order ``wait(registry, uuid)`` still
        works and warns (``DeprecationWarning``).

        Polls the active GC (one request per poll) with a backoff from ``poll_interval`` up to
        ``max_poll_interval``; once it is no longer active, reads its final state from the history.
        The history may lag behind the active endpoint: a collection that is in neither is polled
        for up to :data:`HISTORY_LAG_POLLS` more times before :class:`NotFoundError`.

        Returns:
            The finished garbage collection (``blobs_deleted`` and ``freed_bytes`` filled in).

        Raises:
            ValidationError: On bad arguments (before any request).
            WaitTimeoutError: If it is still active after ``timeout`` seconds (it keeps running).
            GarbageCollectionError: If it ended ``failed`` (and ``raise_on_failure``).
            NotFoundError: If it is neither active nor in the history for
                :data:`HISTORY_LAG_POLLS` + 1 polls in a row.
        """
        uuid, given = _wait_arguments(args, uuid, registry)
        _check_seconds("poll_interval", poll_interval)
        _check_seconds("max_poll_interval", max_poll_interval)
        if timeout is not None:
            _check_seconds("timeout", timeout, zero_ok=True)
        registry = await self._registry(given)
        clock = self._core.limiter.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        interval = poll_interval
        last: GarbageCollection | None = None
        missing = 0  # polls in a row that found it neither active nor in the history
        while True:
            active = await self.get_active(registry)
            # No longer active: its final state is in the history (which may lag; then poll on).
            gc = (
                active
                if active is not None and active.uuid == uuid
                else await self._find_in_history(registry, uuid)
            )
            if gc is None:
                missing += 1
                if missing > HISTORY_LAG_POLLS:
                    message = f"garbage collection {uuid} is in neither the active endpoint nor the history"
                    raise _not_found(f"{message} of {registry} after {missing} polls")
            else:
                missing = 0
                last = gc
                if gc.is_terminal:
                    if gc.status == GCStatus.FAILED and raise_on_failure:
                        raise GarbageCollectionError(
                            f"garbage collection {uuid} on {registry} failed", uuid=uuid, status=gc.status
                        )
                    return gc
            state = repr(gc.status) if gc is not None else "not in the history yet"
            now = clock.monotonic()
            if deadline is not None and now + interval > deadline:
                if now >= deadline:
                    raise WaitTimeoutError(
                        f"garbage collection {uuid} on {registry} still {state} after {timeout}s",
                        uuid=uuid,
                        garbage_collection=last,
                    )
                interval = deadline - now
            logger.debug("garbage collection %s is %s; next poll in %.1fs", uuid, state, interval)
            await clock.sleep(interval)
            interval = min(max_poll_interval, interval * 1.5)


def _not_found(message: str) -> NotFoundError:
    return NotFoundError(status=404, error_id="not_found", message=message)
