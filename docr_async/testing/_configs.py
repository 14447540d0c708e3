"""The fake's configuration objects: seed data, garbage-collection progress (and, below, rate limits
and faults), with the attrs validators they share."""

from __future__ import annotations

from typing import Any

import attrs

from ._catalog import TIERS

__all__ = ["GCConfig", "SeedSpec"]


@attrs.define
class GCConfig:
    """How garbage collections progress. Captured by each GC when it starts."""

    step_seconds: float = 0.25
    """Time between two status changes."""
    fail: bool = False
    """End in ``failed`` (removing nothing) instead of ``succeeded``."""
    unknown_status: str = "waiting for delete requests"
    """An undocumented status the live API has returned (doctl#1464)."""
    unknown_status_steps: int = 0
    """How many steps to spend in :attr:`unknown_status`, after ``waiting for write JWTs to expire``."""
    include_type: bool = False
    """Add the undocumented ``type`` field to GC responses, as godo decodes it."""

    def plan(self) -> tuple[str, ...]:
        """Return the statuses a new GC walks through, one per step, ending in a terminal one."""
        steps = ["requested", "waiting for write JWTs to expire"]
        steps += [self.unknown_status] * max(0, self.unknown_status_steps)
        steps += ["scanning manifests", "deleting unreferenced blobs"]
        steps.append("failed" if self.fail else "succeeded")
        return tuple(steps)


def _check_fraction(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _check_non_negative(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


@attrs.frozen
class SeedSpec:
    """What to put in a freshly seeded account. Everything derived from it is deterministic per seed."""

    registries: int = attrs.field(default=1, validator=_check_non_negative)
    """Number of registries (at most 10, the Professional limit)."""
    repos: int = attrs.field(default=5, validator=_check_non_negative)
    """Repositories per registry. Some are nested, like ``team/api`` or ``tools/build/base``."""
    tags: int = attrs.field(default=40, validator=_check_non_negative)
    """Tags in total, spread unevenly over every repository (each gets at least one if possible)."""
    tags_per_repo: int | None = attrs.field(default=None, validator=_check_non_negative)
    """If set, exactly this many tags in every repository (overrides :attr:`tags`)."""
    untagged: int = attrs.field(default=5, validator=_check_non_negative)
    """Untagged manifests in total, spread over the repositories."""
    untagged_per_repo: int | None = attrs.field(default=None, validator=_check_non_negative)
    """If set, exactly this many untagged manifests per repository (overrides :attr:`untagged`)."""
    shared_tag_ratio: float = attrs.field(default=0.25, validator=_check_fraction)
    """Fraction of tags that point at a manifest another tag already points at."""
    days: float = attrs.field(default=30.0, validator=_check_non_negative)
    """Ages of manifests and tags are spread over this many days before the seeding time."""
    tier: str | None = None
    """Subscription tier slug; by default ``professional`` if the seed exceeds Basic, else ``basic``."""
    registry_names: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple)
    )
    """Explicit registry names (default: ``example``, ``staging``, ``prod``, ...)."""

    def __attrs_post_init__(self) -> None:
        if self.registries > 10:
            raise ValueError("at most 10 registries are allowed per account")
        if self.tier is not None and self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}")
        if self.registry_names is not None and len(self.registry_names) < self.registries:
            raise ValueError("registry_names must name every registry")

    @classmethod
    def empty(cls) -> SeedSpec:
        """An account with no registry at all."""
        return cls(registries=0, repos=0, tags=0, untagged=0)
