"""Defaults and fixed facts of the DigitalOcean API, in one place."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.digitalocean.com"
"""The only server in DigitalOcean's OpenAPI document."""

TOKEN_ENV_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
"""Environment variables read for the API token, in order."""
REGISTRY_ENV_VAR = "DIGITALOCEAN_REGISTRY"
"""Environment variable naming the default registry (after ``DOCRClient(registry=...)``)."""

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TOTAL_TIMEOUT = 60.0

HOURLY_LIMIT = 5000
"""Requests per token per sliding hour (reported in the ``ratelimit-*`` headers)."""
HOURLY_WINDOW = 3600.0
BURST_LIMIT = 250
"""Requests per token per sliding minute (never reported in headers)."""
BURST_WINDOW = 60.0

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = MAX_PER_PAGE
"""The SDK asks for the largest page by default: fewer requests, less rate-limit budget."""

HEADER_LIMIT = "ratelimit-limit"
HEADER_REMAINING = "ratelimit-remaining"
HEADER_RESET = "ratelimit-reset"
HEADER_RETRY_AFTER = "retry-after"
HEADER_REQUEST_ID = "x-request-id"

LOGGER_NAME = "docr_async"

MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""A response body larger than this is refused (a page of 200 manifests is well under 1 MiB)."""
