"""Shared plumbing of the ``docr`` commands: global settings, the client, error handling."""

from __future__ import annotations

import asyncio
import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import attrs
import typer

from .._client import DOCRClient
from .._constants import DEFAULT_BASE_URL, TOKEN_ENV_VARS
from .._retry import RetryPolicy
from ..exceptions import ConfigurationError, DOCRError, ValidationError
from ..models import GCType
from ..names import REGISTRY_HOST, resolve_repository, validate_registry_name
from ._exit import ExitCode, describe_error, exit_code_for
from ._output import Listing, Output, OutputFormat, parse_columns

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Iterator

    from .._ratelimit import RateLimiter
    from ..redis import RedisRateLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "GC_TYPES",
    "Cli",
    "ForceOpt",
    "FormatOpt",
    "GCTypeChoice",
    "NewestLimitOpt",
    "NoHeaderOpt",
    "OutputOpt",
    "RegistryNameArg",
    "RegistryOpt",
    "RepositoryNameArg",
    "Settings",
    "cli",
    "in_cli_terms",
    "stdin_is_interactive",
]

T = TypeVar("T")

OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        case_sensitive=False,
        help="Output format (overrides the global -o).",
        show_default=False,
    ),
]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        "-r",
        help="Registry name (optional when the repository is registry.digitalocean.com/<registry>/<repo>).",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Columns to show, comma-separated, by doctl's names (Tag,ManifestDigest,...).",
        show_default=False,
    ),
]
RegistryNameArg = Annotated[
    str | None, typer.Argument(help="Registry name (default: the account's only registry).")
]
RepositoryNameArg = Annotated[str, typer.Argument(help="Repository (my/app).")]
NoHeaderOpt = Annotated[bool, typer.Option("--no-header", help="Omit the header line.")]
NewestLimitOpt = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="At most this many (newest first).", show_default=False),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", "-f", help="Delete without asking (required when stdin is not a terminal)."),
]


class GCTypeChoice(StrEnum):
    """Garbage collection types as command-line words."""

    UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS = "untagged-manifests-and-unreferenced-blobs"
    UNREFERENCED_BLOBS_ONLY = "unreferenced-blobs-only"
    UNTAGGED_MANIFESTS_ONLY = "untagged-manifests-only"

    @property
    def api(self) -> GCType:
        """The API's value (``untagged manifests and unreferenced blobs`` ...)."""
        return GCType(self.value.replace("-", " "))


GC_TYPES = " | ".join(choice.value for choice in GCTypeChoice)
"""The garbage collection types, for help texts (too long for a metavar at 80 columns)."""


@attrs.frozen(kw_only=True)
class Settings:
    """The global options."""

    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    output: OutputFormat = OutputFormat.TABLE
    max_concurrency: int = 16
    max_wait: float | None = None
    retries: int | None = None
    allow_insecure_http: bool = False
    redis_url: str | None = None

    def secret(self) -> str | None:
        """The token that will be used (never printed; used to redact output)."""
        if self.token:
            return self.token
        for name in TOKEN_ENV_VARS:
            value = os.environ.get(name, "").strip()
            if value:
                return value
        return None

    def client(self, rate_limiter: RateLimiter | None = None, registry: str | None = None) -> DOCRClient:
        """A new client (create it inside the event loop).

        Args:
            rate_limiter: A shared limiter (``--redis-url``); ``None``: the client's own.
            registry: The registry the command names; ``None``: ``$DIGITALOCEAN_REGISTRY``, else the
                account's only registry (the SDK's default registry). A named registry means the
                variable is not read, so a bad value there does not break such a command.

        Raises:
            ConfigurationError: If there is no token or the base URL is unsafe.
        """
        retry = RetryPolicy() if self.retries is None else RetryPolicy(max_attempts=self.retries + 1)
        return DOCRClient(
            self.token,
            registry=registry,
            base_url=self.base_url,
            retry=retry,
            max_concurrency=self.max_concurrency,
            max_wait=self.max_wait,
            allow_insecure_http=self.allow_insecure_http,
            rate_limiter=rate_limiter,
        )

    def shared_limiter(self) -> RedisRateLimiter | None:
        """The Redis limiter of ``--redis-url`` / ``DOCR_REDIS_URL``, or ``None`` (a local one).

        Raises:
            ConfigurationError: redis-py (the ``docr-async[redis]`` extra) is not installed.
        """
        if not self.redis_url:
            return None
        try:
            from docr_async.redis import RedisRateLimiter  # noqa: PLC0415 - optional extra
        except ImportError:
            raise ConfigurationError("--redis-url needs redis-py: pip install 'docr-async[redis]'") from None
        return RedisRateLimiter.from_url(self.redis_url)


