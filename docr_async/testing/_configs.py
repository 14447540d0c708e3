"""The fake's configuration objects: the whole fake (:class:`FakeConfig`), rate limits, faults,
garbage-collection progress and seed data, with the attrs validators they share (each defined once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import attrs
from aiohttp import web

from ._catalog import TIERS
from ._primitives import Clock

if TYPE_CHECKING:
    from ._primitives import JSONDict

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "FakeConfig",
    "FakeOptions",
    "FaultConfig",
    "GCConfig",
    "RateLimitConfig",
    "ResponseHook",
    "SeedSpec",
]

DEFAULT_PUBLIC_URL = "https://api.digitalocean.com"
"""Origin used in pagination links, as the real API writes them."""

ResponseHook = Callable[[web.Request, web.Response, bytes], None]
"""Called as ``hook(request, response, body)`` for every response the fake sends."""


def _check_fraction(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _check_positive(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _check_non_negative(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


def _to_methods(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    return frozenset(m.upper() for m in value)


def _to_statuses(value: Sequence[int]) -> tuple[int, ...]:
    statuses = tuple(int(v) for v in value)
    if not statuses or any(s not in (500, 502, 503) for s in statuses):
        raise ValueError("error_statuses must be a non-empty subset of 500, 502, 503")
    return statuses


@attrs.frozen
class RateLimitConfig:
    """Per-token sliding-window limits: an hourly budget and a per-minute burst limit."""

    hourly_limit: int = attrs.field(default=5000, validator=_check_positive)
    """Requests per :attr:`hourly_window`; reported in ``ratelimit-limit``."""
    hourly_window: float = attrs.field(default=3600.0, validator=_check_positive)
    burst_limit: int = attrs.field(default=250, validator=_check_positive)
    """Requests per :attr:`burst_window`; a burst 429 carries ``Retry-After``."""
    burst_window: float = attrs.field(default=60.0, validator=_check_positive)
    enabled: bool = True
    """When false, requests are still counted and reported but never refused."""
    retry_after_unit: float = attrs.field(default=1.0, validator=_check_positive)
    """A burst 429's ``Retry-After`` is rounded up to a whole number of these seconds (at least one).

    DigitalOcean sends whole seconds on a 60 s window. With a compressed window, set it to
    ``burst_window / 60`` to keep the real proportion of rounding to window (the header then carries
    decimals, such as ``0.034``, which RFC 9110 does not allow but the SDK's parser accepts)."""


@attrs.frozen
class FaultConfig:
    """Seeded, reproducible fault injection. Rates are probabilities per eligible request."""

    error_rate: float = attrs.field(default=0.0, validator=_check_fraction)
    """Probability of a 5xx drawn from :attr:`error_statuses` (a 502 has an HTML body)."""
    error_statuses: tuple[int, ...] = attrs.field(default=(500, 502, 503), converter=_to_statuses)
    spurious_429_rate: float = attrs.field(default=0.0, validator=_check_fraction)
    """Probability of a 429 with ``Retry-After`` although the budget is fine."""
    retry_after: int = attrs.field(default=1, validator=_check_positive)
    """``Retry-After`` seconds of a spurious 429."""
    drop_rate: float = attrs.field(default=0.0, validator=_check_fraction)
    """Probability of closing the connection without a response (nothing is applied)."""
    lost_response_rate: float = attrs.field(default=0.0, validator=_check_fraction)
    """Probability of applying the request, then closing the connection without a response."""
    latency: float = attrs.field(default=0.0, validator=_check_non_negative)
    """Seconds added before each eligible request is handled."""
    jitter: float = attrs.field(default=0.0, validator=_check_non_negative)
    """Up to this many extra seconds, uniformly drawn."""
    methods: frozenset[str] | None = attrs.field(default=None, converter=_to_methods)
    """Only requests with these HTTP methods are eligible (default: all)."""
    skip_first: int = attrs.field(default=0, validator=_check_non_negative)
    """The first N eligible requests after the faults are set are never faulted."""
    seed: int | None = None
    """Seed of the fault RNG (default: the fake's seed). Re-seeded whenever faults are set."""

    def __attrs_post_init__(self) -> None:
        total = self.error_rate + self.spurious_429_rate + self.drop_rate + self.lost_response_rate
        if total > 1.0 + 1e-9:
            raise ValueError("the fault rates must add up to at most 1")

    def to_json(self) -> JSONDict:
        """Plain JSON form (as ``GET /_fake/faults`` returns it)."""
        out = attrs.asdict(self)
        out["error_statuses"] = list(self.error_statuses)
        out["methods"] = sorted(self.methods) if self.methods is not None else None
        return out


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


@attrs.frozen(kw_only=True)
class FakeConfig:
    """Everything a :class:`~docr_async.testing.FakeDOCR` is built from; one object, passed through.

    ``FakeDOCR(token, **options)`` and ``FakeDOCR(config=FakeConfig(...))`` are the same; keywords
    given next to ``config`` replace its fields.
    """

    token: str | None = None
    """The accepted bearer token (default: ``dop_v1_`` + 64 hex digits derived from :attr:`seed`)."""
    seed: int = 0
    """Seeds the data, the token, request ids and faults."""
    seed_spec: SeedSpec | None = None
    """What the account holds (default :class:`SeedSpec()`)."""
    rate_limits: RateLimitConfig | None = None
    faults: FaultConfig | None = None
    gc: GCConfig | None = None
    clock: Clock | None = None
    """The time source in Unix seconds (default :func:`time.time`)."""
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    public_url: str = DEFAULT_PUBLIC_URL
    """Origin written into page links."""
    response_hooks: ResponseHook | Sequence[ResponseHook] | None = None
    use_default_hooks: bool = True
    """Also call the hooks of ``DEFAULT_RESPONSE_HOOKS``."""
    request_log_limit: int | None = 100_000
    """Most recent requests kept in the log (``None``: all)."""
    shutdown_timeout: float = 1.0
    """Seconds :meth:`FakeDOCR.close` waits for open connections."""

    @classmethod
    def resolve(cls, token: str | None, config: FakeConfig | None, options: FakeOptions) -> FakeConfig:
        """The config a constructor was given: ``config`` (or the defaults) with ``token`` and
        ``options`` applied on top."""
        base = config if config is not None else cls()
        changes: dict[str, Any] = dict(options)
        if token is not None:
            changes["token"] = token
        return attrs.evolve(base, **changes) if changes else base


class FakeOptions(TypedDict, total=False):
    """The keyword arguments of ``FakeDOCR(...)`` and ``FakeApp(...)``: the fields of :class:`FakeConfig`
    other than ``token`` (a test keeps the two in step)."""

    seed: int
    seed_spec: SeedSpec | None
    rate_limits: RateLimitConfig | None
    faults: FaultConfig | None
    gc: GCConfig | None
    clock: Clock | None
    host: str
    port: int
    public_url: str
    response_hooks: ResponseHook | Sequence[ResponseHook] | None
    use_default_hooks: bool
    request_log_limit: int | None
    shutdown_timeout: float
