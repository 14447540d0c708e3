"""Errors of the cleanup workflow (raised before anything is deleted)."""

from __future__ import annotations

from ..exceptions import ValidationError

__all__ = ["PlanRefusedError"]


class PlanRefusedError(ValidationError):
    """The executor refuses a plan as a whole, before sending any request.

    Raised for a plan made for another registry, and for a plan that would leave a repository
    without any tag unless ``allow_empty_repositories=True`` (``--allow-empty-repositories``).

    Attributes:
        repositories: The repositories the plan would leave without any tag (empty otherwise).
    """

    def __init__(self, reason: str, *, plan_registry: str, repositories: tuple[str, ...] = ()) -> None:
        super().__init__("plan", plan_registry, reason)
        self.repositories = repositories
        self.args = (f"plan for registry {plan_registry!r} refused: {reason}",)

    def __str__(self) -> str:
        return str(self.args[0])
