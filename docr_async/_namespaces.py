"""The resource namespaces of a client, as a protocol: what handles and watchers call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .resources import GarbageCollections, Manifests, Registries, Repositories, Tags

__all__ = ["ResourceNamespaces"]


class ResourceNamespaces(Protocol):
    """The resource namespaces of a :class:`~docr_async.DOCRClient`."""

    @property
    def registries(self) -> Registries:
        """``client.registries``."""

    @property
    def repositories(self) -> Repositories:
        """``client.repositories``."""

    @property
    def tags(self) -> Tags:
        """``client.tags``."""

    @property
    def manifests(self) -> Manifests:
        """``client.manifests``."""

    @property
    def garbage_collections(self) -> GarbageCollections:
        """``client.garbage_collections``."""
