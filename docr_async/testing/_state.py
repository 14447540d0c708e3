"""The in-memory model of a DigitalOcean account's container registries, and its pure logic.

Nothing here knows about HTTP. Every operation that depends on time takes ``now`` (Unix seconds)
explicitly, so the model is deterministic and garbage collections are evaluated lazily: whoever reads
the state calls :meth:`FakeState.tick` first.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = [
    "DEFAULT_GC_TYPE",
    "GC_STATUSES",
    "GC_TYPES",
    "REGIONS",
    "TERMINAL_GC_STATUSES",
    "TIERS",
    "BlobRef",
    "FakeDOCRError",
    "FakeState",
    "GCConfig",
    "GarbageCollection",
    "Manifest",
    "ManualClock",
    "ReadOnlyRegistryError",
    "Registry",
    "Repository",
    "SeedSpec",
    "Subscription",
    "Tag",
    "Tier",
]

JSONDict = dict[str, Any]

DAY = 86400.0

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
DEFAULT_GC_TYPE = "unreferenced blobs only"
"""The type used when a start request carries no body (godo and doctl PR #922)."""

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
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


# --------------------------------------------------------------------------------------------------
# Errors


class FakeDOCRError(Exception):
    """Base of the errors raised by the fake's model; each maps to one DigitalOcean error body."""

    status: int = 500
    error_id: str = "server_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(FakeDOCRError):
    """404 ``not_found``."""

    status = 404
    error_id = "not_found"


class BadRequestError(FakeDOCRError):
    """400 ``bad_request``."""

    status = 400
    error_id = "bad_request"


class ConflictError(FakeDOCRError):
    """409 ``conflict``."""

    status = 409
    error_id = "conflict"


class ReadOnlyRegistryError(ConflictError):
    """The registry is read-only because a garbage collection is active (409 ``conflict`` over HTTP)."""


class PreconditionFailedError(FakeDOCRError):
    """412 ``precondition_failed``."""

    status = 412
    error_id = "precondition_failed"


class UnprocessableError(FakeDOCRError):
    """422 ``unprocessable_entity``: a well-formed request with an invalid value."""

    status = 422
    error_id = "unprocessable_entity"


PRECONDITION_MULTIPLE_REGISTRIES = (
    "This API is not supported if you have created multiple registries. Please use \n"
    "‘/v2/registries/{registry_name}’ instead. Refer to \n"
    "https://docs.digitalocean.com/reference/api/digitalocean/#tag/Container-Registry for more info."
)
"""DigitalOcean's verbatim 412 message from ``GET``/``DELETE /v2/registry`` (spec example)."""


# --------------------------------------------------------------------------------------------------
# Small helpers


@functools.lru_cache(maxsize=1 << 16)
def isoformat(ts: float) -> str:
    """Format Unix seconds as RFC 3339 UTC with second precision, like ``2020-10-30T21:03:24Z``.

    Cached: listings format the same push times over and over.
    """
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_digest(rng: random.Random) -> str:
    """Return a random ``sha256:`` digest (64 lowercase hex digits)."""
    return f"sha256:{rng.getrandbits(256):064x}"


def _between(rng: random.Random, low: int, high: int) -> int:
    """A fast ``rng.randint(low, high - 1)`` (seeding draws hundreds of thousands of sizes)."""
    return low + int(rng.random() * (high - low))


def random_uuid(rng: random.Random) -> str:
    """Return a random, reproducible version-4 UUID string."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def token_for_seed(seed: int, index: int = 0) -> str:
    """Return a deterministic personal-access-token-shaped string: ``dop_v1_`` + 64 hex digits."""
    return "dop_v1_" + hashlib.sha256(f"docr-fake-token:{seed}:{index}".encode()).hexdigest()


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


@attrs.define
class ManualClock:
    """A settable clock for tests: pass it as ``FakeDOCR(clock=...)`` and call :meth:`advance`."""

    now: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z

    def __call__(self) -> float:
        """Return the current fake time in Unix seconds."""
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        """Jump to an absolute time."""
        self.now = now


# --------------------------------------------------------------------------------------------------
# Subscription tiers


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


# --------------------------------------------------------------------------------------------------
# Configuration


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


# --------------------------------------------------------------------------------------------------
# Model


@attrs.frozen
class BlobRef:
    """A blob a manifest references: its digest and compressed size."""

    digest: str
    compressed_size_bytes: int

    def to_json(self) -> JSONDict:
        """Serialise as ``repository_blob``."""
        return {"digest": self.digest, "compressed_size_bytes": self.compressed_size_bytes}


@attrs.define(eq=False)
class Manifest:
    """An image manifest in a repository. ``tags`` is empty for an untagged manifest."""

    digest: str
    blobs: tuple[BlobRef, ...]
    size_bytes: int
    updated_at: float
    tags: set[str] = attrs.field(factory=set)

    @functools.cached_property
    def compressed_size_bytes(self) -> int:
        """Sum of the compressed sizes of the manifest's blobs (a manifest's blobs never change)."""
        return sum(b.compressed_size_bytes for b in self.blobs)

    def to_json(self, registry_name: str, repository: str) -> JSONDict:
        """Serialise as ``repository_manifest``."""
        return {
            "registry_name": registry_name,
            "repository": repository,
            "digest": self.digest,
            "compressed_size_bytes": self.compressed_size_bytes,
            "size_bytes": self.size_bytes,
            "updated_at": isoformat(self.updated_at),
            "tags": sorted(self.tags),
            "blobs": [b.to_json() for b in self.blobs],
        }


@attrs.define(eq=False)
class Tag:
    """A tag pointing at a manifest."""

    name: str
    manifest: Manifest
    updated_at: float

    def to_json(self, registry_name: str, repository: str) -> JSONDict:
        """Serialise as ``repository_tag``."""
        return {
            "registry_name": registry_name,
            "repository": repository,
            "tag": self.name,
            "manifest_digest": self.manifest.digest,
            "compressed_size_bytes": self.manifest.compressed_size_bytes,
            "size_bytes": self.manifest.size_bytes,
            "updated_at": isoformat(self.updated_at),
        }


@attrs.define(eq=False)
class Repository:
    """A repository: manifests by digest and tags by name. Sorted listings are cached."""

    name: str
    base_layers: tuple[BlobRef, ...] = ()
    manifests: dict[str, Manifest] = attrs.field(factory=dict)
    tags: dict[str, Tag] = attrs.field(factory=dict)
    _sorted_tags: list[Tag] | None = attrs.field(default=None, repr=False)
    _sorted_manifests: list[Manifest] | None = attrs.field(default=None, repr=False)

    def invalidate(self) -> None:
        """Drop the cached listings; called by every mutation."""
        self._sorted_tags = None
        self._sorted_manifests = None

    def sorted_tags(self) -> list[Tag]:
        """Tags newest first (``updated_at``), ties by name."""
        if self._sorted_tags is None:
            self._sorted_tags = sorted(self.tags.values(), key=lambda t: (-t.updated_at, t.name))
        return self._sorted_tags

    def sorted_manifests(self) -> list[Manifest]:
        """Manifests newest first (``updated_at``), ties by digest."""
        if self._sorted_manifests is None:
            self._sorted_manifests = sorted(self.manifests.values(), key=lambda m: (-m.updated_at, m.digest))
        return self._sorted_manifests

    @property
    def untagged_count(self) -> int:
        """Number of manifests without any tag."""
        return sum(1 for m in self.manifests.values() if not m.tags)

    def to_json_v1(self, registry_name: str) -> JSONDict:
        """Serialise as ``repository`` (V1 listing): ``latest_tag`` is omitted when there is no tag."""
        out: JSONDict = {"registry_name": registry_name, "name": self.name, "tag_count": len(self.tags)}
        tags = self.sorted_tags()
        if tags:
            out["latest_tag"] = tags[0].to_json(registry_name, self.name)
        return out

    def to_json_v2(self, registry_name: str) -> JSONDict:
        """Serialise as ``repository_v2``."""
        out: JSONDict = {
            "registry_name": registry_name,
            "name": self.name,
            "tag_count": len(self.tags),
            "manifest_count": len(self.manifests),
        }
        manifests = self.sorted_manifests()
        if manifests:
            out["latest_manifest"] = manifests[0].to_json(registry_name, self.name)
        return out


@attrs.define(eq=False)
class GarbageCollection:
    """A garbage collection. Its status is a pure function of time, see :meth:`progress`."""

    uuid: str
    registry_name: str
    type: str
    created_at: float
    step_seconds: float
    plan: tuple[str, ...]
    include_type: bool = False
    cancelled_at: float | None = None
    blobs_deleted: int = 0
    freed_bytes: int = 0
    finished: bool = False

    def progress(self, now: float) -> tuple[str, float]:
        """Return ``(status, time of the last status change)`` at ``now``."""
        if self.cancelled_at is not None:
            done_at = self.cancelled_at + max(self.step_seconds, 0.0)
            if now >= done_at:
                return "cancelled", done_at
            return "cancelling", self.cancelled_at
        last = len(self.plan) - 1
        if self.step_seconds <= 0:
            index = last
        else:
            index = min(last, max(0, math.floor((now - self.created_at) / self.step_seconds)))
        return self.plan[index], self.created_at + index * max(self.step_seconds, 0.0)

    def status(self, now: float) -> str:
        """The status at ``now``."""
        return self.progress(now)[0]

    def is_active(self, now: float) -> bool:
        """True until the GC reaches ``succeeded``, ``failed`` or ``cancelled``."""
        return self.status(now) not in TERMINAL_GC_STATUSES

    def to_json(self, now: float) -> JSONDict:
        """Serialise as ``garbage_collection`` (plus ``type`` if configured)."""
        status, updated = self.progress(now)
        out: JSONDict = {
            "uuid": self.uuid,
            "registry_name": self.registry_name,
            "status": status,
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(updated),
            "blobs_deleted": self.blobs_deleted,
            "freed_bytes": self.freed_bytes,
        }
        if self.include_type:
            out["type"] = self.type
        return out


@attrs.define(eq=False)
class Registry:
    """A registry: repositories, a deduplicated blob store, and its GC history (oldest first)."""

    name: str
    region: str
    created_at: float
    repositories: dict[str, Repository] = attrs.field(factory=dict)
    blobs: dict[str, int] = attrs.field(factory=dict)
    storage_usage_bytes: int = 0
    storage_usage_bytes_updated_at: float = 0.0
    garbage_collections: list[GarbageCollection] = attrs.field(factory=list)
    active_gc: GarbageCollection | None = None
    _sorted_repo_names: list[str] | None = attrs.field(default=None, repr=False)

    def sorted_repository_names(self) -> list[str]:
        """Repository names in lexical order (cached)."""
        if self._sorted_repo_names is None:
            self._sorted_repo_names = sorted(self.repositories)
        return self._sorted_repo_names

    def add_blob(self, blob: BlobRef, now: float) -> None:
        """Store a blob once per registry; storage counts each distinct blob once."""
        if blob.digest not in self.blobs:
            self.blobs[blob.digest] = blob.compressed_size_bytes
            self.storage_usage_bytes += blob.compressed_size_bytes
            self.storage_usage_bytes_updated_at = now

    def add_repository(self, repo: Repository) -> None:
        """Register a new repository."""
        self.repositories[repo.name] = repo
        self._sorted_repo_names = None

    def remove_repository(self, name: str) -> None:
        """Forget a repository; its blobs stay in the store until a GC removes them."""
        del self.repositories[name]
        self._sorted_repo_names = None

    def repository(self, name: str) -> Repository:
        """Return a repository or raise 404."""
        repo = self.repositories.get(name)
        if repo is None:
            raise NotFoundError("repository not found")
        return repo

    def referenced_blobs(self) -> set[str]:
        """Digests referenced by at least one manifest."""
        return {
            b.digest for repo in self.repositories.values() for m in repo.manifests.values() for b in m.blobs
        }

    def ensure_writable(self) -> None:
        """Raise :class:`ReadOnlyRegistryError` while a GC is active (call ``tick`` first)."""
        if self.active_gc is not None:
            raise ReadOnlyRegistryError(
                f"registry {self.name} is in read-only mode while garbage collection "
                f"{self.active_gc.uuid} is active; try again after it finishes"
            )

    def to_json(self, subscription: Subscription | None = None) -> JSONDict:
        """Serialise as ``registry`` (with a subscription) or ``multiregistry`` (without)."""
        out: JSONDict = {
            "name": self.name,
            "created_at": isoformat(self.created_at),
            "region": self.region,
            "storage_usage_bytes": self.storage_usage_bytes,
            "storage_usage_bytes_updated_at": isoformat(self.storage_usage_bytes_updated_at),
        }
        if subscription is not None:
            out["subscription"] = subscription.to_json()
        return out


@attrs.define(eq=False)
class Subscription:
    """The account's subscription (one per account)."""

    tier: str
    created_at: float
    updated_at: float

    def to_json(self) -> JSONDict:
        """Serialise as ``subscription``."""
        return {
            "tier": TIERS[self.tier].to_json(),
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(self.updated_at),
        }


