"""Resource handles: hold "this registry" or "this repository" and work from it.

A handle is a checked name bound to a client. Making one sends nothing (bad names raise
:class:`~docr_async.exceptions.ValidationError` at once); each method makes one call of the client's
namespaces (``client.tags``, ``client.repositories``, ...), so handles add no behaviour of their own::

    reg = client.registry()  # the default registry (see DOCRClient's ``registry``)
    repo = reg.repository("team/api")
    async for tag in repo.tags():
        ...
    await repo.tag("v1").delete()

A listed model becomes a handle through the handle one level up: ``client.registry(registry)``,
``reg.repository(repository)``, ``repo.tag(tag)`` and ``repo.manifest(manifest)`` accept the model as
well as its name. Handles are frozen and compare by their names; models stay plain data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._constants import DEFAULT_PER_PAGE
from ._namespaces import ResourceNamespaces
from .exceptions import ValidationError
from .models import Manifest, Registry, Repository, RepositoryV2, Tag
from .names import validate_digest, validate_registry_name, validate_repository_name, validate_tag
from .resources import DEFAULT_GC_TYPE
from .resources._scoped import optional_registry, split_repository

if TYPE_CHECKING:
    from .models import DockerCredentials, GarbageCollection, GCType
    from .pagination import AsyncPager, OnChange
    from .watch import Watcher

__all__ = [
    "ManifestHandle",
    "Namespaces",
    "RegistryGarbageCollections",
    "RegistryHandle",
    "RepositoryHandle",
    "TagHandle",
]


class Namespaces(ResourceNamespaces, Protocol):
    """What a handle calls: the resource namespaces of a :class:`~docr_async.DOCRClient`, and ``watch``."""

    def watch(self, registry: str | None = None, **options: Any) -> Watcher:
        """``client.watch``."""


def _check_registry(_inst: object, _attr: attrs.Attribute[str | None], value: str | None) -> None:
    optional_registry(value)


def _check_repository(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    validate_repository_name(value)


def _check_tag(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    validate_tag(value)


def _check_digest(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    validate_digest(value)


def _same_registry(handle: str | None, model: str, what: object) -> str | None:
    """The registry of a handle made from a model: the model's, which must agree with ``handle``."""
    if not model:
        return handle
    if handle is not None and model != handle:
        raise ValidationError("registry", model, f"{what!r} belongs to registry {model!r}, not {handle!r}")
    return validate_registry_name(model)


@attrs.frozen
class RegistryHandle:
    """One registry of the account: ``client.registry("example")``, or ``client.registry()``.

    Attributes:
        name: The registry name; ``None`` means the client's default registry, resolved (and, if
            need be, discovered) by the first call that needs it.
    """

    _api: Namespaces = attrs.field(repr=False, eq=False, alias="api")
    name: str | None = attrs.field(default=None, validator=_check_registry)

    async def get(self) -> Registry:
        """Get the registry (``client.registries.get``).

        Raises:
            NotFoundError: If it does not exist.
            RegistryDiscoveryError: If this is the default and there is no single registry.
        """
        return await self._api.registries.get(self.name)

    async def delete(self) -> None:
        """Delete the registry and everything in it (``client.registries.delete``).

        Only a handle that names its registry can delete it: ``client.registry().delete()`` raises
        ``ValidationError`` rather than delete whichever registry turns out to be the default.

        Raises:
            ValidationError: If the handle stands for the default registry (nothing is sent).
            NotFoundError: If it does not exist.
        """
        if self.name is None:
            raise ValidationError(
                "registry", None, "name the registry to delete: client.registry('<name>').delete()"
            )
        await self._api.registries.delete(self.name)

    async def docker_credentials(
        self, *, expiry_seconds: int | None = None, read_write: bool = False
    ) -> DockerCredentials:
        """Docker credentials for this registry (``client.registries.docker_credentials``).

        Raises:
            ValidationError: On a bad ``expiry_seconds`` or ``read_write`` (nothing is sent).
        """
        return await self._api.registries.docker_credentials(
            self.name, expiry_seconds=expiry_seconds, read_write=read_write
        )

    def repositories(
        self,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        page_token: str | None = None,
        on_change: OnChange = "reread",
    ) -> AsyncPager[RepositoryV2]:
        """The registry's repositories (``client.repositories.list``); no request until used.

        Raises:
            ValidationError: On a bad ``per_page``, ``page_token`` or ``on_change`` (nothing is sent).
        """
        return self._api.repositories.list(
            self.name, per_page=per_page, page_token=page_token, on_change=on_change
        )

    def repository(self, repository: str | RepositoryV2 | Repository) -> RepositoryHandle:
        """A handle on one repository: a name (``team/api``), a pasted reference, or a listed model.

        Raises:
            ValidationError: If the name is invalid, or a model or reference names another registry.
        """
        if isinstance(repository, RepositoryV2 | Repository):
            registry = _same_registry(self.name, repository.registry_name, repository)
            return RepositoryHandle(self._api, registry, repository.name)
        registry, name = split_repository(repository, self.name)
        return RepositoryHandle(self._api, registry, name)

    @property
    def garbage_collections(self) -> RegistryGarbageCollections:
        """Garbage collection of this registry."""
        return RegistryGarbageCollections(self._api, self.name)

    def watch(self, **options: Any) -> Watcher:
        """This registry's events (``client.watch``, with the same keyword options); nothing sent yet.

        Raises:
            ValidationError: On a bad option (before any request).
        """
        return self._api.watch(self.name, **options)


