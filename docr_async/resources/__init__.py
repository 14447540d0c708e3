"""Resource namespaces: each builds paths and params, calls the transport, and structures models."""

from .garbage_collections import DEFAULT_GC_TYPE, GarbageCollections
from .legacy import Legacy
from .manifests import Manifests
from .registries import Registries
from .repositories import LegacyRepositories, Repositories
from .tags import Tags

__all__ = [
    "DEFAULT_GC_TYPE",
    "GarbageCollections",
    "Legacy",
    "LegacyRepositories",
    "Manifests",
    "Registries",
    "Repositories",
    "Tags",
]
