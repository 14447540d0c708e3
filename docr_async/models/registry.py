"""Registries, subscriptions, options and docker credentials."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

__all__ = [
    "DockerCredentials",
    "Registry",
    "RegistryList",
    "RegistryOptions",
    "Subscription",
    "SubscriptionTier",
    "TierSlug",
]


class TierSlug(StrEnum):
    """Subscription tiers accepted when creating a registry or changing the subscription."""

    STARTER = "starter"
    BASIC = "basic"
    PROFESSIONAL = "professional"


@attrs.frozen(kw_only=True)
class SubscriptionTier:
    """A subscription tier (``subscription_tier_base``, plus eligibility when listed in options)."""

    name: str = ""
    """Display name, e.g. ``"Basic"``."""
    slug: str = ""
    """Machine name, e.g. ``"basic"``."""
    included_repositories: int | None = None
    """Repositories included; ``0`` means unlimited."""
    included_storage_bytes: int | None = None
    """Storage included in the price."""
    allow_storage_overage: bool | None = None
    """Whether storage beyond the included amount is allowed (and billed)."""
    included_bandwidth_bytes: int | None = None
    """Outbound transfer included."""
    monthly_price_in_cents: int | None = None
    """Monthly price in US cents."""
    storage_overage_price_in_cents: int | None = None
    """Price per extra GiB in US cents."""
    eligible: bool | None = None
    """(Options only) whether the account may switch to this tier."""
    eligibility_reasons: tuple[str, ...] = ()
    """(Options only) why not, e.g. ``"OverRepositoryLimit"`` (an open set of strings)."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class Subscription:
    """The account's (team's) registry subscription."""

    tier: SubscriptionTier | None = None
    """The current tier."""
    created_at: datetime | None = None
    """When the subscription was created."""
    updated_at: datetime | None = None
    """When it last changed."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class Registry:
    """A container registry (``registry`` / ``multiregistry``)."""

    name: str = ""
    """Registry name (``^[a-z0-9-]{1,63}$``)."""
    created_at: datetime | None = None
    """When the registry was created."""
    region: str | None = None
    """Region slug, e.g. ``"fra1"``."""
    storage_usage_bytes: int | None = None
    """Storage used, computed asynchronously by DigitalOcean."""
    storage_usage_bytes_updated_at: datetime | None = None
    """When ``storage_usage_bytes`` was last computed."""
    subscription: Subscription | None = None
    """The subscription; only present in listings and the legacy API."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class RegistryList:
    """The response of ``GET /v2/registries``: every registry of the account."""

    registries: tuple[Registry, ...] = ()
    """The registries."""
    total_storage_usage_bytes: int | None = None
    """Storage used by all registries together (undocumented; decoded by godo)."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class RegistryOptions:
    """Available regions and subscription tiers."""

    available_regions: tuple[str, ...] = ()
    """Region slugs a registry can be created in."""
    subscription_tiers: tuple[SubscriptionTier, ...] = ()
    """Tiers, with eligibility for this account."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class DockerCredentials:
    """A docker ``config.json`` document granting access to DOCR.

    The ``auths`` mapping is secret: ``repr()`` redacts it. Use :meth:`to_dict` to write it to
    ``~/.docker/config.json`` or a ``kubernetes.io/dockerconfigjson`` secret.
    """

    auths: dict[str, dict[str, str]] = attrs.field(factory=dict, repr=False, hash=False)
    """``{host: {"auth": base64("user:password")}}`` (compared, but left out of the hash: a dict)."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Other top-level keys of the document."""

    def __repr__(self) -> str:
        return f"DockerCredentials(hosts={sorted(self.auths)!r}, auths=<redacted>)"

    def to_dict(self) -> dict[str, Any]:
        """The document as a JSON-ready dict (``{"auths": {...}}``)."""
        return {**self.extra, "auths": {host: dict(entry) for host, entry in self.auths.items()}}

    def to_json(self) -> str:
        """The document as JSON text, as docker expects in ``config.json``."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def username(self, host: str = "registry.digitalocean.com") -> str | None:
        """The user name encoded for ``host`` (not secret), if present and decodable."""
        auth = self.auths.get(host, {}).get("auth")
        if not auth:
            return None
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        user, colon, _ = decoded.partition(":")
        return user if colon and user else None