@attrs.frozen
class RegistryGarbageCollections:
    """``client.garbage_collections`` bound to one registry: ``reg.garbage_collections``.

    Attributes:
        registry: The registry (``None``: the client's default).
    """

    _api: Namespaces = attrs.field(repr=False, eq=False, alias="api")
    registry: str | None = attrs.field(default=None, validator=_check_registry)

    async def start(self, *, type: GCType | str | None = DEFAULT_GC_TYPE) -> GarbageCollection:
        """Start a garbage collection (``client.garbage_collections.start``).

        Raises:
            ConflictError: If one is already active.
        """
        return await self._api.garbage_collections.start(self.registry, type=type)

    async def active(self) -> GarbageCollection | None:
        """The active garbage collection, or ``None`` (``client.garbage_collections.get_active``)."""
        return await self._api.garbage_collections.get_active(self.registry)

    def list(
        self, *, per_page: int = DEFAULT_PER_PAGE, page: int = 1, on_change: OnChange = "reread"
    ) -> AsyncPager[GarbageCollection]:
        """Past and present garbage collections, newest first; no request until used.

        Raises:
            ValidationError: On a bad ``per_page``, ``page`` or ``on_change`` (nothing is sent).
        """
        return self._api.garbage_collections.list(
            self.registry, per_page=per_page, page=page, on_change=on_change
        )

    async def get(self, uuid: str) -> GarbageCollection:
        """A garbage collection by uuid (``client.garbage_collections.get``).

        Raises:
            NotFoundError: If it is neither active nor in the history.
        """
        return await self._api.garbage_collections.get(uuid, registry=self.registry)

    async def cancel(self, uuid: str) -> GarbageCollection:
        """Cancel an active garbage collection (``client.garbage_collections.cancel``).

        Raises:
            NotFoundError: If there is no such garbage collection.
        """
        return await self._api.garbage_collections.cancel(uuid, registry=self.registry)

    async def wait(
        self,
        uuid: str,
        *,
        timeout: float | None = 1800.0,  # noqa: ASYNC109 -- a polling deadline, not a cancel scope
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        raise_on_failure: bool = True,
    ) -> GarbageCollection:
        """Poll until it ends (``client.garbage_collections.wait``).

        Raises:
            WaitTimeoutError: If it is still active after ``timeout`` seconds.
            GarbageCollectionError: If it failed (and ``raise_on_failure``).
        """
        return await self._api.garbage_collections.wait(
            uuid,
            registry=self.registry,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
        )


