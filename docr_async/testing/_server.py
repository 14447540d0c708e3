"""The :class:`FakeDOCR` async context manager: the fake application on a local TCP port."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from aiohttp import web

from ._app import DEFAULT_PUBLIC_URL, FakeApp

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from ._app import FaultConfig, RateLimitConfig, ResponseHook
    from ._configs import GCConfig, SeedSpec
    from ._primitives import Clock

__all__ = ["FakeDOCR", "ResponseHookError"]


class FakeDOCR(FakeApp):
    """An in-process fake of the DigitalOcean Container Registry API, listening on 127.0.0.1.

    ::

        async with FakeDOCR(seed=1, seed_spec=SeedSpec(repos=3)) as fake:
            async with aiohttp.ClientSession() as http:
                await http.get(f"{fake.url}/v2/registries", headers={"Authorization": f"Bearer {fake.token}"})

    ``port=0`` picks a free port. Everything else is described on :class:`FakeApp`'s attributes.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        seed: int = 0,
        seed_spec: SeedSpec | None = None,
        rate_limits: RateLimitConfig | None = None,
        faults: FaultConfig | None = None,
        gc: GCConfig | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str = DEFAULT_PUBLIC_URL,
        response_hooks: ResponseHook | Sequence[ResponseHook] | None = None,
        use_default_hooks: bool = True,
        request_log_limit: int | None = 100_000,
        shutdown_timeout: float = 1.0,
    ) -> None:
        super().__init__(
            token,
            seed=seed,
            seed_spec=seed_spec,
            rate_limits=rate_limits,
            faults=faults,
            gc=gc,
            clock=clock,
            public_url=public_url,
            response_hooks=response_hooks,
            use_default_hooks=use_default_hooks,
            request_log_limit=request_log_limit,
        )
        self.host = host
        self._requested_port = port
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

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
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
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
