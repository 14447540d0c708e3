"""Secrets: the token never leaks, and never travels to another host.

- Every resource method and every error path is driven at DEBUG; the suite-wide scanner
  (``docr_log_scanner`` in tests/conftest.py) must see records and no leak, and a capture of our own
  checks for the exact token. A hostile server echoes the token into every field it can: error
  ids, messages, request ids, HTML pages, invalid JSON, wrongly typed values.
- The token is in no repr, no ``str()`` of an exception, no traceback, no plan or report JSON, and
  no output of the ``docr`` CLI (wrong token, ``-o json``, saved plan and report files).
- ``Authorization`` is only ever sent to the configured base URL: pagination links pointing at an
  "evil host" on 127.0.0.2, redirects (301/302/303/307/308) to it and proxy variables in the
  environment reach nothing there.
- Plain ``http://`` base URLs are refused unless the host is loopback or the user opts in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import traceback
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import yaml
from aiohttp import web
from virtual_gc import gc_in_virtual_time

from docr_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    DOCRClient,
    DOCRError,
    InvalidResponseError,
    RateLimitBudgetError,
    RetryPolicy,
    ServerError,
    Timeout,
    TooManyRequestsError,
)
from docr_async.cleanup import CleanupExecutor, RetentionPolicy, build_plan, collect_garbage, execute_plan
from docr_async.testing import FakeDOCR, FaultConfig, GCConfig, RateLimitConfig, SeedSpec

from . import record

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

UNLIMITED = RateLimitConfig(hourly_limit=10**9, burst_limit=10**9)
FAST = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=0.01)
REGISTRY = "example"
SPEC = SeedSpec(repos=3, tags=30, untagged=4, days=60)
SPEC_FILE = Path(__file__).parent.parent / "data" / "docr-openapi.yaml"
ALL_OPERATIONS = frozenset(
    operation["operationId"]
    for item in yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))["paths"].values()
    for operation in item.values()
    if isinstance(operation, dict) and "operationId" in operation
)
"""Every operationId of the OpenAPI document (37)."""


# --------------------------------------------------------------------------------------------------
# Helpers: where a secret could surface


def texts_of(obj: object) -> list[str]:
    """Every text form of ``obj`` a user could print: str, repr, and for an exception its args,
    attributes and full traceback (causes and contexts included)."""
    out = [str(obj), repr(obj)]
    if isinstance(obj, BaseException):
        out.append("".join(traceback.format_exception(obj)))
        out.extend(repr(a) for a in obj.args)
        out.extend(repr(v) for v in vars(obj).values())
    return out


def assert_hidden(secret: str, *objects: object) -> None:
    for obj in objects:
        for text in texts_of(obj):
            assert secret not in text, f"the token leaked through {type(obj).__name__}: {text[:300]}"


class Capture(logging.Handler):
    """Every docr_async record, formatted with its traceback, as the user's log would show it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured_logs() -> Iterator[Capture]:
    capture = Capture()
    logger = logging.getLogger("docr_async")
    assert logger.getEffectiveLevel() == logging.DEBUG  # set for the session by tests/conftest.py
    logger.addHandler(capture)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)


def assert_logs_hidden(capture: Capture, *secrets: str) -> None:
    for line in capture.lines:
        for secret in secrets:
            assert secret not in line, f"the token leaked into a log record: {line[:300]}"


# --------------------------------------------------------------------------------------------------
# Servers: a hostile API that echoes the token, and an "evil host" that must never hear from us


@attrs.define
class Evil:
    """A server on 127.0.0.2 that records whoever calls it."""

    url: str = ""
    seen: list[tuple[str, str, str | None]] = attrs.field(factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.path_qs, request.headers.get("Authorization")))
        return web.json_response({"tags": [], "registry": {"name": "stolen"}})


@asynccontextmanager
async def serve(handler: Callable[[web.Request], Any], host: str = "127.0.0.1") -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def evil_host() -> AsyncIterator[Evil]:
    evil = Evil()
    async with serve(evil.handle, host="127.0.0.2") as url:
        evil.url = url
        yield evil


