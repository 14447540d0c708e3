"""The public error tree.

Every error the SDK raises derives from :class:`DOCRError`. Errors raised by a response carry
everything needed to act on them (status, DigitalOcean's error ``id``, message, request id, the
rate-limit state, how many retries were taken) and never the API token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from datetime import datetime

    from ._ratelimit_headers import RateLimitInfo

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DOCRError",
    "EventLoopError",
    "GarbageCollectionActiveError",
    "GarbageCollectionError",
    "InvalidResponseError",
    "ListingChangedError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitBudgetError",
    "RateLimitError",
    "RegistryDiscoveryError",
    "ServerError",
    "TooManyRequestsError",
    "TransportError",
    "UnprocessableEntityError",
    "ValidationError",
    "WaitTimeoutError",
]


class DOCRError(Exception):
    """Base class of every error raised by docr-async."""


class ConfigurationError(DOCRError):
    """The client is configured wrongly (no token, bad base URL, bad option)."""


class RegistryDiscoveryError(ConfigurationError):
    """A call named no registry and the account does not have exactly one to use by default.

    Attributes:
        registries: The account's registry names (empty when it has none).
    """

    def __init__(self, message: str, *, registries: tuple[str, ...]) -> None:
        self.registries = registries
        super().__init__(message)


class ClientClosedError(DOCRError, RuntimeError):
    """The client was used after :meth:`DOCRClient.aclose`."""


class EventLoopError(DOCRError, RuntimeError):
    """The client was used from an event loop other than the one it first ran in.

    Its connection pool and concurrency bound belong to that loop (often one that
    ``asyncio.run`` has since closed). Create the client inside the running loop, and use one
    client per loop.
    """


class ValidationError(DOCRError, ValueError):
    """An argument is invalid; raised before any request is sent.

    Attributes:
        field: The name of the offending argument (e.g. ``"repository"``).
        value: The offending value, as given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {field} {value!r}: {reason}")


class PaginationError(DOCRError):
    """Runaway pagination: a repeated cursor, an empty page with a next link, too many pages."""


class ListingChangedError(PaginationError):
    """A listing changed while it was read (or is inconsistent), and could not be read consistently.

    Raised at the first sign of change with ``on_change="raise"``, and with the default
    ``on_change="reread"`` when every bounded re-read changed too. The message says what changed
    (for example ``total went 40 → 41 between page 1 and page 2``).
    """


class TransportError(DOCRError):
    """A request failed before a complete HTTP response was received."""

    def __init__(self, message: str, *, method: str, url: str, retries: int = 0) -> None:
        self.method = method
        self.url = url
        self.retries = retries
        super().__init__(f"{message} ({method} {url})")


class APIConnectionError(TransportError):
    """The connection failed or dropped (DNS, refused, reset, closed mid-response)."""


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request timed out (connect or total timeout)."""


class RateLimitError(DOCRError):
    """Base of both rate-limit errors: the server's 429 and the client's refusal to wait too long.

    Attributes:
        retry_after: Seconds the caller should wait before trying again, when known.
        reset_at: When the hourly budget frees up again (``ratelimit-reset``), when known.
    """

    retry_after: float | None
    reset_at: datetime | None


class RateLimitBudgetError(RateLimitError):
    """Waiting for rate-limit budget would take longer than ``max_wait``; nothing was sent."""

    def __init__(self, *, wait: float, max_wait: float, reset_at: datetime | None, reason: str) -> None:
        self.retry_after = wait
        self.max_wait = max_wait
        self.reset_at = reset_at
        when = f", budget resets at {reset_at.isoformat()}" if reset_at else ""
        super().__init__(
            f"rate limit: {reason}; waiting {wait:.1f}s exceeds max_wait={max_wait:g}s{when}; "
            "request not sent"
        )


class APIStatusError(DOCRError):
    """The API answered with an error status.

    Attributes:
        status: The HTTP status code.
        error_id: DigitalOcean's machine-readable error ``id`` (e.g. ``"not_found"``), if sent.
        message: The human-readable message (DigitalOcean's, or a description of the body).
        request_id: The request id from the body, else from the ``x-request-id`` header.
        method: The HTTP method of the failed request.
        url: The URL of the failed request (never contains credentials).
        rate_limit: The rate-limit state reported with the response, if any.
        retries: How many retries were taken before giving up.
    """

    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        status: int,
        message: str,
        error_id: str | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        rate_limit: RateLimitInfo | None = None,
        retries: int = 0,
    ) -> None:
        self.status = status
        self.error_id = error_id
        self.message = message
        self.request_id = request_id
        self.method = method
        self.url = url
        self.rate_limit = rate_limit
        self.retries = retries
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.status}"]
        if self.error_id:
            parts.append(f"[{self.error_id}]")
        parts.append(self.message)
        if self.method or self.url:
            parts.append(f"({self.method} {self.url})")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, error_id={self.error_id!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed (for example a bad ``page_token``)."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """401: the token is missing, wrong, expired or revoked."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: the token lacks a scope the operation needs."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: the registry, repository, tag, manifest or garbage collection does not exist."""

    status_code = 404


class ConflictError(APIStatusError):
    """409: a real conflict (name taken, a garbage collection already active). Never retried."""

    status_code = 409


class PreconditionFailedError(APIStatusError):
    """412: the legacy ``/v2/registry`` API refuses accounts with several registries.

    Use the multi-registry calls (``client.registries``, ``client.repositories`` ...) instead of
    ``client.legacy``.
    """

    status_code = 412
    hint = (
        "this account has several registries: use the /v2/registries API "
        "(client.registries) instead of client.legacy"
    )

    def _describe(self) -> str:
        return f"{super()._describe()} -- hint: {self.hint}"


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but its content was rejected."""

    status_code = 422


class TooManyRequestsError(APIStatusError, RateLimitError):
    """429: the server refused the request for rate limiting.

    Raised only after the retry policy gave up (or was told not to retry).
    """

    status_code = 429

    def __init__(self, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        rate_limit = kwargs.get("rate_limit")
        self.reset_at = getattr(rate_limit, "reset_at", None)
        super().__init__(**kwargs)  # type: ignore[arg-type]


class ServerError(APIStatusError):
    """5xx: the server (or a proxy in front of it) failed."""


class InvalidResponseError(APIStatusError):
    """A success status with a body that is not the JSON the API documents."""


class GarbageCollectionError(DOCRError):
    """A garbage collection ended in ``failed`` (or was cancelled while being waited for)."""

    def __init__(self, message: str, *, uuid: str, status: str) -> None:
        self.uuid = uuid
        self.status = status
        super().__init__(message)


class GarbageCollectionActiveError(DOCRError):
    """A garbage collection is running: the registry is read-only until it ends.

    Attributes:
        garbage_collection: The active garbage collection.
    """

    def __init__(self, message: str, *, garbage_collection: object) -> None:
        self.garbage_collection = garbage_collection
        super().__init__(message)


class WaitTimeoutError(DOCRError, TimeoutError):
    """Waiting for a garbage collection exceeded its timeout (the collection keeps running).

    Attributes:
        uuid: The garbage collection waited for.
        garbage_collection: Its state as last seen.
    """

    def __init__(self, message: str, *, uuid: str = "", garbage_collection: object = None) -> None:
        self.uuid = uuid
        self.garbage_collection = garbage_collection
        super().__init__(message)


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PreconditionFailedError,
        UnprocessableEntityError,
        TooManyRequestsError,
    )
    if cls.status_code is not None
}


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the error class for an HTTP status (the base class for unlisted 4xx)."""
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIStatusError)
