"""FakeDOCR: an in-process fake of the DigitalOcean Container Registry API, for tests.

It speaks both API families (``/v2/registries...`` and the deprecated ``/v2/registry...``), with
DigitalOcean's pagination, rate limits, error bodies, garbage-collection lifecycle and 412 quirks,
plus seeded fault injection. See ``docs/testing.md``.

This package depends only on the standard library, aiohttp, attrs and yarl.
"""

from __future__ import annotations

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
from ._model import BlobRef, GarbageCollection, Manifest, Registry, Repository, Subscription, Tag
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
    "FakeState",
    "FaultConfig",
    "GCConfig",
    "GarbageCollection",
    "Manifest",
    "ManualClock",
    "RateLimitConfig",
    "ReadOnlyRegistryError",
    "Registry",
    "Repository",
    "RequestRecord",
    "ResponseHook",
    "ResponseHookError",
    "SeedSpec",
    "Subscription",
    "Tag",
    "Tier",
    "TokenStats",
]
