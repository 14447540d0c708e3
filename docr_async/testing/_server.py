"""The :class:`FakeDOCR` async context manager: a :class:`FakeApp` served on a local TCP port."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, Unpack

from aiohttp import web

from ._app import FakeApp
from ._configs import FakeConfig

if TYPE_CHECKING:
    import collections
    from types import TracebackType

    from ._configs import FakeOptions, FaultConfig, GCConfig, RateLimitConfig, ResponseHook
    from ._primitives import Clock
    from ._records import RequestRecord, TokenStats
    from ._state import FakeState

__all__ = ["FakeDOCR", "ResponseHookError"]


class FakeDOCR:
    """An in-process fake of the DigitalOcean Container Registry API, listening on 127.0.0.1.

    ::

        async with FakeDOCR(seed=1, seed_spec=SeedSpec(repos=3)) as fake:
            async with aiohttp.ClientSession() as http:
                await http.get(f"{fake.url}/v2/registries", headers={"Authorization": f"Bearer {fake.token}"})

    Takes the fields of :class:`FakeConfig` as keywords, or ``config=FakeConfig(...)`` (keywords
    given too replace its fields); ``port=0`` picks a free port. The fake itself is :attr:`app`, a
    :class:`FakeApp`; its inspection and control members are available here under the same names.
    """

    def __init__(
        self, token: str | None = None, *, config: FakeConfig | None = None, **options: Unpack[FakeOptions]
    ) -> None:
        self.config = FakeConfig.resolve(token, config, options)
        """What this fake was built from."""
        self.app = FakeApp(config=self.config)
        """The application: state, request pipeline, inspection and control."""
        self.host = self.config.host
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        app = self.app
        # The application's inspection and control methods, bound: same signatures and docstrings.
        self.push = app.push
        self.reseed = app.reseed
        self.summary = app.summary
        self.make_app = app.make_app
        self.clear_requests = app.clear_requests
        self.set_faults = app.set_faults
        self.clear_faults = app.clear_faults
        self.reset_rate_limits = app.reset_rate_limits
        self.advance_clock = app.advance_clock
        self.add_token = app.add_token
        self.revoke_token = app.revoke_token
        self.stats = app.stats

    # ---- the application's attributes -------------------------------------------------------------

    @property
    def token(self) -> str:
        """The primary accepted bearer token."""
        return self.app.token

    @property
    def seed(self) -> int:
        """The seed of the data, the token, request ids and faults."""
        return self.app.seed

    @property
    def public_url(self) -> str:
        """Origin written into page links."""
        return self.app.public_url

    @property
    def clock(self) -> Clock:
        """The time source (Unix seconds); settable."""
        return self.app.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.app.clock = clock

    @property
    def state(self) -> FakeState:
        """The in-memory model, with garbage collections advanced to the current clock."""
        return self.app.state

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (control routes are not logged)."""
        return self.app.requests

    @property
    def tokens(self) -> list[str]:
        """Every token that is currently valid."""
        return self.app.tokens

    @property
    def unauthenticated_stats(self) -> TokenStats:
        """Requests and 429s counted for requests without a valid token."""
        return self.app.unauthenticated_stats

    @property
    def faults(self) -> FaultConfig:
        """The current fault configuration; settable (re-seeds the fault RNG)."""
        return self.app.faults

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self.app.faults = config

    @property
    def rate_limits(self) -> RateLimitConfig:
        """The current rate-limit configuration; settable."""
        return self.app.rate_limits

    @rate_limits.setter
    def rate_limits(self, config: RateLimitConfig) -> None:
        self.app.rate_limits = config

    @property
    def gc_config(self) -> GCConfig:
        """How new garbage collections progress; settable."""
        return self.app.gc_config

    @gc_config.setter
    def gc_config(self, config: GCConfig) -> None:
        self.app.gc_config = config

    @property
    def response_hooks(self) -> list[ResponseHook]:
        """Hooks called as ``hook(request, response, body)`` for every response (a mutable list)."""
        return self.app.response_hooks

    @property
    def use_default_hooks(self) -> bool:
        """Whether ``DEFAULT_RESPONSE_HOOKS`` run too; settable."""
        return self.app.use_default_hooks

    @use_default_hooks.setter
    def use_default_hooks(self, value: bool) -> None:
        self.app.use_default_hooks = value

    @property
    def hook_errors(self) -> list[BaseException]:
        """Exceptions raised by response hooks (they never break a response)."""
        return self.app.hook_errors

    @property
    def fault_counts(self) -> collections.Counter[str]:
        """How many faults of each kind were injected."""
        return self.app.fault_counts

    # ---- listening --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._port is None:
            raise RuntimeError("FakeDOCR is not running; use 'async with FakeDOCR() as fake'")
        return self._port

    @property
    def url(self) -> str:
        """Base URL to give a client, like ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`close`."""
        return self._runner is not None

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("FakeDOCR is already running")
        runner = web.AppRunner(
            self.app.make_app(), access_log=None, shutdown_timeout=self.config.shutdown_timeout
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.config.port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop serving and release the socket. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
        if exc is None and self.hook_errors:
            raise ResponseHookError(
                f"{len(self.hook_errors)} response hook call(s) failed; the first one is chained"
            ) from self.hook_errors[0]


class ResponseHookError(AssertionError):
    """Raised when leaving ``async with FakeDOCR()`` if a response hook raised during the block."""
