"""The fake's model errors; each maps to one DigitalOcean error body (status, ``id``, message)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

T = TypeVar("T")

__all__ = [
    "PRECONDITION_MULTIPLE_REGISTRIES",
    "BadRequestError",
    "ConflictError",
    "FakeDOCRError",
    "NotFoundError",
    "PreconditionFailedError",
    "ReadOnlyRegistryError",
    "UnprocessableError",
    "find_or_404",
]


class FakeDOCRError(Exception):
    """Base of the errors raised by the fake's model; each maps to one DigitalOcean error body."""

    status: int = 500
    error_id: str = "server_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(FakeDOCRError):
    """404 ``not_found``."""

    status = 404
    error_id = "not_found"


class BadRequestError(FakeDOCRError):
    """400 ``bad_request``."""

    status = 400
    error_id = "bad_request"


class ConflictError(FakeDOCRError):
    """409 ``conflict``."""

    status = 409
    error_id = "conflict"


class ReadOnlyRegistryError(ConflictError):
    """The registry is read-only because a garbage collection is active (409 ``conflict`` over HTTP)."""


class PreconditionFailedError(FakeDOCRError):
    """412 ``precondition_failed``."""

    status = 412
    error_id = "precondition_failed"


class UnprocessableError(FakeDOCRError):
    """422 ``unprocessable_entity``: a well-formed request with an invalid value."""

    status = 422
    error_id = "unprocessable_entity"


PRECONDITION_MULTIPLE_REGISTRIES = (
    "This API is not supported if you have created multiple registries. Please use \n"
    "‘/v2/registries/{registry_name}’ instead. Refer to \n"
    "https://docs.digitalocean.com/reference/api/digitalocean/#tag/Container-Registry for more info."
)
"""DigitalOcean's verbatim 412 message from ``GET``/``DELETE /v2/registry`` (spec example)."""


def find_or_404(items: Mapping[str, T], key: str, message: str) -> T:
    """``items[key]``, or a :class:`NotFoundError` with ``message``."""
    found = items.get(key)
    if found is None:
        raise NotFoundError(message)
    return found
