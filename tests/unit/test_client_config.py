"""DOCRClient configuration: token discovery, base URL safety, sessions, User-Agent, with_options."""

from __future__ import annotations

import platform
import re
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from docr_async import (
    NO_RETRY,
    ClientClosedError,
    ConfigurationError,
    DOCRClient,
    RateLimiter,
    RetryPolicy,
    ServerError,
    Timeout,
    __version__,
)

TOKEN = "dop_v1_" + "a" * 64
ENV_TOKEN = "dop_v1_" + "e" * 64
ACCESS_TOKEN = "doo_v1_" + "f" * 64
ANY_URL = re.compile(r"^https?://[^/]+/.*$")
REGISTRY = {"registry": {"name": "example"}}


@pytest.fixture(autouse=True)
def no_env_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN", raising=False)


def fast_client(token: str | None = TOKEN, **kwargs: Any) -> DOCRClient:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limiter", RateLimiter(enabled=False))
    return DOCRClient(token, **kwargs)


def recorded(m: aioresponses) -> list[dict[str, Any]]:
    return [call.kwargs for calls in m.requests.values() for call in calls]


async def sent_authorization(client: DOCRClient) -> str:
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        async with client:
            await client.registries.get("example")
        [kwargs] = recorded(m)
    return str(kwargs["headers"]["Authorization"])


# --------------------------------------------------------------------------- token


async def test_token_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", ACCESS_TOKEN)
    assert await sent_authorization(fast_client(TOKEN)) == f"Bearer {TOKEN}"


async def test_digitalocean_token_comes_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", ACCESS_TOKEN)
    assert await sent_authorization(fast_client(None)) == f"Bearer {ENV_TOKEN}"


async def test_digitalocean_access_token_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", ACCESS_TOKEN)
    assert await sent_authorization(fast_client(None)) == f"Bearer {ACCESS_TOKEN}"


async def test_blank_env_token_is_skipped_and_env_values_are_stripped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "   ")
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", f"  {ACCESS_TOKEN}\n")  # e.g. read from a file
    assert await sent_authorization(fast_client(None)) == f"Bearer {ACCESS_TOKEN}"


def test_no_token_anywhere_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        DOCRClient()
    text = str(excinfo.value)
    assert "DIGITALOCEAN_TOKEN" in text
    assert "DIGITALOCEAN_ACCESS_TOKEN" in text


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(f" {TOKEN}", id="leading-space"),
        pytest.param(f"{TOKEN}\n", id="trailing-newline"),
        pytest.param(f"{TOKEN[:20]}\n{TOKEN[20:]}", id="inner-newline"),
        pytest.param(f"{TOKEN[:20]} {TOKEN[20:]}", id="inner-space"),
        pytest.param(f"{TOKEN}\t", id="tab"),
        pytest.param(f"{TOKEN}\r\n", id="crlf"),
        pytest.param(f"{TOKEN}\x00", id="nul"),
        pytest.param(f"{TOKEN}é", id="non-ascii"),
        pytest.param(12345, id="not-a-string"),
    ],
)
def test_malformed_token_is_refused(token: Any) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        DOCRClient(token)
    if isinstance(token, str) and token.strip():
        assert token.strip() not in str(excinfo.value)  # the error never repeats the token


def test_malformed_env_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_abc def")
    with pytest.raises(ConfigurationError) as excinfo:
        DOCRClient()
    assert "abc def" not in str(excinfo.value)


# --------------------------------------------------------------------------- base URL


@pytest.mark.parametrize(
    ("base_url", "kwargs", "expected"),
    [
        ("https://api.digitalocean.com", {}, "https://api.digitalocean.com"),
        ("https://api.digitalocean.com/", {}, "https://api.digitalocean.com"),
        ("https://proxy.internal:8443/do-api/", {}, "https://proxy.internal:8443/do-api"),
        ("http://127.0.0.1:8080", {}, "http://127.0.0.1:8080"),
        ("http://127.5.6.7", {}, "http://127.5.6.7"),
        ("http://localhost:9000", {}, "http://localhost:9000"),
        ("http://[::1]:8080", {}, "http://[::1]:8080"),
        ("http://proxy.internal:8080", {"allow_insecure_http": True}, "http://proxy.internal:8080"),
        ("http://10.0.0.5", {"allow_insecure_http": True}, "http://10.0.0.5"),
    ],
)
async def test_accepted_base_urls(base_url: str, kwargs: dict[str, Any], expected: str) -> None:
    async with fast_client(base_url=base_url, **kwargs) as client:
        assert client.base_url == expected


