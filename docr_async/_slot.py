"""The small awaitables :class:`~docr_async.RateLimiter` hands out: a send's slot, and "already done"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = ["DONE", "NO_SLOT", "Done", "NoSlot", "Slot"]


class Done:
    """An already finished awaitable: what :meth:`RateLimiter.clear_pause` returns."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # a generator that finishes at once


DONE = Done()


class NoSlot:
    """The slot of a disabled limiter: enters and exits at once, holds nothing (shared, stateless)."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


NO_SLOT = NoSlot()


class _Holder(Protocol):
    """What :class:`Slot` needs of :class:`~docr_async.RateLimiter`."""

    async def acquire(
        self, *, max_wait: float | None = None, deadline: float | None = None
    ) -> float | None: ...

    def _hold(self, stamp: float) -> None: ...

    def _release(self, stamp: float) -> None: ...


class Slot:
    """The async context manager :meth:`RateLimiter.slot` returns (a class: cheap per request)."""

    __slots__ = ("_deadline", "_limiter", "_max_wait", "_stamp")

    def __init__(self, limiter: _Holder, max_wait: float | None, deadline: float | None) -> None:
        self._limiter = limiter
        self._max_wait = max_wait
        self._deadline = deadline
        self._stamp: float | None = None

    async def __aenter__(self) -> None:
        self._stamp = await self._limiter.acquire(max_wait=self._max_wait, deadline=self._deadline)
        if self._stamp is not None:
            self._limiter._hold(self._stamp)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stamp is not None:
            self._limiter._release(self._stamp)
