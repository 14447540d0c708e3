"""Error mapping: statuses, odd bodies, invalid success bodies, transport failures, token hygiene."""

from __future__ import annotations

import json
import re
import traceback
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import CallbackResult, aioresponses
from refused_port import refused_url

from docr_async import (
    NO_RETRY,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DOCRClient,
    DOCRError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimiter,
    RateLimitError,
    RateLimitInfo,
    ServerError,
    TooManyRequestsError,
    UnprocessableEntityError,
)

TOKEN = "dop_v1_" + "5ec2e7" * 10 + "beef"  # distinctive: any leak is easy to spot
ANY_URL = re.compile(r"^https://api\.digitalocean\.com/.*$")
NOW = 1_700_000_000.0
GET_URL = "https://api.digitalocean.com/v2/registries/example"


def make_client(**kwargs: Any) -> DOCRClient:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limiter", RateLimiter(enabled=False, clock=lambda: NOW))
    return DOCRClient(TOKEN, **kwargs)


@pytest.fixture
async def client() -> Any:
    c = make_client()
    yield c
    await c.aclose()


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as m:
        yield m


def assert_clean(err: BaseException) -> None:
    """The token appears nowhere in the error, its repr or its full traceback."""
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err)
    assert TOKEN not in "".join(traceback.format_exception(err))
    assert "dop_v1_5ec2" not in str(err)  # not even a prefix of it


# --------------------------------------------------------------------------- status -> class


@pytest.mark.parametrize(
    ("status", "cls", "error_id"),
    [
        (400, BadRequestError, "bad_request"),
        (401, AuthenticationError, "unauthorized"),
        (403, PermissionDeniedError, "forbidden"),
        (404, NotFoundError, "not_found"),
        (409, ConflictError, "conflict"),
        (412, PreconditionFailedError, "precondition_failed"),
        (422, UnprocessableEntityError, "unprocessable_entity"),
        (429, TooManyRequestsError, "too_many_requests"),
        (500, ServerError, "server_error"),
        (502, ServerError, "bad_gateway"),
        (503, ServerError, "service_unavailable"),
        (504, ServerError, "gateway_timeout"),
        (405, APIStatusError, "method_not_allowed"),
        (410, APIStatusError, "gone"),
        (418, APIStatusError, "teapot"),
    ],
)
async def test_status_maps_to_class(
    status: int, cls: type[APIStatusError], error_id: str, client: DOCRClient, mocked: aioresponses
) -> None:
    body = {"id": error_id, "message": f"message for {status}", "request_id": f"req-{status}"}
    mocked.get(ANY_URL, status=status, payload=body)
    with pytest.raises(APIStatusError) as excinfo:
        await client.registries.get("example")
    err = excinfo.value
    assert type(err) is cls
    assert isinstance(err, DOCRError)
    assert (err.status, err.error_id, err.message, err.request_id) == (
        status,
        error_id,
        f"message for {status}",
        f"req-{status}",
    )
    assert (err.method, err.url, err.retries) == ("GET", GET_URL, 0)
    text = str(err)
    for part in (str(status), f"[{error_id}]", f"message for {status}", f"request_id=req-{status}", GET_URL):
        assert part in text
    assert repr(err).startswith(f"{cls.__name__}(status={status}")
    assert sum(len(calls) for calls in mocked.requests.values()) == 1  # NO_RETRY: one attempt


async def test_412_says_to_use_the_registries_api(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, status=412, payload={"id": "precondition_failed", "message": "multiple registries"})
    with pytest.raises(PreconditionFailedError) as excinfo:
        await client.legacy.get()
    text = str(excinfo.value)
    assert "multiple registries" in text
    assert "/v2/registries" in text
    assert "client.registries" in text
    assert excinfo.value.message == "multiple registries"  # the hint is not mixed into the message


async def test_429_carries_retry_after_and_rate_limit(client: DOCRClient, mocked: aioresponses) -> None:
    reset = int(NOW) + 1800
    mocked.get(
        ANY_URL,
        status=429,
        payload={"id": "too_many_requests", "message": "API rate limit exceeded."},
        headers={
            "Retry-After": "7",
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
        },
    )
    with pytest.raises(TooManyRequestsError) as excinfo:
        await client.registries.get("example")
    err = excinfo.value
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 7.0
    reset_at = datetime.fromtimestamp(reset, tz=UTC)
    assert err.rate_limit == RateLimitInfo(limit=5000, remaining=0, reset_at=reset_at)
    assert err.reset_at == reset_at
    assert err.error_id == "too_many_requests"
    assert client.rate_limit == err.rate_limit


