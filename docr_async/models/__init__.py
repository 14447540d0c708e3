"""Typed, frozen models of every response shape in the DOCR API."""

from .._converter import to_dict
from .garbage_collection import TERMINAL_STATUSES, GarbageCollection, GCStatus, GCType
from .registry import (
    DockerCredentials,
    Registry,
    RegistryList,
    RegistryOptions,
    Subscription,
    SubscriptionTier,
    TierSlug,
)
from .repository import Blob, Manifest, Repository, RepositoryV2, Tag

__all__ = [
    "TERMINAL_STATUSES",
    "Blob",
    "DockerCredentials",
    "GCStatus",
    "GCType",
    "GarbageCollection",
    "Manifest",
    "Registry",
    "RegistryList",
    "RegistryOptions",
    "Repository",
    "RepositoryV2",
    "Subscription",
    "SubscriptionTier",
    "Tag",
    "TierSlug",
    "to_dict",
]