class Cli:
    """One command invocation: its settings, its output, and a runner for async work."""

    def __init__(
        self,
        settings: Settings,
        fmt: OutputFormat | None = None,
        *,
        registry: str | None = None,
        columns: str | None = None,
        no_header: bool = False,
    ) -> None:
        self.settings = settings
        self.registry = registry
        secret = settings.secret()
        self.out = Output(
            fmt or settings.output,
            secrets=[secret] if secret else [],
            columns=parse_columns(columns),
            no_header=no_header,
        )

    def registry_name(self, registry: str | None, repository: str | None = None) -> str:
        """The registry a command works on: ``registry``, the one in a pasted
        ``registry.digitalocean.com/<registry>/<repo>``, else the default registry
        (``$DIGITALOCEAN_REGISTRY``, else the account's only registry, one request).

        A bad name exits 2 before any request.
        """
        if repository is not None and repository.startswith(REGISTRY_HOST + "/"):
            name = self.check(lambda: resolve_repository(repository, registry))[0]
        elif registry is not None:
            name = self.check(lambda: validate_registry_name(registry.removeprefix(REGISTRY_HOST + "/")))
        else:
            name = self.run(_default_registry_name)
        self.registry = name
        return name

    def fail(self, message: str, code: ExitCode) -> NoReturn:
        """Print one error line and exit with ``code``."""
        self.out.error(message)
        raise typer.Exit(int(code))

    def check(self, make: Callable[[], T]) -> T:
        """Run a local validation; a bad value exits 2 (usage) before any request."""
        try:
            return make()
        except (ValidationError, ValueError) as exc:
            message = describe_error(exc)
            if isinstance(exc, ValidationError) and "_" in exc.field:  # a keyword: name the flag
                message = message.replace(exc.field, "--" + exc.field.replace("_", "-"), 1)
            self.fail(in_cli_terms(message), ExitCode.USAGE)

    async def with_client(self, work: Callable[[DOCRClient], Awaitable[T]]) -> T:
        """Await ``work(client)`` with a fresh client, closed afterwards (errors propagate)."""
        limiter = self.settings.shared_limiter()
        try:
            async with self.settings.client(limiter, registry=self.registry) as client:
                return await work(client)
        finally:
            if limiter is not None:
                await limiter.aclose()

    def run(self, work: Callable[[DOCRClient], Awaitable[T]]) -> T:
        """Run ``work(client)`` on a fresh event loop; SDK errors become one line and an exit code."""
        return self.run_plain(lambda: self.with_client(work))

    def run_plain(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work()`` on a fresh event loop, with the same error handling as :meth:`run`."""
        try:
            return asyncio.run(work())
        except KeyboardInterrupt:
            self.fail("interrupted", ExitCode.INTERRUPTED)
        except DOCRError as exc:
            self.fail(in_cli_terms(describe_error(exc)), exit_code_for(exc))
        except BaseExceptionGroup as group:
            self.fail_group(group)

    def fail_group(self, group: BaseExceptionGroup[BaseException]) -> NoReturn:
        """Several SDK errors raised together (concurrent listings): one line each, then exit.

        The exit code is theirs when they all agree, else :attr:`ExitCode.API_ERROR`. A group that
        holds anything but SDK errors is raised again (a bug deserves its traceback).
        """
        errors, rest = group.split(DOCRError)
        if errors is None or rest is not None:
            raise group
        leaves = list(_leaves(errors))
        for exc in leaves:
            self.out.error(in_cli_terms(describe_error(exc)))
        codes = {exit_code_for(exc) for exc in leaves}
        code = codes.pop() if len(codes) == 1 else ExitCode.API_ERROR
        self.fail(f"{len(leaves)} requests failed at once (each is listed above)", code)

    def deleted(self, data: dict[str, Any], message: str) -> None:
        """Report one completed deletion: ``data`` as JSON, else ``message`` in green."""
        if self.out.json:
            self.out.emit_json(data)
        else:
            self.out.info(message, style="green")

    def confirm_destructive(self, what: str, force: bool) -> None:
        """Ask before deleting; refuse in a non-interactive session unless ``--force``."""
        if force:
            return
        if not stdin_is_interactive():
            self.fail(f"refusing to delete {what} without --force (stdin is not a terminal)", ExitCode.USAGE)
        if not typer.confirm(f"Delete {what}?", default=False, err=True):
            self.fail("not confirmed; nothing deleted", ExitCode.FAILED)


_CLI_TERMS = (
    ("pass token=... or set", "pass --access-token (-t), set"),
    (
        "(create one at",
        "or run 'doctl auth init' (docr reads doctl's config file) (create one at",
    ),
    ("allow_insecure_http=True", "--allow-insecure-http"),
    ("invalid base_url", "invalid --api-url"),
    ("base_url must", "--api-url must"),
    (
        "pass registry=..., DOCRClient(registry=...) or set",
        "pass --registry (or the REGISTRY argument) or set",
    ),
    ("registry=None", "no registry"),
)


def in_cli_terms(message: str) -> str:
    """An SDK message with its Python spellings (``token=...``) replaced by the CLI's flags."""
    for sdk, flag in _CLI_TERMS:
        message = message.replace(sdk, flag)
    return message


def stdin_is_interactive() -> bool:
    """True when a person can answer a prompt (stdin is a terminal)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


async def _default_registry_name(client: DOCRClient) -> str:
    return (await client.registries.get()).name


def cli(
    ctx: typer.Context,
    output: OutputFormat | None = None,
    *,
    registry: str | None = None,
    columns: str | None = None,
    no_header: bool = False,
    listing: Callable[[list[Any]], Listing] | None = None,
    repository: str | None = None,
) -> Cli:
    """The :class:`Cli` of a command, from the global settings and its own options.

    ``registry`` is the registry the command names (``None``: the default registry, or the one
    in ``repository`` when that is a pasted ``registry.digitalocean.com/<registry>/<repo>``);
    ``columns`` and ``no_header`` are its ``--format`` and ``--no-header``, checked against the
    columns of ``listing`` (an unknown column exits 2 before any request).
    """
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        settings = Settings()
    if registry is None and repository is not None and repository.startswith(REGISTRY_HOST + "/"):
        registry = repository.removeprefix(REGISTRY_HOST + "/").partition("/")[0] or None
    c = Cli(settings, output, registry=registry, columns=columns, no_header=no_header)
    if listing is not None and c.out.columns:
        c.check(lambda: listing([]).pick(c.out.columns))
    return c