# --------------------------------------------------------------------------- request id


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        pytest.param(
            {"request_id": "from-body"}, {"x-request-id": "from-header"}, "from-body", id="body-wins"
        ),
        pytest.param({}, {"x-request-id": "from-header"}, "from-header", id="header-fallback"),
        pytest.param({}, {"X-Request-ID": "mixed-case"}, "mixed-case", id="header-case-insensitive"),
        pytest.param({"request_id": 42}, {"x-request-id": "from-header"}, "from-header", id="non-str-body"),
        pytest.param({}, {}, None, id="none"),
    ],
)
async def test_request_id_from_body_else_header(
    body: dict[str, Any],
    headers: dict[str, str],
    expected: str | None,
    client: DOCRClient,
    mocked: aioresponses,
) -> None:
    mocked.get(ANY_URL, status=404, payload={"id": "not_found", "message": "gone", **body}, headers=headers)
    with pytest.raises(NotFoundError) as excinfo:
        await client.registries.get("example")
    assert excinfo.value.request_id == expected


# --------------------------------------------------------------------------- odd error bodies


@pytest.mark.parametrize(
    ("status", "body", "content_type", "cls", "message"),
    [
        pytest.param(500, "", "application/json", ServerError, "empty response body", id="empty"),
        pytest.param(503, "  \r\n", "text/plain", ServerError, "empty response body", id="blank"),
        pytest.param(
            502,
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            "text/html",
            ServerError,
            "non-JSON response body (text/html, 74 bytes)",
            id="html-from-proxy",
        ),
        pytest.param(
            404,
            '{"id": "not_found", "mess',
            "application/json",
            NotFoundError,
            "non-JSON response body (application/json, 25 bytes)",
            id="truncated-json",
        ),
        pytest.param(
            400,
            '[{"id": "bad_request"}]',
            "application/json",
            BadRequestError,
            "unexpected JSON error body of type list",
            id="json-array",
        ),
        pytest.param(
            401, '"unauthorized"', "application/json", AuthenticationError,
            "unexpected JSON error body of type str", id="json-string",
        ),
        pytest.param(
            409, '{"id": "conflict"}', "application/json", ConflictError, "no message in error body",
            id="no-message",
        ),
        pytest.param(
            500, '{"id": "x", "message": 5}', "application/json", ServerError, "no message in error body",
            id="non-str-message",
        ),
    ],
)  # fmt: skip
async def test_odd_error_bodies_give_a_clear_status_error(
    status: int,
    body: str,
    content_type: str,
    cls: type[APIStatusError],
    message: str,
    client: DOCRClient,
    mocked: aioresponses,
) -> None:
    mocked.get(ANY_URL, status=status, body=body, content_type=content_type)
    with pytest.raises(APIStatusError) as excinfo:
        await client.registries.get("example")
    err = excinfo.value
    assert type(err) is cls
    assert err.status == status
    assert err.message == message
    assert str(status) in str(err)
    # No JSON decoding traceback is chained onto the error.
    assert err.__cause__ is None
    assert err.__context__ is None
    assert "JSONDecodeError" not in "".join(traceback.format_exception(err))
    assert "<html>" not in str(err)


# --------------------------------------------------------------------------- invalid success bodies


def get_registry(c: DOCRClient) -> Any:
    return c.registries.get("example")


def list_tags(c: DOCRClient) -> Any:
    return c.tags.list("app", registry="example")


def get_credentials(c: DOCRClient) -> Any:
    return c.registries.docker_credentials("example")


