"""One rule for errors of a task group, shared by the planner and the executor.

Both run their concurrent work in an anyio task group (the package's one structured-concurrency
idiom; the pager, an async generator, cancels and awaits its own prefetch tasks in ``finally``
instead, since one must not yield inside a task group). When the group fails:

- exactly one task failed: that error is raised as itself (so ``except NotFoundError`` works);
- several failed: every error is raised together, as the (flattened) exception group, so none is
  lost; catch them with ``except*``.
"""

from __future__ import annotations

__all__ = ["collapse"]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to raise for a failed task group: its only error, or all of them in one group."""
    leaves = _leaves(group)
    if len(leaves) == 1:
        return leaves[0]
    return BaseExceptionGroup(f"{len(leaves)} concurrent tasks failed", leaves)