@pytest.mark.parametrize(
    ("base_url", "fragment"),
    [
        ("http://api.digitalocean.com", "http://"),
        ("http://10.0.0.5:8080", "http://"),
        ("http://localhost.evil.com", "http://"),
        ("http://127.0.0.1.nip.io", "http://"),
        ("https://user:secret@api.digitalocean.com", "credentials"),
        ("https://user@api.digitalocean.com", "credentials"),
        ("https://api.digitalocean.com?token=x", "query"),
        ("https://api.digitalocean.com/#frag", "fragment"),
        ("ftp://api.digitalocean.com", "http(s)"),
        ("api.digitalocean.com", "http(s)"),
        ("https://", "http(s)"),
        ("", "http(s)"),
    ],
)
def test_refused_base_urls(base_url: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        DOCRClient(TOKEN, base_url=base_url)
    assert fragment in str(excinfo.value)
    assert "secret" not in str(excinfo.value)  # credentials in the URL are never echoed


async def test_requests_go_to_the_base_url() -> None:
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        async with fast_client(base_url="http://127.0.0.1:8080/prefix/") as client:
            await client.registries.get("example")
    [(method, url)] = m.requests
    assert (method, str(url)) == ("GET", "http://127.0.0.1:8080/prefix/v2/registries/example")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_concurrency": 0},
        {"max_concurrency": 1.5},
        {"prefetch": -1},
        {"timeout": 0},
        {"timeout": -5},
        {"timeout": True},
        {"timeout": "30"},
    ],
)
def test_invalid_options_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        DOCRClient(TOKEN, **kwargs)


# --------------------------------------------------------------------------- sessions


async def test_caller_session_is_used_and_left_open() -> None:
    async with aiohttp.ClientSession(headers={"X-Caller-Session": "yes"}) as session:
        with aioresponses() as m:
            m.get(ANY_URL, payload=REGISTRY)
            client = fast_client(session=session)
            await client.registries.get("example")
            await client.aclose()
            await client.aclose()
        assert not session.closed
        [kwargs] = recorded(m)
        assert kwargs["headers"]["X-Caller-Session"] == "yes"  # sent through the caller's session
        assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
        with pytest.raises(ClientClosedError, match="closed"):
            await client.registries.get("example")
        assert not session.closed
    assert session.closed  # closed here, by its owner


def is_closed(session: aiohttp.ClientSession) -> bool:
    """Read ``closed`` afresh: mypy keeps an earlier assert's narrowing across an ``await``."""
    return session.closed


async def test_owned_session_is_closed_and_aclose_is_idempotent() -> None:
    client = fast_client()
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        await client.registries.get("example")
    session = client._transport._shared.session
    assert session is not None
    assert not session.closed
    await client.aclose()
    assert is_closed(session)
    await client.aclose()
    await client.aclose()


async def test_async_with_closes_the_owned_session() -> None:
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        async with fast_client() as client:
            await client.registries.get("example")
            session = client._transport._shared.session
    assert session is not None
    assert session.closed


async def test_no_session_is_opened_before_the_first_request() -> None:
    client = fast_client()
    assert client._transport._shared.session is None
    await client.aclose()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.registries.get("example"), id="get"),
        pytest.param(lambda c: c.tags.list("app", registry="example"), id="listing"),
        pytest.param(lambda c: c.with_options(retry=NO_RETRY).registries.get("example"), id="copy"),
    ],
)
async def test_request_after_aclose_raises(call: Any) -> None:
    client = fast_client()
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        await client.registries.get("example")
        await client.aclose()
        with pytest.raises(ClientClosedError, match="closed"):
            await call(client)
        assert sum(len(calls) for calls in m.requests.values()) == 1


# --------------------------------------------------------------------------- headers