def echo_token_hook(request: web.Request, response: web.Response, body: bytes) -> None:
    """A FakeDOCR response hook that writes the presented token into every error response."""
    if response.status < 400:
        return
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    response.headers["x-request-id"] = f"req-{token}"
    if response.content_type == "application/json":
        response.body = json.dumps(
            {"id": f"id-{token}", "message": f"token {token} refused", "request_id": token}
        ).encode()
    else:
        response.body = f"<html><body>token {token}</body></html>".encode()


@attrs.define
class Hostile:
    """An API whose every answer echoes the presented token. The registry name picks the answer:
    ``e401``: that status, ``html``: a 502 page, ``badjson``, ``shape``: wrong types, ``drop``,
    ``stall``: no answer until released."""

    release: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        parts = request.path.split("/")
        scenario = parts[3] if len(parts) > 3 else ""
        headers = {"x-request-id": f"req-{token}", "Retry-After": "1000", "ratelimit-remaining": token}
        if scenario[:1] == "e" and scenario[1:].isdigit():
            error_body = {"id": f"id-{token}", "message": f"token {token} refused", "request_id": token}
            return web.json_response(error_body, status=int(scenario[1:]), headers=headers)
        if scenario == "html":
            return web.Response(
                status=502, text=f"<html>{token}</html>", content_type="text/html", headers=headers
            )
        # A 2xx keeps a clean request id: see test_a_token_echoed_into_a_success_request_id_is_scrubbed.
        ok_headers = {**headers, "x-request-id": "req-1"}
        if scenario == "badjson":
            return web.Response(
                text=f"{{not json {token}", content_type="application/json", headers=ok_headers
            )
        if scenario == "shape":
            wrong: dict[str, object] = {
                "created_at": token,
                "storage_usage_bytes": token,
                "updated_at": token,
                "tag_count": token,
            }
            body: dict[str, object] = {
                "registry": wrong,
                "garbage_collection": wrong,
                "tags": [wrong],
                "repositories": [wrong],
                "auths": token,
            }
            return web.json_response(
                body, status=201 if request.method == "POST" else 200, headers=ok_headers
            )
        if scenario == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if scenario == "stall":
            await self.release.wait()
        return web.json_response({}, status=404, headers=headers)


def error_calls(registry: str) -> list[tuple[str, Callable[[DOCRClient], Any]]]:
    return [
        ("registries.get", lambda c: c.registries.get(registry)),
        ("registries.docker_credentials", lambda c: c.registries.docker_credentials(registry)),
        ("tags.list", lambda c: c.tags.list("app", registry=registry).collect()),
        (
            "manifests.delete",
            lambda c: c.manifests.delete("sha256:" + "a" * 64, repository="app", registry=registry),
        ),
        ("garbage_collections.start", lambda c: c.garbage_collections.start(registry)),
        ("repositories.list", lambda c: c.repositories.list(registry).collect()),
    ]


SCENARIOS = {
    "e400": APIStatusError,
    "e401": AuthenticationError,
    "e403": APIStatusError,
    "e404": APIStatusError,
    "e409": APIStatusError,
    "e412": APIStatusError,
    "e422": APIStatusError,
    "e429": TooManyRequestsError,
    "e500": ServerError,
    "e503": ServerError,
    "html": ServerError,
    "badjson": InvalidResponseError,
    "shape": InvalidResponseError,
    "drop": APIConnectionError,
    "stall": APITimeoutError,
}


# --------------------------------------------------------------------------------------------------
# 1. Every resource method and every error path, at DEBUG: records seen, no leak