# --------------------------------------------------------------------------------------------------
# The account


_REPO_TEMPLATES = (
    "api",
    "team/api",
    "web",
    "tools/build/base",
    "worker",
    "team/web",
    "db-migrator",
    "tools/lint",
    "frontend",
    "team/ml/trainer",
    "scheduler",
    "infra/nginx",
)
_REGISTRY_NAMES = (
    "example",
    "staging",
    "prod",
    "ci-cache",
    "sandbox",
    "mirror",
    "edge",
    "archive",
    "qa",
    "dev",
)


def _repo_name(index: int) -> str:
    if index < len(_REPO_TEMPLATES):
        return _REPO_TEMPLATES[index]
    if index % 3 == 0:
        return f"team-{index % 5}/svc-{index}"
    return f"svc-{index}"


@attrs.define(eq=False)
class FakeState:
    """The whole account: registries by name, the subscription, and the RNG for new identifiers."""

    rng: random.Random
    subscription: Subscription
    gc_config: GCConfig = attrs.field(factory=GCConfig)
    registries: dict[str, Registry] = attrs.field(factory=dict)
    credentials_issued: int = 0

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def seeded(cls, seed: int, spec: SeedSpec, now: float, gc_config: GCConfig | None = None) -> FakeState:
        """Build a deterministic account from ``seed`` and ``spec``, with ages relative to ``now``."""
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        span = spec.days * DAY
        tier = spec.tier
        if tier is None:
            tier = "professional" if spec.registries > 1 or spec.registries * spec.repos > 5 else "basic"
        names = spec.registry_names or _REGISTRY_NAMES
        oldest = now - span - DAY
        state = cls(
            rng=rng,
            subscription=Subscription(tier=tier, created_at=oldest, updated_at=oldest),
            gc_config=gc_config or GCConfig(),
        )
        repos: list[tuple[Registry, Repository]] = []
        for i in range(spec.registries):
            created = oldest + i * 3600.0
            reg = Registry(
                name=names[i],
                region=REGIONS[i % len(REGIONS)],
                created_at=created,
                storage_usage_bytes_updated_at=created,
            )
            state.registries[reg.name] = reg
            for j in range(spec.repos):
                repo = Repository(name=_repo_name(j), base_layers=state._new_base_layers())
                reg.add_repository(repo)
                repos.append((reg, repo))
        if not repos:
            return state
        tag_counts = (
            [spec.tags_per_repo] * len(repos)
            if spec.tags_per_repo is not None
            else _spread(rng, spec.tags, len(repos), at_least_one=True)
        )
        untagged_counts = (
            [spec.untagged_per_repo] * len(repos)
            if spec.untagged_per_repo is not None
            else _spread(rng, spec.untagged, len(repos), at_least_one=False)
        )
        for (reg, repo), n_tags, n_untagged in zip(repos, tag_counts, untagged_counts, strict=True):
            state._seed_repository(
                reg=reg, repo=repo, n_tags=n_tags, n_untagged=n_untagged, spec=spec, now=now, span=span
            )
        return state

    def _new_base_layers(self) -> tuple[BlobRef, ...]:
        rng = self.rng
        count = _between(rng, 1, 3)
        return tuple(BlobRef(random_digest(rng), _between(rng, 2_000_000, 30_000_000)) for _ in range(count))

    def _new_blobs(self, base: Sequence[BlobRef], layers: int | None = None) -> tuple[BlobRef, ...]:
        rng = self.rng
        count = _between(rng, 1, 3) if layers is None else layers
        own = [BlobRef(random_digest(rng), _between(rng, 1_000, 20_000_000)) for _ in range(count)]
        config = BlobRef(random_digest(rng), _between(rng, 1_000, 12_000))
        return (*base, *own, config)

    def _seed_repository(
        self,
        *,
        reg: Registry,
        repo: Repository,
        n_tags: int,
        n_untagged: int,
        spec: SeedSpec,
        now: float,
        span: float,
    ) -> None:
        rng = self.rng
        n_distinct = max(1, n_tags - int(n_tags * spec.shared_tag_ratio)) if n_tags else 0
        n_shared = n_tags - n_distinct
        total = n_distinct + n_untagged
        if total == 0:
            # A repository exists only while it holds a manifest.
            n_untagged = total = 1
        times = sorted(now - rng.random() * span for _ in range(total))
        untagged_positions = set(rng.sample(range(total), n_untagged))
        tagged: list[Manifest] = []
        version = 0
        for position, when in enumerate(times):
            blobs = self._new_blobs(repo.base_layers)
            manifest = Manifest(
                digest=random_digest(rng),
                blobs=blobs,
                size_bytes=int(sum(b.compressed_size_bytes for b in blobs) * (1.8 + rng.random() * 0.8)),
                updated_at=when,
            )
            for blob in blobs:
                reg.add_blob(blob, when)
            repo.manifests[manifest.digest] = manifest
            if position not in untagged_positions:
                name = f"v{version // 100}.{version // 10 % 10}.{version % 10}"
                version += 1
                repo.tags[name] = Tag(name, manifest, when)
                manifest.tags.add(name)
                tagged.append(manifest)
        for _ in range(n_shared):
            target = tagged[rng.randrange(len(tagged))]
            name = f"{rng.getrandbits(28):07x}"
            while name in repo.tags:
                name = f"{rng.getrandbits(28):07x}"
            when = target.updated_at + rng.random() * (now - target.updated_at)
            repo.tags[name] = Tag(name, target, when)
            target.tags.add(name)
        reg.storage_usage_bytes_updated_at = max(reg.storage_usage_bytes_updated_at, *times)

    # ---- time ---------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance every active garbage collection to ``now``, applying a success's deletions once."""
        for reg in self.registries.values():
            gc = reg.active_gc
            if gc is None:
                continue
            status, changed_at = gc.progress(now)
            if status not in TERMINAL_GC_STATUSES:
                continue
            if status == "succeeded" and not gc.finished:
                self._apply_gc(reg, gc, changed_at)
            gc.finished = True
            reg.active_gc = None

    def _apply_gc(self, reg: Registry, gc: GarbageCollection, when: float) -> None:
        if gc.type in ("untagged manifests only", "untagged manifests and unreferenced blobs"):
            for repo in list(reg.repositories.values()):
                for digest in [d for d, m in repo.manifests.items() if not m.tags]:
                    del repo.manifests[digest]
                repo.invalidate()
                if not repo.manifests:
                    reg.remove_repository(repo.name)
        if gc.type in ("unreferenced blobs only", "untagged manifests and unreferenced blobs"):
            referenced = reg.referenced_blobs()
            for digest in [d for d in reg.blobs if d not in referenced]:
                size = reg.blobs.pop(digest)
                gc.blobs_deleted += 1
                gc.freed_bytes += size
                reg.storage_usage_bytes -= size
            reg.storage_usage_bytes_updated_at = when

    # ---- registries and subscription ----------------------------------------------------------

    def registry(self, name: str) -> Registry:
        """Return a registry by name or raise 404."""
        reg = self.registries.get(name)
        if reg is None:
            raise NotFoundError("registry does not exist")
        return reg

    def the_registry(self) -> Registry:
        """The single registry the legacy ``/v2/registry`` API addresses (404 if none, 412 if several)."""
        if not self.registries:
            raise NotFoundError("registry does not exist")
        if len(self.registries) > 1:
            raise PreconditionFailedError(PRECONDITION_MULTIPLE_REGISTRIES)
        return next(iter(self.registries.values()))

    def sorted_registries(self) -> list[Registry]:
        """Registries by name."""
        return [self.registries[n] for n in sorted(self.registries)]

    def validate_name(self, name: object) -> None:
        """204 if the name is valid and free, 422 if malformed, 409 if taken or reserved."""
        checked = check_registry_name(name)
        if checked in self.registries or checked in RESERVED_REGISTRY_NAMES:
            raise ConflictError("The registry name is not available.")

    def create_registry(
        self, name: object, region: object, tier_slug: object, now: float, *, legacy: bool
    ) -> Registry:
        """Create a registry (``POST /v2/registry`` when ``legacy``, else ``POST /v2/registries``)."""
        checked = check_registry_name(name)
        if legacy and tier_slug is None:
            raise UnprocessableError("subscription_tier_slug is required")
        if tier_slug is not None and (not isinstance(tier_slug, str) or tier_slug not in TIERS):
            raise UnprocessableError(f"invalid subscription_tier_slug {tier_slug!r}")
        allowed = REGIONS if legacy else MULTI_REGIONS
        if region is None:
            region = allowed[0]
        elif not isinstance(region, str) or region not in allowed:
            raise UnprocessableError(f"invalid region {region!r}")
        if checked in self.registries or checked in RESERVED_REGISTRY_NAMES:
            raise ConflictError("The registry name is not available.")
        if legacy and self.registries:
            raise ConflictError("a registry already exists; use /v2/registries to manage several registries")
        if not self.registries:
            if isinstance(tier_slug, str) and tier_slug != self.subscription.tier:
                self.subscription.tier = tier_slug
                self.subscription.updated_at = now
        elif len(self.registries) >= TIERS[self.subscription.tier].max_registries:
            raise PreconditionFailedError("registry is not eligible for tier because: [OverRegistryLimit]")
        reg = Registry(name=checked, region=region, created_at=now, storage_usage_bytes_updated_at=now)
        self.registries[checked] = reg
        return reg

    def delete_registry(self, name: str, now: float) -> None:
        """Delete a registry and everything in it (409 while its GC is active)."""
        self.tick(now)
        reg = self.registry(name)
        reg.ensure_writable()
        del self.registries[name]

    def eligibility_reasons(self, slug: str) -> list[str]:
        """Why the account could not use tier ``slug`` (``OverRegistryLimit`` included)."""
        tier = TIERS[slug]
        reasons = []
        if len(self.registries) > tier.max_registries:
            reasons.append("OverRegistryLimit")
        repos = sum(len(r.repositories) for r in self.registries.values())
        if tier.included_repositories and repos > tier.included_repositories:
            reasons.append("OverRepositoryLimit")
        storage = sum(r.storage_usage_bytes for r in self.registries.values())
        if not tier.allow_storage_overage and storage > tier.included_storage_bytes:
            reasons.append("OverStorageLimit")
        return reasons

    def update_subscription(self, tier_slug: object, now: float) -> Subscription:
        """Change tier; 412 ``registry is not eligible for tier because: [...]`` if not eligible."""
        if tier_slug is None:
            return self.subscription
        if not isinstance(tier_slug, str) or tier_slug not in TIERS:
            raise UnprocessableError(f"invalid tier_slug {tier_slug!r}")
        reasons = self.eligibility_reasons(tier_slug)
        if reasons:
            raise PreconditionFailedError(f"registry is not eligible for tier because: [{' '.join(reasons)}]")
        self.subscription.tier = tier_slug
        self.subscription.updated_at = now
        return self.subscription

    def options_json(self) -> JSONDict:
        """The options body: the spec example's regions and tiers, with live eligibility."""
        tiers = []
        for slug, tier in TIERS.items():
            item = tier.to_json()
            reasons = self.eligibility_reasons(slug)
            item["eligible"] = not reasons
            # OverRegistryLimit is not in the spec's eligibility_reasons enum (docr-api.md §e).
            documented = [r for r in reasons if r != "OverRegistryLimit"]
            if documented:
                item["eligibility_reasons"] = documented
            tiers.append(item)
        return {"options": {"available_regions": list(REGIONS), "subscription_tiers": tiers}}

    def docker_credentials(self, read_write: bool, expiry_seconds: int) -> JSONDict:
        """A Docker ``config.json`` with fresh, fake credentials for ``registry.digitalocean.com``."""
        self.credentials_issued += 1
        secret = f"{self.rng.getrandbits(128):032x}"
        raw = f"{secret}:{secret}\n".encode()
        return {"auths": {"registry.digitalocean.com": {"auth": base64.b64encode(raw).decode()}}}

    # ---- repositories, tags and manifests ------------------------------------------------------

    def delete_repository(self, registry: str, repository: str, now: float) -> None:
        """Delete a whole repository (409 during GC)."""
        self.tick(now)
        reg = self.registry(registry)
        reg.repository(repository)
        reg.ensure_writable()
        reg.remove_repository(repository)

    def delete_tag(self, registry: str, repository: str, tag: str, now: float) -> None:
        """Delete a tag; its manifest stays (untagged if it was the last tag)."""
        self.tick(now)
        reg = self.registry(registry)
        repo = reg.repository(repository)
        found = repo.tags.get(tag)
        if found is None:
            raise NotFoundError("tag not found")
        reg.ensure_writable()
        del repo.tags[tag]
        found.manifest.tags.discard(tag)
        repo.invalidate()

    def delete_manifest(self, registry: str, repository: str, digest: str, now: float) -> None:
        """Delete a manifest and its tags; an emptied repository disappears."""
        self.tick(now)
        reg = self.registry(registry)
        repo = reg.repository(repository)
        manifest = repo.manifests.get(digest)
        if manifest is None:
            raise NotFoundError("manifest not found")
        reg.ensure_writable()
        for name in manifest.tags:
            del repo.tags[name]
        manifest.tags.clear()
        del repo.manifests[digest]
        repo.invalidate()
        if not repo.manifests:
            reg.remove_repository(repository)

    def push(
        self,
        registry: str,
        repository: str,
        tags: Iterable[str],
        now: float,
        *,
        blobs: Sequence[BlobRef] | None = None,
        layers: int | None = None,
        digest: str | None = None,
        size_bytes: int | None = None,
        updated_at: float | None = None,
    ) -> Manifest:
        """Push a manifest (new, or existing by ``digest``) and point ``tags`` at it."""
        self.tick(now)
        reg = self.registry(registry)
        reg.ensure_writable()
        tag_names = list(tags)
        for name in tag_names:
            if not _TAG_RE.match(name):
                raise UnprocessableError(f"invalid tag {name!r}")
        if digest is not None and not _DIGEST_RE.match(digest):
            raise UnprocessableError(f"invalid digest {digest!r}")
        if not repository or repository.startswith("/") or repository.endswith("/") or "//" in repository:
            raise UnprocessableError(f"invalid repository name {repository!r}")
        when = now if updated_at is None else updated_at
        repo = reg.repositories.get(repository)
        if repo is None:
            repo = Repository(name=repository, base_layers=self._new_base_layers())
            reg.add_repository(repo)
        manifest = repo.manifests.get(digest) if digest is not None else None
        if manifest is None:
            refs = tuple(blobs) if blobs is not None else self._new_blobs(repo.base_layers, layers)
            manifest = Manifest(
                digest=digest or random_digest(self.rng),
                blobs=refs,
                size_bytes=size_bytes
                if size_bytes is not None
                else int(sum(b.compressed_size_bytes for b in refs) * 2.2),
                updated_at=when,
            )
            repo.manifests[manifest.digest] = manifest
            for blob in refs:
                reg.add_blob(blob, when)
        for name in tag_names:
            old = repo.tags.get(name)
            if old is not None:
                old.manifest.tags.discard(name)
            repo.tags[name] = Tag(name, manifest, when)
            manifest.tags.add(name)
        repo.invalidate()
        return manifest

    # ---- garbage collection --------------------------------------------------------------------

    def start_gc(self, registry: str, gc_type: object, now: float) -> GarbageCollection:
        """Start a GC (409 if one is active). The registry is read-only until it ends."""
        self.tick(now)
        reg = self.registry(registry)
        if gc_type is None:
            gc_type = DEFAULT_GC_TYPE
        if not isinstance(gc_type, str) or gc_type not in GC_TYPES:
            raise UnprocessableError(f"invalid garbage collection type {gc_type!r}")
        if reg.active_gc is not None:
            raise ConflictError(
                f"garbage collection {reg.active_gc.uuid} is already active on registry {reg.name}"
            )
        config = self.gc_config
        gc = GarbageCollection(
            uuid=random_uuid(self.rng),
            registry_name=reg.name,
            type=gc_type,
            created_at=now,
            step_seconds=config.step_seconds,
            plan=config.plan(),
            include_type=config.include_type,
        )
        reg.garbage_collections.append(gc)
        reg.active_gc = gc
        self.tick(now)  # a zero step finishes at once
        return gc

    def active_gc(self, registry: str, now: float) -> GarbageCollection:
        """The active GC, or 404."""
        self.tick(now)
        gc = self.registry(registry).active_gc
        if gc is None:
            raise NotFoundError("no active garbage collection")
        return gc

    def gc_history(self, registry: str, now: float) -> list[GarbageCollection]:
        """Every GC of the registry, newest first."""
        self.tick(now)
        return self.registry(registry).garbage_collections[::-1]

    def update_gc(self, registry: str, gc_uuid: str, cancel: bool, now: float) -> GarbageCollection:
        """Cancel a GC: ``cancelling`` now, ``cancelled`` one step later, nothing removed."""
        self.tick(now)
        reg = self.registry(registry)
        gc = next((g for g in reg.garbage_collections if g.uuid == gc_uuid), None)
        if gc is None:
            raise NotFoundError("garbage collection not found")
        if not cancel:
            return gc
        if not gc.is_active(now):
            raise ConflictError(f"garbage collection {gc.uuid} has already finished")
        if gc.cancelled_at is None:
            gc.cancelled_at = now
        self.tick(now)
        return gc

    # ---- inspection ----------------------------------------------------------------------------

    def summary(self, now: float) -> JSONDict:
        """Counts per registry and in total, for ``GET /_fake/state``."""
        self.tick(now)
        regs: list[JSONDict] = []
        for reg in self.sorted_registries():
            regs.append(
                {
                    "name": reg.name,
                    "region": reg.region,
                    "repositories": len(reg.repositories),
                    "tags": sum(len(r.tags) for r in reg.repositories.values()),
                    "manifests": sum(len(r.manifests) for r in reg.repositories.values()),
                    "untagged_manifests": sum(r.untagged_count for r in reg.repositories.values()),
                    "blobs": len(reg.blobs),
                    "storage_usage_bytes": reg.storage_usage_bytes,
                    "active_garbage_collection": reg.active_gc.to_json(now) if reg.active_gc else None,
                    "garbage_collections": len(reg.garbage_collections),
                }
            )
        totals = {
            key: sum(r[key] for r in regs)
            for key in ("repositories", "tags", "manifests", "untagged_manifests", "storage_usage_bytes")
        }
        return {"subscription_tier": self.subscription.tier, "registries": regs, "totals": totals}


def _spread(rng: random.Random, total: int, buckets: int, *, at_least_one: bool) -> list[int]:
    """Split ``total`` over ``buckets`` unevenly (a few large repositories, many small ones)."""
    counts = [0] * buckets
    if buckets == 0 or total == 0:
        return counts
    if at_least_one and total >= buckets:
        counts = [1] * buckets
        total -= buckets
    weights = [1.0 / (1 + i) for i in range(buckets)]
    for index in rng.choices(range(buckets), weights=weights, k=total):
        counts[index] += 1
    return counts


Clock = Callable[[], float]
"""A callable returning Unix seconds, like :func:`time.time`."""
