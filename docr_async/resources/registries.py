"""Registries, and the account-level calls (subscription, options, name validation)."""

from __future__ import annotations

import re

from ..exceptions import ConflictError, ValidationError
from ..models import DockerCredentials, Registry, RegistryList, RegistryOptions, Subscription, TierSlug
from ..names import validate_new_registry_name, validate_registry_name
from ._base import Resource
from ._scoped import RegistryScoped, optional_registry

__all__ = ["AccountCalls", "Registries", "validate_credentials_query"]

_REGION_RE = re.compile(r"[a-z]{3}[0-9]")


def _tier(tier: TierSlug | str) -> str:
    try:
        return TierSlug(tier).value
    except ValueError:
        raise ValidationError(
            "subscription_tier", tier, f"must be one of {[t.value for t in TierSlug]}"
        ) from None


def _region(region: str) -> str:
    if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
        raise ValidationError("region", region, "must be a region slug such as 'nyc3' or 'fra1'")
    return region


def validate_credentials_query(expiry_seconds: int | None, read_write: bool) -> dict[str, str]:
    """The query of a docker-credentials call, validated.

    Raises:
        ValidationError: If ``expiry_seconds`` is negative or not an int, or ``read_write`` not a bool.
    """
    if not isinstance(read_write, bool):
        raise ValidationError("read_write", read_write, "must be a bool")
    query = {"read_write": "true" if read_write else "false"}
    if expiry_seconds is not None:
        if not isinstance(expiry_seconds, int) or isinstance(expiry_seconds, bool) or expiry_seconds < 0:
            raise ValidationError("expiry_seconds", expiry_seconds, "must be an int >= 0 (0 = never expires)")
        query["expiry_seconds"] = str(expiry_seconds)
    return query


def create_body(
    name: str, subscription_tier: TierSlug | str | None, region: str | None, *, new: bool
) -> dict[str, str]:
    """The body of a registry create call, validated."""
    body = {"name": validate_new_registry_name(name) if new else validate_registry_name(name)}
    if subscription_tier is not None:
        body["subscription_tier_slug"] = _tier(subscription_tier)
    if region is not None:
        body["region"] = _region(region)
    return body


class AccountCalls(Resource):
    """Account-level calls that exist in both API families (same shape, different prefix)."""

    async def get_subscription(self) -> Subscription:
        """Get the account's subscription (``GET .../subscription``)."""
        return self._structure(
            await self._call("GET", f"{self._prefix}/subscription"), Subscription, "subscription"
        )

    async def update_subscription(self, tier: TierSlug | str) -> Subscription:
        """Change the subscription tier (``POST .../subscription``).

        Raises:
            ValidationError: If ``tier`` is not a known tier slug.
            PreconditionFailedError: (legacy) If the tier cannot hold the account's registries.
        """
        body = {"tier_slug": _tier(tier)}
        response = await self._call("POST", f"{self._prefix}/subscription", body=body)
        return self._structure(response, Subscription, "subscription")

    async def get_options(self) -> RegistryOptions:
        """List the available regions and subscription tiers (``GET .../options``)."""
        return self._structure(await self._call("GET", f"{self._prefix}/options"), RegistryOptions, "options")

    async def validate_name(self, name: str) -> bool:
        """Return True if ``name`` is valid and free, False if it is taken (``POST .../validate-name``).

        Raises:
            ValidationError: If the name breaks DigitalOcean's naming rules (nothing is sent).
        """
        body = {"name": validate_new_registry_name(name)}
        try:
            await self._call("POST", f"{self._prefix}/validate-name", body=body)
        except ConflictError:
            return False
        return True


class Registries(AccountCalls, RegistryScoped):
    """The multi-registry API (``/v2/registries``): ``client.registries``."""

    async def list(self) -> RegistryList:
        """List every registry of the account (not paginated by the API)."""
        return self._structure(await self._call("GET", self._prefix), RegistryList)

    async def get(self, name: str | None = None) -> Registry:
        """Get a registry by name (default: the client's default registry).

        Raises:
            NotFoundError: If it does not exist.
            RegistryDiscoveryError: If no name is given and there is no single default.
        """
        path = f"{self._prefix}/{await self._registry(optional_registry(name))}"
        return self._structure(await self._call("GET", path), Registry, "registry")

    async def create(
        self, name: str, *, subscription_tier: TierSlug | str | None = None, region: str | None = None
    ) -> Registry:
        """Create a registry.

        Args:
            name: The new registry's name.
            subscription_tier: Tier slug; optional in this API.
            region: Region slug (e.g. ``"fra1"``); DigitalOcean picks one when omitted.
        """
        body = create_body(name, subscription_tier, region, new=True)
        return self._structure(await self._call("POST", self._prefix, body=body), Registry, "registry")

    async def delete(self, name: str) -> None:
        """Delete a registry and everything in it.

        The name is required (never the default registry): deleting a registry must name it.

        Raises:
            NotFoundError: If it does not exist.
        """
        await self._call("DELETE", f"{self._prefix}/{validate_registry_name(name)}")

    async def docker_credentials(
        self, name: str | None = None, *, expiry_seconds: int | None = None, read_write: bool = False
    ) -> DockerCredentials:
        """Get docker credentials for one registry.

        Args:
            name: The registry (default: the client's default registry).
            expiry_seconds: Lifetime of the credentials; ``None`` or ``0`` means they never expire
                (DigitalOcean's default). Prefer a short expiry: each call mints an API token.
            read_write: Push-capable credentials instead of read-only ones.
        """
        given = optional_registry(name)
        params = validate_credentials_query(expiry_seconds, read_write)
        path = f"{self._prefix}/{await self._registry(given)}/docker-credentials"
        response = await self._call("GET", path, params=params)
        return self._structure(response, DockerCredentials)