async def drive_every_method(client: DOCRClient, fake: FakeDOCR) -> list[object]:
    """Call all 41 public methods once against the fake; return what they gave back."""
    out: list[object] = []
    c = client
    digest = fake.state.registry(REGISTRY).repository("api").sorted_manifests()[-1].digest
    tag = fake.state.registry(REGISTRY).repository("web").sorted_tags()[-1].name
    out += [await c.registries.list(), await c.registries.get(REGISTRY), await c.registries.get_options()]
    out += [await c.registries.get_subscription(), await c.registries.update_subscription("professional")]
    out += [await c.registries.validate_name("fresh-name"), await c.registries.docker_credentials(REGISTRY)]
    out += [await c.registries.docker_credentials(REGISTRY, expiry_seconds=60, read_write=True)]
    out += [await c.repositories.list(REGISTRY, per_page=2).collect()]
    out += [await c.tags.list("api", registry=REGISTRY, per_page=3).collect()]
    out += [await c.manifests.list("api", registry=REGISTRY, per_page=3).collect()]
    await c.tags.delete(tag, repository="web", registry=REGISTRY)
    await c.manifests.delete(digest, repository="api", registry=REGISTRY)
    await c.repositories.delete("team/api", registry=REGISTRY)
    gc = await c.garbage_collections.start(REGISTRY)
    out += [gc, await c.garbage_collections.get_active(REGISTRY)]
    out += [await c.garbage_collections.cancel(gc.uuid, registry=REGISTRY)]
    out += [await c.garbage_collections.wait(gc.uuid, registry=REGISTRY, poll_interval=0.01)]
    out += [await c.garbage_collections.get(gc.uuid, registry=REGISTRY)]
    out += [await c.garbage_collections.list(REGISTRY).collect()]
    # The legacy family, on a one-registry account.
    legacy = c.legacy
    out += [await legacy.get(), await legacy.get_options(), await legacy.get_subscription()]
    out += [await legacy.update_subscription("basic"), await legacy.validate_name("other-name")]
    out += [await legacy.docker_credentials(expiry_seconds=60)]
    out += [
        await legacy.repositories.list(REGISTRY).collect(),
        await legacy.repositories.list_v1(REGISTRY).collect(),
    ]
    out += [await legacy.tags.list("api", registry=REGISTRY).collect()]
    out += [await legacy.manifests.list("api", registry=REGISTRY).collect()]
    legacy_tag = fake.state.registry(REGISTRY).repository("api").sorted_tags()[-1].name
    await legacy.tags.delete(legacy_tag, repository="api", registry=REGISTRY)
    untagged = [m for m in fake.state.registry(REGISTRY).repository("api").sorted_manifests() if not m.tags]
    await legacy.manifests.delete(untagged[0].digest, repository="api", registry=REGISTRY)
    lgc = await legacy.garbage_collections.start(REGISTRY, type=None)
    out += [lgc, await legacy.garbage_collections.get_active(REGISTRY)]
    out += [await legacy.garbage_collections.cancel(lgc.uuid, registry=REGISTRY)]
    out += [await legacy.garbage_collections.wait(lgc.uuid, registry=REGISTRY, poll_interval=0.01)]
    out += [await legacy.garbage_collections.get(lgc.uuid, registry=REGISTRY)]
    out += [await legacy.garbage_collections.list(REGISTRY).collect()]
    await legacy.delete()
    out += [await legacy.create("third", subscription_tier="professional", region="ams3")]
    out += [await c.registries.create("second", region="fra1")]
    await c.registries.delete("second")
    return out