@pytest.mark.parametrize(
    ("body", "call", "fragment"),
    [
        pytest.param("{not json", get_registry, "not valid JSON", id="invalid-json"),
        pytest.param('{"registry": {"name": "x"', get_registry, "not valid JSON", id="truncated-json"),
        pytest.param("<html>oops</html>", get_registry, "not valid JSON", id="html"),
        pytest.param(
            '{"registry": "oops"}', get_registry, "unexpected response shape", id="registry-not-object"
        ),
        pytest.param("{}", get_registry, "unexpected response shape", id="registry-missing"),
        pytest.param("[]", get_registry, "unexpected response shape", id="body-is-array"),
        pytest.param(
            '{"registry": {"created_at": "yesterday"}}',
            get_registry,
            "unexpected response shape",
            id="bad-time",
        ),
        pytest.param(
            '{"registry": {"storage_usage_bytes": "lots"}}',
            get_registry,
            "unexpected response shape",
            id="bad-int",
        ),
        pytest.param('{"tags": 5}', list_tags, "unexpected listing shape", id="tags-not-a-list"),
        pytest.param('{"tags": [5]}', list_tags, "unexpected listing shape", id="tag-not-an-object"),
        pytest.param("[]", list_tags, "expected a JSON object", id="listing-not-an-object"),
        pytest.param('{"auths": []}', get_credentials, "unexpected response shape", id="auths-not-a-map"),
    ],
)
async def test_invalid_success_body_raises_invalid_response(
    body: str, call: Any, fragment: str, client: DOCRClient, mocked: aioresponses
) -> None:
    mocked.get(ANY_URL, status=200, body=body, headers={"x-request-id": "req-200"})
    with pytest.raises(InvalidResponseError) as excinfo:
        await call(client)
    err = excinfo.value
    assert isinstance(err, APIStatusError)
    assert err.status == 200
    assert err.request_id == "req-200"
    assert err.method == "GET"
    assert fragment in err.message
    assert err.__cause__ is None
    assert "Traceback" not in str(err)


async def test_strict_client_turns_unknown_fields_into_invalid_response(mocked: aioresponses) -> None:
    mocked.get(ANY_URL, payload={"registry": {"name": "example", "brand_new_field": 1}})
    async with make_client(strict=True) as c:
        with pytest.raises(InvalidResponseError) as excinfo:
            await c.registries.get("example")
    assert "brand_new_field" in excinfo.value.message


# --------------------------------------------------------------------------- transport failures


async def test_connection_refused_raises_api_connection_error() -> None:
    with refused_url() as base_url:
        async with make_client(base_url=base_url) as c:
            with pytest.raises(APIConnectionError) as excinfo:
                await c.registries.get("example")
    err = excinfo.value
    assert not isinstance(err, APITimeoutError)
    assert not isinstance(err, APIStatusError)
    assert (err.method, err.url, err.retries) == ("GET", f"{base_url}/v2/registries/example", 0)
    assert str(err).startswith("connection failed:")
    assert_clean(err)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(TimeoutError(), id="asyncio-timeout"),  # asyncio.TimeoutError is TimeoutError
        pytest.param(aiohttp.ServerTimeoutError("Timeout on reading data from socket"), id="read-timeout"),
        pytest.param(aiohttp.ConnectionTimeoutError("Connection timeout"), id="connect-timeout"),
    ],
)
async def test_timeout_raises_api_timeout_error(
    exc: BaseException, client: DOCRClient, mocked: aioresponses
) -> None:
    mocked.get(ANY_URL, exception=exc)
    with pytest.raises(APITimeoutError) as excinfo:
        await client.registries.get("example")
    err = excinfo.value
    assert isinstance(err, APIConnectionError)
    assert isinstance(err, TimeoutError)
    assert str(err).startswith("request timed out")
    assert err.url == GET_URL


async def test_dropped_connection_raises_api_connection_error(
    client: DOCRClient, mocked: aioresponses
) -> None:
    mocked.get(ANY_URL, exception=aiohttp.ServerDisconnectedError())
    with pytest.raises(APIConnectionError) as excinfo:
        await client.registries.get("example")
    assert not isinstance(excinfo.value, APITimeoutError)


# --------------------------------------------------------------------------- the token never leaks


def echo_authorization(url: Any, **kwargs: Any) -> CallbackResult:
    """A server that echoes the Authorization header back in its error message."""
    auth = kwargs["headers"]["Authorization"]
    assert TOKEN in auth  # the echo really carries the token
    return CallbackResult(status=401, payload={"id": "unauthorized", "message": f"bad credentials: {auth}"})


async def test_echoed_token_is_scrubbed_from_status_errors(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, callback=echo_authorization)
    with pytest.raises(AuthenticationError) as excinfo:
        await client.registries.get("example")
    err = excinfo.value
    assert err.message == "bad credentials: Bearer <redacted>"
    assert_clean(err)


@pytest.mark.parametrize(
    "field",
    [
        "message",
        "id",
        "request_id",
    ],
)
async def test_echoed_token_in_any_error_field_is_scrubbed(
    field: str, client: DOCRClient, mocked: aioresponses
) -> None:
    body = {"id": "unauthorized", "message": "denied", field: f"echo {TOKEN}"}
    mocked.get(ANY_URL, status=401, payload=body)
    with pytest.raises(AuthenticationError) as excinfo:
        await client.registries.get("example")
    assert_clean(excinfo.value)


