"""The registry a call uses when it names none: configured, from the environment, or discovered.

The order is ``DOCRClient(registry=...)``, then ``$DIGITALOCEAN_REGISTRY``, then discovery: the
first call that needs it lists the account's registries (``GET /v2/registries``) and, when there is
exactly one, remembers it for the life of the client (its ``with_options`` copies share it). However
many tasks ask at once, one discovery request is sent; the tasks that waited for it share its
outcome. Several registries, or none, raise :class:`~docr_async.exceptions.RegistryDiscoveryError`
(nothing is remembered, so a later call looks again).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from ._constants import REGISTRY_ENV_VAR
from .exceptions import ConfigurationError, RegistryDiscoveryError, ValidationError
from .names import REGISTRY_HOST, validate_registry_name

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = ["DefaultRegistry"]

_HOW = f"pass registry=..., DOCRClient(registry=...) or set ${REGISTRY_ENV_VAR}"
_LISTED = 10  # names shown in the message (an account has at most 10; a lying server may send more)


class DefaultRegistry:
    """Which registry a call that names none uses; one per client, shared by its copies.

    Args:
        configured: The registry given to the client, already checked (``None``: not configured).
    """

    def __init__(self, configured: str | None = None) -> None:
        self._name = configured
        self._lock: asyncio.Lock | None = None
        self._finished = 0  # discoveries that got an answer
        self._last_seen: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, registry: str | None) -> DefaultRegistry:
        """The default from the client's ``registry`` argument, else ``$DIGITALOCEAN_REGISTRY``.

        Either may also be written ``registry.digitalocean.com/<name>``, as in image references.

        Raises:
            ConfigurationError: If the name given (or the variable's value) is not a registry name.
        """
        source = "registry"
        if registry is None:
            value = os.environ.get(REGISTRY_ENV_VAR, "").strip()
            registry, source = (value or None), f"${REGISTRY_ENV_VAR}"
        if registry is None:
            return cls()
        name = registry.removeprefix(REGISTRY_HOST + "/") if isinstance(registry, str) else registry
        try:
            return cls(validate_registry_name(name))
        except ValidationError as exc:
            raise ConfigurationError(f"{source} {registry!r} is not a registry name: {exc.reason}") from None

    @property
    def known(self) -> str | None:
        """The default registry when it is configured or already discovered, else ``None``."""
        return self._name

    async def resolve(self, discover: Callable[[], Awaitable[Sequence[str]]]) -> str:
        """The default registry, discovering it with ``discover`` the first time.

        Raises:
            RegistryDiscoveryError: If the account has several registries or none.
        """
        if self._name is not None:
            return self._name
        if self._lock is None:
            self._lock = asyncio.Lock()
        finished_before = self._finished
        async with self._lock:
            if self.known is not None:  # another task discovered it while this one waited
                return self.known
            if self._finished != finished_before:
                # A discovery answered while this task waited and found no single registry: share
                # its answer instead of asking again. (A failed request answers nothing, so the
                # next waiter asks itself.)
                raise _no_single(self._last_seen)
            names = tuple(await discover())
            self._last_seen = names
            self._finished += 1
            if len(names) != 1:
                raise _no_single(names)
            self._name = names[0]
            return self._name


def _no_single(names: tuple[str, ...]) -> RegistryDiscoveryError:
    if not names:
        message = f"no registry given and the account has none: create one, or {_HOW}"
    else:
        shown = sorted(names)
        listed = ", ".join(shown[:_LISTED]) + (
            f", ... ({len(shown) - _LISTED} more)" if len(shown) > _LISTED else ""
        )
        message = f"no registry given and the account has {len(names)} registries ({listed}): {_HOW}"
    return RegistryDiscoveryError(message, registries=tuple(sorted(names)))