@attrs.frozen
class RepositoryHandle:
    """One repository: ``reg.repository("team/api")``.

    Attributes:
        registry: Its registry (``None``: the client's default).
        name: The repository name (``team/api``).
    """

    _api: Namespaces = attrs.field(repr=False, eq=False, alias="api")
    registry: str | None = attrs.field(validator=_check_registry)
    name: str = attrs.field(validator=_check_repository)

    def tags(
        self, *, per_page: int = DEFAULT_PER_PAGE, page: int = 1, on_change: OnChange = "reread"
    ) -> AsyncPager[Tag]:
        """The repository's tags, newest first (``client.tags.list``); no request until used.

        Raises:
            ValidationError: On a bad ``per_page``, ``page`` or ``on_change`` (nothing is sent).
        """
        return self._api.tags.list(
            self.name, registry=self.registry, per_page=per_page, page=page, on_change=on_change
        )

    def manifests(
        self, *, per_page: int = DEFAULT_PER_PAGE, page: int = 1, on_change: OnChange = "reread"
    ) -> AsyncPager[Manifest]:
        """The repository's manifests, newest first (``client.manifests.list``); no request until used.

        Raises:
            ValidationError: On a bad ``per_page``, ``page`` or ``on_change`` (nothing is sent).
        """
        return self._api.manifests.list(
            self.name, registry=self.registry, per_page=per_page, page=page, on_change=on_change
        )

    def tag(self, tag: str | Tag) -> TagHandle:
        """A handle on one tag, by name (``v1``) or from a listed :class:`~docr_async.Tag`.

        Raises:
            ValidationError: If the tag is invalid or the model belongs to another repository.
        """
        if isinstance(tag, Tag):
            registry = self._check_model(tag, tag.registry_name, tag.repository)
            return TagHandle(self._api, registry, self.name, tag.tag)
        return TagHandle(self._api, self.registry, self.name, tag)

    def manifest(self, manifest: str | Manifest) -> ManifestHandle:
        """A handle on one manifest, by digest or from a listed :class:`~docr_async.Manifest`.

        Raises:
            ValidationError: If the digest is invalid or the model belongs to another repository.
        """
        if isinstance(manifest, Manifest):
            registry = self._check_model(manifest, manifest.registry_name, manifest.repository)
            return ManifestHandle(self._api, registry, self.name, manifest.digest)
        return ManifestHandle(self._api, self.registry, self.name, manifest)

    async def delete(self) -> None:
        """Delete the repository with all its tags and manifests (``client.repositories.delete``).

        Raises:
            NotFoundError: If it does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        await self._api.repositories.delete(self.name, registry=self.registry)

    def _check_model(self, model: object, registry: str, repository: str) -> str | None:
        if repository and repository != self.name:
            raise ValidationError(
                "repository", repository, f"{model!r} belongs to repository {repository!r}, not {self.name!r}"
            )
        return _same_registry(self.registry, registry, model)


@attrs.frozen
class TagHandle:
    """One tag of a repository: ``repo.tag("v1")``.

    Attributes:
        registry: Its registry (``None``: the client's default).
        repository: Its repository.
        name: The tag.
    """

    _api: Namespaces = attrs.field(repr=False, eq=False, alias="api")
    registry: str | None = attrs.field(validator=_check_registry)
    repository: str = attrs.field(validator=_check_repository)
    name: str = attrs.field(validator=_check_tag)

    async def delete(self) -> None:
        """Delete the tag; its manifest stays, untagged (``client.tags.delete``).

        Raises:
            NotFoundError: If the tag does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        await self._api.tags.delete(self.name, repository=self.repository, registry=self.registry)


@attrs.frozen
class ManifestHandle:
    """One manifest of a repository: ``repo.manifest("sha256:...")``.

    Attributes:
        registry: Its registry (``None``: the client's default).
        repository: Its repository.
        digest: The manifest digest.
    """

    _api: Namespaces = attrs.field(repr=False, eq=False, alias="api")
    registry: str | None = attrs.field(validator=_check_registry)
    repository: str = attrs.field(validator=_check_repository)
    digest: str = attrs.field(validator=_check_digest)

    async def delete(self) -> None:
        """Delete the manifest and EVERY tag pointing at it (``client.manifests.delete``).

        Raises:
            NotFoundError: If the manifest does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        await self._api.manifests.delete(self.digest, repository=self.repository, registry=self.registry)
