"""What DigitalOcean offers: regions, subscription tiers, garbage-collection types and statuses, and
the naming rules of registries, tags and digests."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from ..models import GCType
from ._errors import UnprocessableError

if TYPE_CHECKING:
    from ._primitives import JSONDict

__all__ = [
    "DEFAULT_GC_TYPE",
    "DIGEST_RE",
    "GC_STATUSES",
    "GC_TYPES",
    "MULTI_REGIONS",
    "REGIONS",
    "RESERVED_REGISTRY_NAMES",
    "TAG_RE",
    "TERMINAL_GC_STATUSES",
    "TIERS",
    "Tier",
    "check_registry_name",
]

REGIONS: tuple[str, ...] = ("nyc3", "sfo3", "ams3", "sgp1", "fra1")
"""Regions listed by the options endpoint (the spec example) and accepted by the legacy create."""
MULTI_REGIONS: tuple[str, ...] = ("nyc3", "sfo3", "sfo2", "ams3", "sgp1", "fra1", "blr1", "syd1")
"""Regions accepted by ``POST /v2/registries`` (the ``multiregistry_create`` enum)."""

GC_TYPES: tuple[str, ...] = (
    "untagged manifests only",
    "unreferenced blobs only",
    "untagged manifests and unreferenced blobs",
)
"""The garbage-collection types of the ``registry_run_gc`` schema."""
DEFAULT_GC_TYPE = GCType.UNREFERENCED_BLOBS_ONLY
"""The type the API uses when a start request carries no body (godo and doctl PR #922). The same
object as the SDK's ``GCType.UNREFERENCED_BLOBS_ONLY``: one meaning across the package."""

GC_STATUSES: tuple[str, ...] = (
    "requested",
    "waiting for write JWTs to expire",
    "scanning manifests",
    "deleting unreferenced blobs",
    "cancelling",
    "failed",
    "succeeded",
    "cancelled",
)
"""The ``status`` enum of the ``garbage_collection`` schema."""
TERMINAL_GC_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
"""Statuses after which a garbage collection is no longer active."""

RESERVED_REGISTRY_NAMES = frozenset({"options", "subscription", "validate-name"})
"""Names that are fixed routes under ``/v2/registries/`` and therefore never usable."""

_NAME_RE = re.compile(r"^[a-z0-9-]{1,63}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def check_registry_name(name: object) -> str:
    """Validate a registry name as DigitalOcean documents it; raise :class:`UnprocessableError`."""
    if not isinstance(name, str) or not name:
        raise UnprocessableError("name is required")
    if not _NAME_RE.match(name):
        raise UnprocessableError(
            "name must be lowercase and composed only of numbers, letters and '-', up to 63 characters"
        )
    if not name[0].isalpha() or not name[-1].isalnum():
        raise UnprocessableError("name must begin with a letter and end with a letter or number")
    return name


@attrs.frozen
class Tier:
    """A subscription tier, as in the ``subscription_tier_base`` schema, plus its registry limit."""

    name: str
    slug: str
    included_repositories: int
    included_storage_bytes: int
    allow_storage_overage: bool
    included_bandwidth_bytes: int
    monthly_price_in_cents: int
    storage_overage_price_in_cents: int
    max_registries: int

    def to_json(self) -> JSONDict:
        """Serialise as ``subscription_tier_base``."""
        return {
            "name": self.name,
            "slug": self.slug,
            "included_repositories": self.included_repositories,
            "included_storage_bytes": self.included_storage_bytes,
            "allow_storage_overage": self.allow_storage_overage,
            "included_bandwidth_bytes": self.included_bandwidth_bytes,
            "monthly_price_in_cents": self.monthly_price_in_cents,
            "storage_overage_price_in_cents": self.storage_overage_price_in_cents,
        }


TIERS: dict[str, Tier] = {
    "starter": Tier("Starter", "starter", 1, 524288000, False, 524288000, 0, 0, 1),
    "basic": Tier("Basic", "basic", 5, 5368709120, True, 5368709120, 500, 2, 1),
    "professional": Tier("Professional", "professional", 0, 107374182400, True, 107374182400, 2000, 2, 10),
}
"""The three tiers, with the values of the spec's options example and DigitalOcean's pricing page."""