async def test_echoed_token_is_scrubbed_from_invalid_response(
    client: DOCRClient, mocked: aioresponses
) -> None:
    mocked.get(ANY_URL, payload={"registry": {"created_at": TOKEN}})
    with pytest.raises(InvalidResponseError) as excinfo:
        await client.registries.get("example")
    assert "<redacted>" in excinfo.value.message
    assert_clean(excinfo.value)


async def test_echoed_token_is_scrubbed_from_listing_errors(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, payload={"tags": [{"updated_at": TOKEN}]})
    with pytest.raises(InvalidResponseError) as excinfo:
        await client.tags.list("app", registry="example")
    assert_clean(excinfo.value)


async def test_token_is_scrubbed_from_connection_errors(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, exception=aiohttp.ClientConnectionError(f"reset while sending {TOKEN}"))
    with pytest.raises(APIConnectionError) as excinfo:
        await client.registries.get("example")
    assert "<redacted>" in str(excinfo.value)
    assert TOKEN not in str(excinfo.value)
    assert TOKEN not in repr(excinfo.value)


async def test_token_absent_from_client_and_transport_reprs(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, payload={"registry": {"name": "example"}})
    await client.registries.get("example")  # a live session exists too
    copy = client.with_options(retry=NO_RETRY, timeout=3)
    objects = [
        client,
        copy,
        client._transport,
        copy._transport,
        client._transport._shared,
        client.registries,
        client.legacy,
        client.legacy.tags,
        copy.garbage_collections,
    ]
    for obj in objects:
        assert TOKEN not in repr(obj), type(obj).__name__
        assert TOKEN not in str(obj), type(obj).__name__
    assert "redacted" in repr(client)
    assert "redacted" in repr(copy)


# --------------------------------------------------------------------------- redirects


async def test_redirect_is_not_followed(client: DOCRClient, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, status=302, headers={"Location": "https://evil.example.com/steal"})
    mocked.get("https://evil.example.com/steal", payload={"registry": {"name": "stolen"}})
    with pytest.raises(APIStatusError) as excinfo:
        await client.registries.get("example")
    assert type(excinfo.value) is APIStatusError
    assert excinfo.value.status == 302
    hosts = [url.host for (_, url) in mocked.requests]
    assert hosts == ["api.digitalocean.com"]
    [calls] = mocked.requests.values()
    assert calls[0].kwargs["allow_redirects"] is False


async def test_redirect_to_another_host_never_carries_the_token() -> None:
    """Two real loopback servers: the API redirects to another origin, which must see nothing."""
    seen_by_api: list[str | None] = []
    seen_elsewhere: list[str | None] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen_elsewhere.append(request.headers.get("Authorization"))
        return web.json_response({"registry": {"name": "stolen"}})

    other_app = web.Application()
    other_app.router.add_get("/{tail:.*}", elsewhere)
    async with TestServer(other_app, host="127.0.0.1") as other:
        target = str(other.make_url("/collect"))

        async def api(request: web.Request) -> web.Response:
            seen_by_api.append(request.headers.get("Authorization"))
            raise web.HTTPTemporaryRedirect(target)

        api_app = web.Application()
        api_app.router.add_get("/{tail:.*}", api)
        async with TestServer(api_app, host="127.0.0.1") as server:
            base_url = str(server.make_url("")).rstrip("/")
            async with make_client(base_url=base_url) as c:
                with pytest.raises(APIStatusError) as excinfo:
                    await c.registries.get("example")
    assert excinfo.value.status == 307
    assert seen_by_api == [f"Bearer {TOKEN}"]
    assert seen_elsewhere == []
    assert_clean(excinfo.value)


def test_status_error_is_pure() -> None:
    """The mapping needs no I/O: the transport maps bytes and headers directly."""
    transport = make_client()._transport
    err = transport.status_error(
        429,
        json.dumps({"id": "too_many_requests", "message": "slow down"}).encode(),
        {"Content-Type": "application/json", "x-request-id": "hdr"},
        method="DELETE",
        url="https://api.digitalocean.com/v2/registry",
        rate_limit=None,
        retries=3,
        retry_after=12.5,
    )
    assert type(err) is TooManyRequestsError
    assert (err.retry_after, err.request_id, err.retries, err.method) == (12.5, "hdr", 3, "DELETE")
