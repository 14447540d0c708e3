"""Errors of the cleanup workflow (raised before anything is deleted)."""

from __future__ import annotations

from ..exceptions import ValidationError

__all__ = ["PlanRefusedError", "PlanVersionError"]


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


class PlanVersionError(ValidationError):
    """A plan file of a format this version of docr-async does not read (written by a newer one).

    Attributes:
        version: The file's ``version`` field, as found.
        supported: The formats this version reads.
    """

    def __init__(self, version: object, supported: tuple[int, ...]) -> None:
        readable = " and ".join(str(v) for v in supported)
        super().__init__("plan version", version, f"is not one this docr-async reads ({readable})")
        self.version = version
        self.supported = supported
        self.args = (
            f"plan file format version {version!r} is not supported: this docr-async reads versions "
            f"{readable}; make the plan again, or upgrade docr-async if a newer one wrote it",
        )

    def __str__(self) -> str:
        return str(self.args[0])
