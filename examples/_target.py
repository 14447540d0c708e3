"""What the examples talk to: the real DigitalOcean API when a token is set, else an embedded fake.

- ``DIGITALOCEAN_TOKEN`` (or ``DIGITALOCEAN_ACCESS_TOKEN``) set: ``DOCRClient()`` on the real API.
- ``--base-url URL``: a client on that URL (a proxy, or a ``python -m docr_async.testing`` fake);
  the token still comes from the environment.
- Neither: an in-process :class:`~docr_async.testing.FakeDOCR`, seeded with one registry (``example``)
  on the Basic tier at about 89% of its included storage, so every example has something to do.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from docr_async import DOCRClient, RateLimiter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    ClientFactory: TypeAlias = Callable[[], AbstractAsyncContextManager[DOCRClient]]
    """Opens the program's one client (``open_client``, or a partial of it)."""
    TargetFactory: TypeAlias = Callable[[str | None], AbstractAsyncContextManager[tuple[DOCRClient, str]]]
    """Opens ``(client, registry)`` for a registry name or ``None`` (``open_target``, or a partial)."""

__all__ = ["TOKEN_ENV_VARS", "has_token", "open_client", "open_target"]

logger = logging.getLogger("examples.target")

TOKEN_ENV_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
"""Where ``DOCRClient()`` looks for the token, in order."""


def has_token() -> bool:
    """True when the environment holds an API token (the examples then use the real API)."""
    return any(os.environ.get(name, "").strip() for name in TOKEN_ENV_VARS)


@asynccontextmanager
async def open_client(
    *, base_url: str | None = None, token: str | None = None, **options: Any
) -> AsyncIterator[DOCRClient]:
    """One :class:`DOCRClient` for the whole program, closed on exit.

    Args:
        base_url: Talk to this API root instead of ``https://api.digitalocean.com``.
        token: The API token (default: from the environment).
        options: More ``DOCRClient`` options (``retry=``, ``timeout=`` ...).
    """
    if base_url is not None or token is not None or has_token():
        if base_url is not None:
            options["base_url"] = base_url
        async with DOCRClient(token, **options) as client:
            # Said before the first request: with a real token, this is not a demo.
            logger.warning("using the API at %s with the token from the environment", client.base_url)
            yield client
        return
    from docr_async.testing import FakeDOCR, GCConfig, RateLimitConfig, SeedSpec

    spec = SeedSpec(repos=8, tags=340, untagged=45, days=120, tier="basic")
    # A zero step finishes each garbage collection at once, and the fake does not rate-limit,
    # so the client's burst pacing is switched off too: the demo runs in about a second.
    fake = FakeDOCR(
        seed=1, seed_spec=spec, gc=GCConfig(step_seconds=0), rate_limits=RateLimitConfig(enabled=False)
    )
    options.setdefault("rate_limiter", RateLimiter(burst_limit=None))
    async with fake, DOCRClient(fake.token, base_url=fake.url, **options) as client:
        yield client


@asynccontextmanager
async def open_target(
    registry: str | None = None, *, base_url: str | None = None, token: str | None = None, **options: Any
) -> AsyncIterator[tuple[DOCRClient, str]]:
    """``(client, registry)``: :func:`open_client` plus the registry to work on.

    Args:
        registry: The registry; by default the account's first one (``example`` on the fake).
        base_url: See :func:`open_client`.
        token: See :func:`open_client`.
        options: See :func:`open_client`.

    Raises:
        SystemExit: If the account has no registry.
    """
    async with open_client(base_url=base_url, token=token, **options) as client:
        if registry is None:
            listing = await client.registries.list()
            if not listing.registries:
                raise SystemExit("this account has no container registry: create one, or pass --registry")
            registry = listing.registries[0].name
        logger.warning("target: registry %s at %s", registry, client.base_url)
        yield client, registry