async def test_user_agent_and_headers() -> None:
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY)
        async with fast_client() as client:
            await client.registries.get("example")
    [kwargs] = recorded(m)
    headers = kwargs["headers"]
    user_agent = headers["User-Agent"]
    assert (
        user_agent
        == f"docr-async/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"
    )
    assert re.fullmatch(
        r"docr-async/\d+\.\d+\.\d+\S* aiohttp/\d+\.\d+\.\d+\S* python/\d+\.\d+\.\d+\S*", user_agent
    )
    assert headers["Accept"] == "application/json"
    assert headers["Authorization"] == f"Bearer {TOKEN}"


# --------------------------------------------------------------------------- with_options


async def test_with_options_shares_limiter_and_session() -> None:
    limiter = RateLimiter(enabled=False)
    client = fast_client(rate_limiter=limiter)
    copy = client.with_options(timeout=5, retry=NO_RETRY)
    assert client.rate_limiter is limiter
    assert copy.rate_limiter is limiter
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY, repeat=True)
        await copy.registries.get("example")  # the copy opens the pool ...
        session = copy._transport._shared.session
        await client.registries.get("example")  # ... and the original uses the same one
        assert client._transport._shared.session is session
    assert copy.base_url == client.base_url
    assert copy.max_pages == client.max_pages
    assert copy.prefetch == client.prefetch
    await client.aclose()
    assert session is not None
    assert session.closed


async def test_with_options_timeout_applies() -> None:
    client = fast_client()
    with aioresponses() as m:
        m.get(ANY_URL, payload=REGISTRY, repeat=True)
        await client.registries.get("example")
        await client.with_options(timeout=5).registries.get("example")
        await client.with_options(timeout=Timeout(connect=1.5, total=2.5)).registries.get("example")
        await client.registries.get("example")  # the original keeps its own
    await client.aclose()
    timeouts = [kwargs["timeout"] for kwargs in recorded(m)]
    assert timeouts == [
        aiohttp.ClientTimeout(total=60.0, connect=10.0),
        aiohttp.ClientTimeout(total=5.0, connect=10.0),
        aiohttp.ClientTimeout(total=2.5, connect=1.5),
        aiohttp.ClientTimeout(total=60.0, connect=10.0),
    ]


async def test_with_options_retry_applies() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = fast_client(rate_limiter=RateLimiter(enabled=False, sleep=fake_sleep))
    retrying = client.with_options(retry=RetryPolicy(max_attempts=3, backoff_base=0.25, jitter=0.0))
    with aioresponses() as m:
        m.get(ANY_URL, status=503, payload={"id": "unavailable", "message": "try later"})
        with pytest.raises(ServerError):
            await client.registries.get("example")  # the original: NO_RETRY
        assert sum(len(calls) for calls in m.requests.values()) == 1

        m.get(ANY_URL, status=503, payload={"id": "unavailable", "message": "try later"})
        m.get(ANY_URL, status=503, payload={"id": "unavailable", "message": "try later"})
        m.get(ANY_URL, payload=REGISTRY)
        registry = await retrying.registries.get("example")
        assert sum(len(calls) for calls in m.requests.values()) == 4
    await client.aclose()
    assert registry.name == "example"
    assert sleeps == [0.25, 0.5]  # the copy's backoff, through the shared limiter's sleep


@pytest.mark.parametrize("timeout", [0, -1, True])
def test_with_options_validates_timeout(timeout: Any) -> None:
    with pytest.raises(ConfigurationError):
        fast_client().with_options(timeout=timeout)


@pytest.mark.parametrize("max_wait", ["5", -1, float("nan"), True])
def test_with_options_validates_max_wait(max_wait: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_wait"):
        fast_client().with_options(max_wait=max_wait)


def test_with_options_keeps_or_replaces_max_wait() -> None:
    client = fast_client(max_wait=7)
    assert client.with_options(timeout=5)._transport.max_wait == 7
    assert client.with_options(max_wait=None)._transport.max_wait is None
    assert client.with_options(max_wait=0)._transport.max_wait == 0
    assert client._transport.max_wait == 7  # the original is untouched


async def test_closing_a_copy_leaves_the_shared_pool_open() -> None:
    client = fast_client()
    try:
        with aioresponses() as m:
            m.get(ANY_URL, payload=REGISTRY, repeat=True)
            await client.registries.get("example")
            await client.with_options(timeout=5).aclose()
            await client.registries.get("example")
    finally:
        await client.aclose()
