"""The account (:class:`FakeState`) and its operations: the pure logic behind every API call.

Nothing here knows about HTTP. Every operation that depends on time takes ``now`` (Unix seconds)
explicitly, so the model is deterministic and garbage collections are evaluated lazily: whoever reads
the state calls :meth:`FakeState.tick` first.
"""

from __future__ import annotations

import base64
import random
from typing import TYPE_CHECKING

import attrs

from ._catalog import (
    DEFAULT_GC_TYPE,
    DIGEST_RE,
    GC_TYPES,
    MULTI_REGIONS,
    REGIONS,
    RESERVED_REGISTRY_NAMES,
    TAG_RE,
    TERMINAL_GC_STATUSES,
    TIERS,
    check_registry_name,
)
from ._configs import GCConfig, SeedSpec
from ._errors import (
    PRECONDITION_MULTIPLE_REGISTRIES,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    UnprocessableError,
    find_or_404,
)
from ._model import (
    BlobRef,
    FakeGarbageCollection,
    FakeManifest,
    FakeRegistry,
    FakeRepository,
    FakeSubscription,
    FakeTag,
)
from ._primitives import JSONDict, random_digest, random_uuid
from ._seeding import new_base_layers, new_blobs, seed_account

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["FakeState"]


@attrs.define(eq=False)
class FakeState:
    """The whole account: registries by name, the subscription, and the RNG for new identifiers."""

    rng: random.Random
    subscription: FakeSubscription
    gc_config: GCConfig = attrs.field(factory=GCConfig)
    registries: dict[str, FakeRegistry] = attrs.field(factory=dict)
    credentials_issued: int = 0

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def seeded(cls, seed: int, spec: SeedSpec, now: float, gc_config: GCConfig | None = None) -> FakeState:
        """Build a deterministic account from ``seed`` and ``spec``, with ages relative to ``now``."""
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        subscription, registries = seed_account(rng, spec, now)
        return cls(
            rng=rng, subscription=subscription, gc_config=gc_config or GCConfig(), registries=registries
        )

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

    def _apply_gc(self, reg: FakeRegistry, gc: FakeGarbageCollection, when: float) -> None:
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

    def registry(self, name: str) -> FakeRegistry:
        """Return a registry by name or raise 404."""
        return find_or_404(self.registries, name, "registry does not exist")

    def the_registry(self) -> FakeRegistry:
        """The single registry the legacy ``/v2/registry`` API addresses (404 if none, 412 if several)."""
        if not self.registries:
            raise NotFoundError("registry does not exist")
        if len(self.registries) > 1:
            raise PreconditionFailedError(PRECONDITION_MULTIPLE_REGISTRIES)
        return next(iter(self.registries.values()))

    def sorted_registries(self) -> list[FakeRegistry]:
        """Registries by name."""
        return [self.registries[n] for n in sorted(self.registries)]

    def validate_name(self, name: object) -> None:
        """204 if the name is valid and free, 422 if malformed, 409 if taken or reserved."""
        checked = check_registry_name(name)
        if checked in self.registries or checked in RESERVED_REGISTRY_NAMES:
            raise ConflictError("The registry name is not available.")

    def create_registry(
        self, name: object, region: object, tier_slug: object, now: float, *, legacy: bool
    ) -> FakeRegistry:
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
        reg = FakeRegistry(name=checked, region=region, created_at=now, storage_usage_bytes_updated_at=now)
        self.registries[checked] = reg
        return reg

    def delete_registry(self, name: str, now: float) -> None:
        """Delete a registry and everything in it, its garbage collections included.

        Allowed while a GC runs (unlike deleting its contents): DigitalOcean's own client, pydo,
        deletes a registry right after starting a GC in its live-API test and expects 204
        (docs/testing.md, "Choices where the API reference is silent").
        """
        self.tick(now)
        self.registry(name)
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

    def update_subscription(self, tier_slug: object, now: float) -> FakeSubscription:
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
        found = find_or_404(repo.tags, tag, "tag not found")
        reg.ensure_writable()
        del repo.tags[tag]
        found.manifest.tags.discard(tag)
        repo.invalidate()

    def delete_manifest(self, registry: str, repository: str, digest: str, now: float) -> None:
        """Delete a manifest and its tags; an emptied repository disappears."""
        self.tick(now)
        reg = self.registry(registry)
        repo = reg.repository(repository)
        manifest = find_or_404(repo.manifests, digest, "manifest not found")
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
    ) -> FakeManifest:
        """Push a manifest (new, or existing by ``digest``) and point ``tags`` at it."""
        self.tick(now)
        reg = self.registry(registry)
        reg.ensure_writable()
        tag_names = list(tags)
        for name in tag_names:
            if not TAG_RE.match(name):
                raise UnprocessableError(f"invalid tag {name!r}")
        if digest is not None and not DIGEST_RE.match(digest):
            raise UnprocessableError(f"invalid digest {digest!r}")
        if not repository or repository.startswith("/") or repository.endswith("/") or "//" in repository:
            raise UnprocessableError(f"invalid repository name {repository!r}")
        when = now if updated_at is None else updated_at
        repo = reg.repositories.get(repository)
        if repo is None:
            repo = FakeRepository(name=repository, base_layers=new_base_layers(self.rng))
            reg.add_repository(repo)
        manifest = repo.manifests.get(digest) if digest is not None else None
        if manifest is None:
            refs = tuple(blobs) if blobs is not None else new_blobs(self.rng, repo.base_layers, layers)
            manifest = FakeManifest(
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
            repo.tags[name] = FakeTag(name, manifest, when)
            manifest.tags.add(name)
        repo.invalidate()
        return manifest

    # ---- garbage collection --------------------------------------------------------------------

    def start_gc(self, registry: str, gc_type: object, now: float) -> FakeGarbageCollection:
        """Start a GC (409 if one is active). The registry is read-only until it ends."""
        self.tick(now)
        reg = self.registry(registry)
        if gc_type is None:
            gc_type = DEFAULT_GC_TYPE.value
        if not isinstance(gc_type, str) or gc_type not in GC_TYPES:
            raise UnprocessableError(f"invalid garbage collection type {gc_type!r}")
        if reg.active_gc is not None:
            raise ConflictError(
                f"garbage collection {reg.active_gc.uuid} is already active on registry {reg.name}"
            )
        config = self.gc_config
        gc = FakeGarbageCollection(
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

    def active_gc(self, registry: str, now: float) -> FakeGarbageCollection:
        """The active GC, or 404."""
        self.tick(now)
        gc = self.registry(registry).active_gc
        if gc is None:
            raise NotFoundError("no active garbage collection")
        return gc

    def gc_history(self, registry: str, now: float) -> list[FakeGarbageCollection]:
        """Every GC of the registry, newest first."""
        self.tick(now)
        return self.registry(registry).garbage_collections[::-1]

    def update_gc(self, registry: str, gc_uuid: str, cancel: bool, now: float) -> FakeGarbageCollection:
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
