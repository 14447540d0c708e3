"""docr-async: an asyncio SDK for the DigitalOcean Container Registry API.

>>> async with DOCRClient() as client:  # doctest: +SKIP
...     async for tag in client.tags.list("my/app", registry="example"):
...         print(tag.tag, tag.updated_at)
"""

from ._client import DOCRClient
from ._ratelimit import RateLimiter, RateLimitInfo
from ._retry import NO_RETRY, RetryPolicy
from ._transport import APIResponse, Timeout
from ._version import __version__
from .exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DOCRError,
    GarbageCollectionActiveError,
    GarbageCollectionError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitBudgetError,
    RateLimitError,
    ServerError,
    TooManyRequestsError,
    TransportError,
    UnprocessableEntityError,
    ValidationError,
    WaitTimeoutError,
)
from .models import (
    Blob,
    DockerCredentials,
    GarbageCollection,
    GCStatus,
    GCType,
    Manifest,
    Registry,
    RegistryList,
    RegistryOptions,
    Repository,
    RepositoryV2,
    Subscription,
    SubscriptionTier,
    Tag,
    TierSlug,
)
from .names import ImageRef
from .pagination import AsyncPager, Page

__all__ = [
    "NO_RETRY",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Blob",
    "ConfigurationError",
    "ConflictError",
    "DOCRClient",
    "DOCRError",
    "DockerCredentials",
    "GCStatus",
    "GCType",
    "GarbageCollection",
    "GarbageCollectionActiveError",
    "GarbageCollectionError",
    "ImageRef",
    "InvalidResponseError",
    "Manifest",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitBudgetError",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimiter",
    "Registry",
    "RegistryList",
    "RegistryOptions",
    "Repository",
    "RepositoryV2",
    "RetryPolicy",
    "ServerError",
    "Subscription",
    "SubscriptionTier",
    "Tag",
    "TierSlug",
    "Timeout",
    "TooManyRequestsError",
    "TransportError",
    "UnprocessableEntityError",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
]
