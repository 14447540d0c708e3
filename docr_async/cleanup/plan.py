"""Cleanup plans: what will be deleted, what is kept and why, for a whole registry. Pure: no I/O.

A plan is made with one :class:`~docr_async.cleanup.policy.RetentionPolicy` (plan file format
version 1) or with a policy file's :class:`~docr_async.cleanup.rules.RetentionRules` (version 2: the
rules are stored, and every deletion records the rule behind it). Both versions load; any other
version is refused with :class:`~docr_async.cleanup.errors.PlanVersionError`. How one repository is
planned (manifest-aware deletions) is in :mod:`docr_async.cleanup.deletions`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable  # noqa: TC003
from datetime import datetime
from typing import Any

import attrs

from .._converter import parse_datetime
from ..exceptions import ValidationError
from ..models import Manifest  # noqa: TC001
from ..names import validate_registry_name
from .deletions import Deletion, DeletionKind, Kept, RepositoryPlan, plan_repository
from .errors import PlanVersionError
from .policy import RetentionPolicy
from .rules import RetentionRules

__all__ = [
    "PLAN_VERSION",
    "PLAN_VERSIONS",
    "CleanupPlan",
    "Deletion",
    "DeletionKind",
    "Kept",
    "RepositoryPlan",
    "plan_repository",
]

PLAN_VERSION = 1
"""The plan file format of a plan made with one :class:`RetentionPolicy`."""
PLAN_VERSION_RULES = 2
"""The plan file format of a plan made with a policy file (:class:`RetentionRules`)."""
PLAN_VERSIONS = (PLAN_VERSION, PLAN_VERSION_RULES)
"""Every plan file format this version reads."""


def expected_freed_bytes(manifests: Iterable[Manifest], removed: set[tuple[str, str]]) -> int:
    """Bytes of the blobs referenced only by removed manifests (``(repository, digest)`` pairs).

    Blobs are deduplicated per registry, so a blob still used by a surviving manifest frees nothing.
    Blobs shared with repositories that were not scanned are not seen: the result is an estimate.
    """
    sizes: dict[str, int] = {}
    surviving: set[str] = set()
    removed_blobs: set[str] = set()
    fallback = 0
    for manifest in manifests:
        gone = (manifest.repository, manifest.digest) in removed
        if gone and not manifest.blobs:
            fallback += manifest.compressed_size_bytes or 0
        for blob in manifest.blobs:
            sizes[blob.digest] = blob.compressed_size_bytes or 0
            (removed_blobs if gone else surviving).add(blob.digest)
    return fallback + sum(sizes[b] for b in removed_blobs - surviving)


@attrs.frozen(kw_only=True)
class CleanupPlan:
    """A complete cleanup plan for one registry; serialisable to JSON and executable later.

    Attributes:
        registry: The registry.
        created_at: When the plan was made.
        policy: The policy it was made with: one :class:`RetentionPolicy` for every selected
            repository (plan format 1), or a policy file's :class:`RetentionRules`, each
            repository planned by its own rule (plan format 2).
        deletions: The deletion requests, in execution order.
        kept: What the policy keeps, with reasons.
        repositories: The repositories scanned.
        tags_scanned: Tags seen.
        manifests_scanned: Manifests seen.
        expected_freed_bytes: Storage expected back after a GC of untagged manifests and blobs.
    """

    registry: str
    created_at: datetime
    policy: RetentionPolicy | RetentionRules
    deletions: tuple[Deletion, ...]
    kept: tuple[Kept, ...] = ()
    repositories: tuple[str, ...] = ()
    tags_scanned: int = 0
    manifests_scanned: int = 0
    expected_freed_bytes: int = 0

    @property
    def version(self) -> int:
        """The plan file format: 1 for a :class:`RetentionPolicy`, 2 for :class:`RetentionRules`."""
        return PLAN_VERSION_RULES if isinstance(self.policy, RetentionRules) else PLAN_VERSION

    @property
    def tags_removed(self) -> int:
        """Tags that disappear (one per tag deletion, plus those of deleted manifests)."""
        return sum(1 if d.kind is DeletionKind.TAG else len(d.tags) for d in self.deletions)

    @property
    def manifests_removed(self) -> int:
        """Manifests deleted by digest."""
        return sum(d.kind is DeletionKind.MANIFEST for d in self.deletions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the plan-file format)."""
        return {
            "version": self.version,
            "registry": self.registry,
            "created_at": self.created_at.isoformat(),
            ("rules" if self.version == PLAN_VERSION_RULES else "policy"): self.policy.describe(),
            "repositories": list(self.repositories),
            "tags_scanned": self.tags_scanned,
            "manifests_scanned": self.manifests_scanned,
            "expected_freed_bytes": self.expected_freed_bytes,
            "summary": {
                "requests": len(self.deletions),
                "tags_removed": self.tags_removed,
                "manifests_removed": self.manifests_removed,
                "kept": len(self.kept),
            },
            "deletions": [d.to_dict() for d in self.deletions],
            "kept": [k.to_dict() for k in self.kept],
        }

    def to_json(self) -> str:
        """The plan file's text."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> CleanupPlan:
        """Load a plan, re-validating every name so a hand-edited file cannot inject paths.

        Reads format 1 (one policy, ``"policy"``) and format 2 (a policy file's rules, ``"rules"``,
        and the rule behind every deletion).

        Raises:
            PlanVersionError: If the file is of a format this version does not read.
            ValidationError: If the plan is malformed (:class:`PolicyFileError` for bad rules).
        """
        if not isinstance(data, dict):
            raise ValidationError("plan", type(data).__name__, "must be a JSON object")
        version = data.get("version")
        if version not in PLAN_VERSIONS or isinstance(version, bool):
            raise PlanVersionError(version, PLAN_VERSIONS)
        try:
            policy: RetentionPolicy | RetentionRules
            if version == PLAN_VERSION_RULES:
                policy = RetentionRules.from_description(data["rules"])
            else:
                policy = RetentionPolicy.from_description(data["policy"])
            return cls(
                registry=validate_registry_name(data["registry"]),
                created_at=parse_datetime(data["created_at"]),
                policy=policy,
                deletions=tuple(Deletion.from_dict(d) for d in data["deletions"]),
                kept=tuple(
                    Kept(repository=k["repository"], digest=k["digest"], tag=k.get("tag"), reason=k["reason"])
                    for k in data.get("kept", ())
                ),
                repositories=tuple(data.get("repositories", ())),
                tags_scanned=int(data.get("tags_scanned", 0)),
                manifests_scanned=int(data.get("manifests_scanned", 0)),
                expected_freed_bytes=int(data.get("expected_freed_bytes", 0)),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError("plan", "file", f"is malformed: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str) -> CleanupPlan:
        """Load a plan file's text.

        Raises:
            ValidationError: If it is not a valid plan.
        """
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValidationError("plan", "file", f"is not JSON: {exc}") from None
        return cls.from_dict(data)
