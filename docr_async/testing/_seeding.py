"""Seeded, reproducible account data: registries, repositories, manifests, tags and blobs.

Every value is drawn from the account's ``random.Random`` in a fixed order, so a seed and a
:class:`SeedSpec` always give the same account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._catalog import REGIONS
from ._model import BlobRef, FakeManifest, FakeRegistry, FakeRepository, FakeSubscription, FakeTag
from ._primitives import DAY, between, random_digest

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from ._configs import SeedSpec

__all__ = ["new_base_layers", "new_blobs", "seed_account"]

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


def seed_account(
    rng: random.Random, spec: SeedSpec, now: float
) -> tuple[FakeSubscription, dict[str, FakeRegistry]]:
    """Draw the subscription and registries ``spec`` describes, with ages relative to ``now``."""
    span = spec.days * DAY
    tier = spec.tier
    if tier is None:
        tier = "professional" if spec.registries > 1 or spec.registries * spec.repos > 5 else "basic"
    names = spec.registry_names or _REGISTRY_NAMES
    oldest = now - span - DAY
    subscription = FakeSubscription(tier=tier, created_at=oldest, updated_at=oldest)
    registries: dict[str, FakeRegistry] = {}
    repos: list[tuple[FakeRegistry, FakeRepository]] = []
    for i in range(spec.registries):
        created = oldest + i * 3600.0
        reg = FakeRegistry(
            name=names[i],
            region=REGIONS[i % len(REGIONS)],
            created_at=created,
            storage_usage_bytes_updated_at=created,
        )
        registries[reg.name] = reg
        for j in range(spec.repos):
            repo = FakeRepository(name=_repo_name(j), base_layers=new_base_layers(rng))
            reg.add_repository(repo)
            repos.append((reg, repo))
    if not repos:
        return subscription, registries
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
        _seed_repository(
            rng, reg=reg, repo=repo, n_tags=n_tags, n_untagged=n_untagged, spec=spec, now=now, span=span
        )
    return subscription, registries


def new_base_layers(rng: random.Random) -> tuple[BlobRef, ...]:
    """The base-layer blobs of a new repository (shared by its manifests)."""
    count = between(rng, 1, 3)
    return tuple(BlobRef(random_digest(rng), between(rng, 2_000_000, 30_000_000)) for _ in range(count))


def new_blobs(rng: random.Random, base: Sequence[BlobRef], layers: int | None = None) -> tuple[BlobRef, ...]:
    """The blobs of a new manifest: ``base``, then ``layers`` own layers (1 or 2 if None), then a config."""
    count = between(rng, 1, 3) if layers is None else layers
    own = [BlobRef(random_digest(rng), between(rng, 1_000, 20_000_000)) for _ in range(count)]
    config = BlobRef(random_digest(rng), between(rng, 1_000, 12_000))
    return (*base, *own, config)


def _seed_repository(
    rng: random.Random,
    *,
    reg: FakeRegistry,
    repo: FakeRepository,
    n_tags: int,
    n_untagged: int,
    spec: SeedSpec,
    now: float,
    span: float,
) -> None:
    n_distinct = max(1, n_tags - int(n_tags * spec.shared_tag_ratio)) if n_tags else 0
    n_shared = n_tags - n_distinct
    total = n_distinct + n_untagged
    if total == 0:
        # A repository exists only while it holds a manifest.
        n_untagged = total = 1
    times = sorted(now - rng.random() * span for _ in range(total))
    untagged_positions = set(rng.sample(range(total), n_untagged))
    tagged: list[FakeManifest] = []
    version = 0
    for position, when in enumerate(times):
        blobs = new_blobs(rng, repo.base_layers)
        manifest = FakeManifest(
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
            repo.tags[name] = FakeTag(name, manifest, when)
            manifest.tags.add(name)
            tagged.append(manifest)
    for _ in range(n_shared):
        target = tagged[rng.randrange(len(tagged))]
        name = f"{rng.getrandbits(28):07x}"
        while name in repo.tags:
            name = f"{rng.getrandbits(28):07x}"
        when = target.updated_at + rng.random() * (now - target.updated_at)
        repo.tags[name] = FakeTag(name, target, when)
        target.tags.add(name)
    reg.storage_usage_bytes_updated_at = max(reg.storage_usage_bytes_updated_at, *times)


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
