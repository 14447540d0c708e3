"""Exit codes of the ``docr`` command and the mapping from SDK errors to them (no CLI dependencies)."""

from __future__ import annotations

from enum import IntEnum

from ..exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    GarbageCollectionActiveError,
    GarbageCollectionError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    UnprocessableEntityError,
    ValidationError,
    WaitTimeoutError,
    status_error_class,
)

__all__ = ["ExitCode", "describe_error", "exit_code_for", "exit_code_for_status"]


class ExitCode(IntEnum):
    """Exit statuses scripts can rely on (documented in docs/cli.md)."""

    OK = 0
    """Success, or a dry run in which nothing failed."""
    FAILED = 1
    """Some items failed or were not attempted; a garbage collection failed or timed out."""
    USAGE = 2
    """Bad usage or invalid input (bad option, bad name, bad policy, refused without --force)."""
    AUTH = 3
    """Authentication or permission error (401/403)."""
    NOT_FOUND = 4
    """The registry, repository, tag, manifest or garbage collection does not exist (404)."""
    CONFLICT = 5
    """Conflict (409/412), or a garbage collection holds the registry read-only."""
    RATE_LIMITED = 6
    """Rate limited: the budget is exhausted for longer than ``--max-wait``."""
    API_ERROR = 7
    """Any other API, server or connection error."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""
    TERMINATED = 143
    """Terminated (SIGTERM: a cancelled CI job, an evicted pod); handled like Ctrl-C."""


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an error raised by the SDK."""
    return _exit_code_for_type(type(exc))


def exit_code_for_status(status: int | None) -> ExitCode:
    """The exit code for a request that failed with HTTP ``status`` (``None``: no response)."""
    return ExitCode.API_ERROR if status is None else _exit_code_for_type(status_error_class(status))


def _exit_code_for_type(kind: type[BaseException]) -> ExitCode:
    if issubclass(kind, RateLimitError):
        return ExitCode.RATE_LIMITED
    if issubclass(kind, AuthenticationError | PermissionDeniedError):
        return ExitCode.AUTH
    if issubclass(kind, NotFoundError):
        return ExitCode.NOT_FOUND
    if issubclass(kind, ConflictError | PreconditionFailedError | GarbageCollectionActiveError):
        return ExitCode.CONFLICT
    if issubclass(
        kind, ValidationError | ConfigurationError | BadRequestError | UnprocessableEntityError | ValueError
    ):
        return ExitCode.USAGE
    if issubclass(kind, GarbageCollectionError | WaitTimeoutError):
        return ExitCode.FAILED
    return ExitCode.API_ERROR


def describe_error(exc: BaseException) -> str:
    """One line for an SDK error: status, DigitalOcean error id, message and request id."""
    if isinstance(exc, APIStatusError):
        head = f"{exc.status} {exc.error_id}" if exc.error_id else f"{exc.status}"
        line = f"{head}: {exc.message}"
        if isinstance(exc, PreconditionFailedError):
            line += f" (hint: {exc.hint})"
        if isinstance(exc, RateLimitError) and exc.reset_at is not None:
            line += f" (budget resets at {exc.reset_at.isoformat()})"
        if exc.request_id:
            line += f" (request_id={exc.request_id})"
        return " ".join(line.split())
    return " ".join(str(exc).split()) or type(exc).__name__