async def test_every_method_and_every_error_path_at_debug_leaks_nothing(docr_log_scanner: Any) -> None:
    records_before, leaks_before = docr_log_scanner.records, len(docr_log_scanner.leaks)
    errors: list[DOCRError] = []
    with captured_logs() as capture:
        # Every public method, successfully, against the fake (echoing the token into any error).
        # Its collections move one status per read, not with the wall clock, so the collection
        # drive_every_method cancels is still running however slowly the machine answers.
        async with FakeDOCR(seed=5, seed_spec=SPEC, rate_limits=UNLIMITED) as fake:
            gc_in_virtual_time(fake)
            fake.response_hooks.append(echo_token_hook)
            token = fake.token
            async with DOCRClient(token, base_url=fake.url, retry=FAST) as client:
                results = await drive_every_method(client, fake)
                operations = {r.operation for r in fake.requests}
                assert operations >= ALL_OPERATIONS, sorted(ALL_OPERATIONS - operations)
                assert_hidden(token, client, client.with_options(timeout=5), client._transport, *results)
                for creds in results:
                    if type(creds).__name__ == "DockerCredentials":
                        secret = next(iter(creds.auths.values()))["auth"]  # type: ignore[attr-defined]
                        assert_hidden(secret, creds)
                        assert_logs_hidden(capture, secret)
            with pytest.raises(ClientClosedError) as closed:
                await client.registries.list()
            errors.append(closed.value)

        # A wrong token, a token revoked in the middle of a cleanup, a garbage collection.
        async with FakeDOCR(
            seed=5, seed_spec=SPEC, rate_limits=UNLIMITED, gc=GCConfig(step_seconds=0.01)
        ) as fake:
            fake.response_hooks.append(echo_token_hook)
            async with DOCRClient(token, base_url=fake.url, retry=FAST) as client:
                async with DOCRClient("dop_v1_" + "f" * 64, base_url=fake.url, retry=FAST) as wrong:
                    with pytest.raises(AuthenticationError) as auth_excinfo:
                        await wrong.registries.get(REGISTRY)
                    errors.append(auth_excinfo.value)
                    assert_hidden("dop_v1_" + "f" * 64, auth_excinfo.value, wrong)
                plan = await build_plan(client, REGISTRY, RetentionPolicy(keep_last=1, older_than="1d"))
                # Revoked once the first item is verified, so the DELETEs meet the 401s.
                revoke = lambda *_: fake.revoke_token(token)  # noqa: E731
                report = await CleanupExecutor(client, plan, check_gc=False, on_event=revoke).run()
                assert report.stopped_reason is not None  # the circuit breaker logged a warning
                assert_hidden(token, plan, report, plan.to_json(), report.to_json())
                fake.add_token(token)
                fake.response_hooks.remove(echo_token_hook)
                gc = await collect_garbage(client, REGISTRY, poll_interval=0.01)
                assert_hidden(token, gc, json.dumps(gc.to_dict()))

        # Every error path, against a server that echoes the token everywhere it can.
        hostile = Hostile()
        async with serve(hostile.handle) as url:
            for scenario, cls in SCENARIOS.items():
                for name, call in error_calls(scenario):
                    if (scenario, name) == ("shape", "manifests.delete"):
                        continue  # a delete reads no body, so a wrongly typed one is no error
                    timeout = Timeout(total=0.05 if scenario == "stall" else 10.0)
                    async with DOCRClient(
                        token, base_url=url, retry=FAST, timeout=timeout, max_wait=5.0
                    ) as client:
                        with pytest.raises(DOCRError) as excinfo:
                            await call(client)
                        if not isinstance(excinfo.value, cls):
                            pytest.fail(f"{scenario} {name}: {excinfo.value!r} is not a {cls.__name__}")
                        errors.append(excinfo.value)
                        if scenario == "e429":  # the client now waits 1000 s: more than max_wait
                            with pytest.raises(RateLimitBudgetError) as budget:
                                await client.registries.get("e200")
                            errors.append(budget.value)
            hostile.release.set()

    assert_hidden(token, *errors)
    assert_logs_hidden(capture, token)
    assert len(errors) >= len(SCENARIOS) * 6
    assert len(capture.lines) > 150
    assert docr_log_scanner.records - records_before >= len(capture.lines)
    assert len(docr_log_scanner.leaks) == leaks_before
    record(
        "secrets",
        methods_driven=41,
        api_operations_driven=len(ALL_OPERATIONS),
        error_paths=len(errors),
        log_records_scanned=len(capture.lines),
    )


