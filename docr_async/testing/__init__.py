"""FakeDOCR: an in-process fake of the DigitalOcean Container Registry API, for tests.

It speaks both API families (``/v2/registries...`` and the deprecated ``/v2/registry...``), with
DigitalOcean's pagination, rate limits, error bodies, garbage-collection lifecycle and 412 quirks,
plus seeded fault injection. See ``docs/testing.md``.

Besides the SDK's ``GCType`` (for :data:`DEFAULT_GC_TYPE`), it uses only the standard library,
aiohttp, attrs and yarl. How it is organised: docs/testing.md, "How the fake is organised".
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ._app import DEFAULT_RESPONSE_HOOKS, FakeApp
from ._catalog import DEFAULT_GC_TYPE, GC_STATUSES, GC_TYPES, REGIONS, TERMINAL_GC_STATUSES, TIERS, Tier
from ._configs import (
    DEFAULT_PUBLIC_URL,
    FakeConfig,
    FaultConfig,
    GCConfig,
    RateLimitConfig,
    ResponseHook,
    SeedSpec,
)
from ._errors import FakeDOCRError, ReadOnlyRegistryError
from ._model import (
    BlobRef,
    FakeGarbageCollection,
    FakeManifest,
    FakeRegistry,
    FakeRepository,
    FakeSubscription,
    FakeTag,
)
from ._primitives import ManualClock
from ._records import RequestRecord, TokenStats
from ._server import FakeDOCR, ResponseHookError
from ._state import FakeState

__all__ = [
    "DEFAULT_GC_TYPE",
    "DEFAULT_PUBLIC_URL",
    "DEFAULT_RESPONSE_HOOKS",
    "GC_STATUSES",
    "GC_TYPES",
    "REGIONS",
    "TERMINAL_GC_STATUSES",
    "TIERS",
    "BlobRef",
    "FakeApp",
    "FakeConfig",
    "FakeDOCR",
    "FakeDOCRError",
    "FakeGarbageCollection",
    "FakeManifest",
    "FakeRegistry",
    "FakeRepository",
    "FakeState",
    "FakeSubscription",
    "FakeTag",
    "FaultConfig",
    "GCConfig",
    "ManualClock",
    "RateLimitConfig",
    "ReadOnlyRegistryError",
    "RequestRecord",
    "ResponseHook",
    "ResponseHookError",
    "SeedSpec",
    "Tier",
    "TokenStats",
]

if TYPE_CHECKING:  # the deprecated names, for type checkers (at run time __getattr__ serves them)
    from ._model import FakeGarbageCollection as GarbageCollection  # noqa: F401
    from ._model import FakeManifest as Manifest  # noqa: F401
    from ._model import FakeRegistry as Registry  # noqa: F401
    from ._model import FakeRepository as Repository  # noqa: F401
    from ._model import FakeSubscription as Subscription  # noqa: F401
    from ._model import FakeTag as Tag  # noqa: F401

_DEPRECATED_ALIASES = {
    "GarbageCollection": "FakeGarbageCollection",
    "Manifest": "FakeManifest",
    "Registry": "FakeRegistry",
    "Repository": "FakeRepository",
    "Subscription": "FakeSubscription",
    "Tag": "FakeTag",
}
"""Old names of the fake's model classes, which collided with the SDK's models (``docr_async.Tag``...)."""


def __getattr__(name: str) -> object:
    """Serve the deprecated model names with a :class:`DeprecationWarning`."""
    new = _DEPRECATED_ALIASES.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"docr_async.testing.{name} is deprecated; use docr_async.testing.{new} "
        f"(docr_async.{name} is the SDK's model, not the fake's)",
        DeprecationWarning,
        stacklevel=2,
    )
    return globals()[new]