async def test_a_token_echoed_into_a_pagination_link_is_scrubbed() -> None:
    token = "s3cr3t-token-for-the-link-test-0123456789"  # not token-shaped: the session scanner stays quiet
    served = 0

    async def api(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        if "page=2" in request.query_string:
            return web.json_response({"id": "server_error", "message": "oops"}, status=500)
        link = f"https://api.digitalocean.com{request.path}?page=2&per_page=1&echo={token}"
        return web.json_response({"tags": [{"tag": "v1"}], "links": {"pages": {"next": link}}})

    with captured_logs() as capture:
        async with serve(api) as url, DOCRClient(token, base_url=url, retry=FAST) as client:
            with pytest.raises(ServerError) as excinfo:
                await client.tags.list("app", registry=REGISTRY, per_page=1).collect()
    assert served == 3
    assert_hidden(token, excinfo.value)
    assert_logs_hidden(capture, token)


async def test_a_token_echoed_into_a_success_request_id_is_scrubbed() -> None:
    token = "dop_v1_" + "4" * 64

    async def api(request: web.Request) -> web.Response:
        body = {"tags": [{"tag": "v1"}]} if "tags" in request.path else "not json"
        return web.json_response(body, headers={"x-request-id": f"req-{token}"})

    with captured_logs() as capture:
        async with serve(api) as url, DOCRClient(token, base_url=url, retry=FAST) as client:
            page = await client.tags.list("app", registry=REGISTRY)
            with pytest.raises(InvalidResponseError) as excinfo:
                await client.registries.get(REGISTRY)
    assert_logs_hidden(capture, token)
    assert_hidden(token, excinfo.value, page)


# --------------------------------------------------------------------------------------------------
# 2. Authorization goes to the configured base URL only


async def test_pagination_links_to_another_host_are_followed_on_the_base_url_only() -> None:
    async with evil_host() as evil:
        async with FakeDOCR(seed=6, seed_spec=SPEC, rate_limits=UNLIMITED, public_url=evil.url) as fake:
            fake.state.start_gc(REGISTRY, "unreferenced blobs only", fake.clock() - 3600)
            async with DOCRClient(fake.token, base_url=fake.url, retry=FAST) as client:
                page = await client.tags.list("api", registry=REGISTRY, per_page=2)
                assert page.links["next"].startswith(evil.url)
                reg = fake.state.registry(REGISTRY)
                listed = 0
                for name in reg.sorted_repository_names():
                    repo = reg.repository(name)
                    tags = await client.tags.list(name, registry=REGISTRY, per_page=2).collect()
                    manifests = await client.manifests.list(name, registry=REGISTRY, per_page=2).collect()
                    assert [t.tag for t in tags] == [t.name for t in repo.sorted_tags()]
                    assert [m.digest for m in manifests] == [m.digest for m in repo.sorted_manifests()]
                    listed += len(tags) + len(manifests)
                repos = await client.repositories.list(REGISTRY, per_page=1).collect()
                v1 = await client.legacy.repositories.list_v1(REGISTRY, per_page=1).collect()
                gcs = await client.garbage_collections.list(REGISTRY, per_page=1).collect()
                assert [r.name for r in repos] == [r.name for r in v1] == reg.sorted_repository_names()
                assert len(gcs) == 1
        assert evil.seen == []
    record("secrets", link_pages_followed=len(fake.requests), link_items_checked=listed + len(repos) * 2)


async def test_a_next_link_with_another_host_and_path_keeps_the_base_url_and_path() -> None:
    seen: list[str] = []
    async with evil_host() as evil:

        async def api(request: web.Request) -> web.Response:
            seen.append(request.path_qs)
            page = int(request.query.get("page", "1"))
            pages = (
                {"next": f"{evil.url}/v2/registries/other/steal?page={page + 1}&per_page=1"}
                if page < 3
                else {}
            )
            return web.json_response({"tags": [{"tag": f"t{page}"}], "links": {"pages": pages}})

        async with serve(api) as url, DOCRClient("dop_v1_" + "1" * 64, base_url=url, retry=FAST) as client:
            tags = await client.tags.list("app", registry=REGISTRY, per_page=1).collect()
        assert [t.tag for t in tags] == ["t1", "t2", "t3"]
        assert evil.seen == []
    path = "/v2/registries/example/repositories/app/tags"
    assert [s.split("?")[0] for s in seen] == [path] * 3


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
async def test_a_redirect_to_another_host_is_not_followed(status: int, method: str) -> None:
    hits: list[str | None] = []
    async with evil_host() as evil:

        async def api(request: web.Request) -> web.Response:
            hits.append(request.headers.get("Authorization"))
            return web.Response(
                status=status, headers={"Location": f"{evil.url}/steal", "x-request-id": "r-1"}
            )

        token = "dop_v1_" + "2" * 64
        async with serve(api) as url, DOCRClient(token, base_url=url, retry=FAST) as client:
            call: Callable[[], Awaitable[object]] = {
                "GET": lambda: client.registries.get(REGISTRY),
                "DELETE": lambda: client.registries.delete(REGISTRY),
                "POST": lambda: client.garbage_collections.start(REGISTRY),
            }[method]
            with pytest.raises(APIStatusError) as excinfo:
                await call()
        assert evil.seen == []
    assert type(excinfo.value) is APIStatusError
    assert (excinfo.value.status, excinfo.value.request_id) == (status, "r-1")
    assert hits == [f"Bearer {token}"]  # sent once, to the base URL, and not retried
    assert_hidden(token, excinfo.value)
    record("secrets", redirects_refused=1)


async def test_proxy_variables_in_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    async with evil_host() as evil:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, evil.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with (
            FakeDOCR(seed=7, seed_spec=SPEC, rate_limits=UNLIMITED) as fake,
            DOCRClient(fake.token, base_url=fake.url, retry=FAST) as client,
        ):
            assert (await client.registries.get(REGISTRY)).name == REGISTRY
        assert evil.seen == []
        assert len(fake.requests) == 1


# --------------------------------------------------------------------------------------------------
# 3. Plain http:// only to loopback, unless the user opts in

REFUSED_HTTP = [
    "http://api.digitalocean.com",
    "http://10.0.0.1:8080",
    "http://192.168.1.10",
    "http://[fe80::1]",
    "http://localhost.evil.com",
    "http://127.0.0.1.nip.io",
    "http://127.0.0.1@evil.com",
    "http://evil.com:80@127.0.0.1",
    "http://evil.com/127.0.0.1",
    "http://evil.com#@127.0.0.1",
    "http://evil.com?@127.0.0.1",
    "http://2130706433",
    "http://0x7f000001",
    "http://0177.0.0.1",
    "http://127.1",
    "http://localhost.",
    "http://LOCALHOST.evil.com",
    "HTTP://API.DIGITALOCEAN.COM",
    "http://user:pass@localhost",
    "ftp://127.0.0.1",
    "127.0.0.1:8080",
    "//127.0.0.1",
]
LOOPBACK_HTTP = [
    "http://127.0.0.1:8080",
    "http://127.0.0.2",
    "http://127.255.255.254:1",
    "http://localhost",
    "http://LOCALHOST:9",
    "http://[::1]:8080",
]


@pytest.mark.parametrize("base_url", REFUSED_HTTP)
def test_plain_http_to_a_non_loopback_host_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        DOCRClient("dop_v1_" + "3" * 64, base_url=base_url)
    assert "dop_v1_" not in str(excinfo.value)
    record("secrets", base_urls_refused=1)


@pytest.mark.parametrize("base_url", LOOPBACK_HTTP)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    client = DOCRClient("dop_v1_" + "3" * 64, base_url=base_url)
    assert client.base_url.startswith("http://")


@pytest.mark.parametrize("base_url", ["http://api.internal.example", "http://10.0.0.1:8080"])
def test_plain_http_elsewhere_needs_the_explicit_opt_in(base_url: str) -> None:
    client = DOCRClient("dop_v1_" + "3" * 64, base_url=base_url, allow_insecure_http=True)
    assert client.base_url == base_url


# --------------------------------------------------------------------------------------------------
# 4. The docr CLI: wrong token, -o json, plan and report files

DOCR_SCRIPT = Path(sys.executable).with_name("docr")


def docr_command() -> list[str] | None:
    try:
        import docr_async.cli  # noqa: F401
    except ImportError:
        return None
    if DOCR_SCRIPT.exists():
        return [str(DOCR_SCRIPT)]
    found = shutil.which("docr")
    return [found] if found else [sys.executable, "-m", "docr_async.cli"]


@attrs.frozen
class Run:
    code: int
    stdout: str
    stderr: str


async def run_docr(*args: str, env_token: str | None) -> Run:
    command = docr_command()
    if command is None:
        pytest.skip("the docr CLI does not exist yet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITALOCEAN_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    if env_token is not None:
        env["DIGITALOCEAN_TOKEN"] = env_token
    proc = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def test_the_cli_never_prints_the_token(tmp_path: Path) -> None:
    wrong = "dop_v1_" + "e" * 64
    async with FakeDOCR(
        seed=8, seed_spec=SPEC, rate_limits=UNLIMITED, gc=GCConfig(step_seconds=0.01)
    ) as fake:
        fake.response_hooks.append(echo_token_hook)
        base = ["--base-url", fake.url, "-o", "json"]
        runs: dict[str, Run] = {}
        # A wrong token from the environment, and one passed as an argument: 401, echoed back.
        runs["env"] = await run_docr(*base, "registries", "list", env_token=wrong)
        runs["arg"] = await run_docr(
            *base, "--token", wrong, "tags", "list", "api", "-r", REGISTRY, env_token=None
        )
        # The right token, a cleanup whose deletions all fail with the token echoed in the errors.
        fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(500,), methods=("DELETE",)))
        plan_file, report_file = tmp_path / "plan.json", tmp_path / "report.json"
        runs["cleanup"] = await run_docr(
            *base,
            "--retries",
            "0",
            "cleanup",
            REGISTRY,
            "--keep-last",
            "1",
            "--apply",
            "--save-plan",
            str(plan_file),
            "--report",
            str(report_file),
            env_token=fake.token,
        )
        fake.clear_faults()
    for name in ("env", "arg"):
        assert runs[name].code == 3, runs[name]
        assert "401" in runs[name].stderr
        assert "<redacted>" in runs[name].stderr  # the echoed token was there, and was scrubbed
    assert runs["cleanup"].code == 1, runs["cleanup"]
    report = json.loads(report_file.read_text())
    assert report["counts"]["failed"] > 0
    assert any("500" in (item["detail"] or "") for item in report["items"])
    json.loads(plan_file.read_text())
    for run in runs.values():
        for secret in (wrong, fake.token):
            assert secret not in run.stdout
            assert secret not in run.stderr
        assert "Traceback" not in run.stderr
    for path in (plan_file, report_file):
        text = path.read_text()
        assert fake.token not in text
        assert wrong not in text
    record("secrets", cli_runs=len(runs), files_scanned=2)


# --------------------------------------------------------------------------------------------------
# 5. Plan and report JSON


async def test_plan_and_report_json_never_hold_the_token() -> None:
    async with FakeDOCR(seed=9, seed_spec=SPEC, rate_limits=UNLIMITED) as fake:
        fake.response_hooks.append(echo_token_hook)
        async with DOCRClient(fake.token, base_url=fake.url, retry=FAST) as client:
            plan = await build_plan(client, REGISTRY, RetentionPolicy(keep_last=2, delete_untagged=True))
            fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(500, 502, 503), methods=("DELETE",)))
            report = await execute_plan(client, plan)
    assert report.counts["failed"] == len(plan.deletions) > 0
    details = [r.detail or "" for r in report.results]
    assert all("refused" in d or "non-JSON" in d for d in details)  # the echoed message made it in
    assert_hidden(fake.token, plan, report, *report.results, plan.to_json(), report.to_json())
    record("secrets", report_items_scanned=len(report.results))
