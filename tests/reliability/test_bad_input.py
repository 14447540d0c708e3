"""Bad input, refused with a typed error before any request; bad responses, mapped to typed errors.

1. A matrix over EVERY public resource method (both API families) and every argument it takes:
   each bad value raises ``ValidationError`` (a ``DOCRError`` and a ``ValueError``) and the fake's
   request log stays unchanged. A control test proves the good values are accepted, so the matrix
   cannot pass vacuously; a completeness test fails when a method or parameter is added without
   bad values.
2. Bad retention policies and bad plan files.
3. Bad responses from a tiny raw HTTP server of our own on 127.0.0.1 (so the bytes on the wire are
   exactly what we say): invalid JSON, wrong types, missing fields, truncated bodies, stalls,
   malformed HTTP, compression bombs. Each ends in a typed error carrying the status and the
   request id when a response existed, within a bounded time, never a raw ``KeyError``,
   ``TypeError``, ``JSONDecodeError`` and the like.

The cases in ``BUGGY_RESPONSES`` and the decorated tests below once exposed SDK bugs (fixed since);
they stay as regression tests.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import pytest_asyncio

from docr_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DOCRClient,
    DOCRError,
    InvalidResponseError,
    NotFoundError,
    RateLimiter,
    RetryPolicy,
    ServerError,
    Timeout,
    ValidationError,
)
from docr_async.cleanup import CleanupPlan, Deletion, DeletionKind, Pattern, RetentionPolicy, parse_duration
from docr_async.testing import FakeDOCR, RateLimitConfig, SeedSpec

from . import record

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
"""Async tests share the module's event loop, hence its fake, client and raw server."""


RAW_ERRORS = (
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
    OverflowError,
    json.JSONDecodeError,
)


def assert_no_raw_error_in_chain(err: BaseException) -> None:
    """No parsing error (KeyError, TypeError, JSONDecodeError ...) is chained onto a typed error."""
    seen: BaseException | None = err
    while seen is not None:
        assert not isinstance(seen, RAW_ERRORS) or isinstance(seen, DOCRError), repr(seen)
        # What a traceback shows: the cause, else the context unless suppressed (`from None`).
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


# ==================================================================================================
# 1. Every resource method rejects bad arguments before any request

DIGEST = "sha256:" + "a" * 64
GC_UUID = "eff0feee-49c7-4e8f-ba5c-a320c109c8a8"

GOOD: dict[str, Any] = {
    "registry": "example",
    "new_registry": "new-registry",
    "repository": "team/api",
    "tag": "v1.0.0",
    "digest": DIGEST,
    "uuid": GC_UUID,
    "per_page": 20,
    "page": 1,
    "page_token": "abc",
    "on_change": "raise",
    "type": "untagged manifests only",
    "tier": "basic",
    "region": "nyc3",
    "expiry_seconds": 3600,
    "read_write": False,
}

BAD: dict[str, list[Any]] = {
    "registry": [
        "", " ", "a" * 64, "Example", "ex ample", " example", "example ", "ex/ample", "ex%2Fample",
        "..", "ex\x00", "ex\n", "ex\x7f", "exämple", "ex😀", "options", "subscription",
        "validate-name", None, 5, b"example",
    ],
    "repository": [
        "", " ", "/app", "app/", "a//b", ".", "..", "../app", "a/../b", "./app", "a/./b", "App",
        "team/API", "my%2Fapp", "my%2fapp", "%2e%2e", "a" * 256, "app ", " app", "ap p", "ap\tp",
        "app\n", "app\r\n", "äpp", "app\x7f", "app\x00", "a:b", "a@b", "a?b", "a#b", "a\\b", "a_-b",
        "-app", "app-",
        "registry.digitalocean.com/example/app:v1",
        f"registry.digitalocean.com/example/app@{DIGEST}",
        "registry.digitalocean.com/other/app",
        "registry.digitalocean.com/example",
        None, 5, ["app"],
    ],
    "tag": [
        "", " ", "a/b", "../x", "..", ".hidden", "-x", "a" * 129, "v1:2", "v 1", "v1\n", "v1\x00",
        "ü", "v1%2F", "v1?x", "v1#x", "v1@x", None, 5,
    ],
    "digest": [
        "", "sha256:abc", "sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha256:" + "a" * 65,
        "sha256:" + "g" * 64, "md5:" + "a" * 32, "sha1:" + "a" * 40, " " + DIGEST, DIGEST + " ",
        DIGEST + "/x", DIGEST + "%2F", "sha256%3A" + "a" * 64, "a" * 64, "sha256:", None, 5,
    ],
    "uuid": ["", " ", " x", "x ", "a/b", "/", "ü", None, 5],
    "per_page": [0, -1, 201, 10**9, 1.5, math.nan, "20", True, False, None],
    "page": [0, -1, 1.5, math.nan, "2", True, None],
    "page_token": ["", 5, b"tok"],
    "on_change": ["", "ignore", "RAISE", "Reread", " raise", None, 5, True],
    "type": ["", "all", "untagged manifests", "UNTAGGED MANIFESTS ONLY", 5, ["unreferenced blobs only"]],
    "tier": ["", "gold", "Basic", "BASIC", " basic", 5, ["basic"]],
    "region": ["", "NYC3", "nyc", "nyc33", "fra1 ", "../x", "nyc3/x", "ny c3", 5],
    "expiry_seconds": [-1, -(2**63), 1.5, "3600", True, math.inf, math.nan],
    "read_write": ["yes", "true", "false", 1, 0, None],
}  # fmt: skip
BAD["new_registry"] = [*BAD["registry"], "-abc", "abc-", "1abc", "a" * 64]

# Which argument of which method takes which kind of value.
PARAM_FIELD = {
    "registry": "registry",
    "repository": "repository",
    "tag": "tag",
    "digest": "digest",
    "uuid": "uuid",
    "per_page": "per_page",
    "page": "page",
    "page_token": "page_token",
    "on_change": "on_change",
    "type": "type",
    "tier": "tier",
    "subscription_tier": "tier",
    "region": "region",
    "expiry_seconds": "expiry_seconds",
    "read_write": "read_write",
}
NEW_NAME_METHODS = {"create", "validate_name"}  # their `name` is a registry to create
# `wait`'s polling options are checked by test_gc_wait_polling_options_are_validated below.
WAIT_OPTIONS = {"timeout", "poll_interval", "max_poll_interval", "raise_on_failure"}
# The error's `field` may name a part of a pasted image reference.
ALLOWED_FIELDS = {
    "registry": {"registry"},
    "new_registry": {"registry"},
    "repository": {"repository", "registry", "tag", "digest", "image reference"},
    "tier": {"subscription_tier"},
}
NAMESPACES = (
    "registries",
    "repositories",
    "tags",
    "manifests",
    "garbage_collections",
    "legacy",
    "legacy.repositories",
    "legacy.tags",
    "legacy.manifests",
    "legacy.garbage_collections",
)
NO_INPUT = {
    "registries.list",
    "registries.get_options",
    "registries.get_subscription",
    "legacy.delete",
    "legacy.get",
    "legacy.get_options",
    "legacy.get_subscription",
}


def _namespace_class(path: str) -> type:
    target: Any = DOCRClient("dop_v1_" + "0" * 64)  # never sends anything: no session is opened
    for part in path.split("."):
        target = getattr(target, part)
    return type(target)


def public_methods() -> dict[str, list[str]]:
    """``{"tags.delete": ["tag", "repository", "registry"], ...}`` for every public method."""
    out: dict[str, list[str]] = {}
    for path in NAMESPACES:
        for name, func in inspect.getmembers(_namespace_class(path), inspect.isfunction):
            if not name.startswith("_"):
                # `*args` is wait()'s deprecated positional order (tests/resources/test_gc_wait_arguments.py).
                params = inspect.signature(func).parameters.values()
                out[f"{path}.{name}"] = [p.name for p in params if p.kind is not p.VAR_POSITIONAL][1:]
    return out


def field_of(method_id: str, param: str) -> str | None:
    if param == "name":
        return "new_registry" if method_id.rsplit(".", 1)[1] in NEW_NAME_METHODS else "registry"
    return PARAM_FIELD.get(param)


def matrix() -> list[tuple[str, str, str]]:
    """``(method id, parameter, field)`` for every validated argument of every method."""
    rows = []
    for method_id, params in public_methods().items():
        for param in params:
            field = field_of(method_id, param)
            if field is not None:
                rows.append((method_id, param, field))
    return rows


MATRIX = matrix()
MATRIX_CASES = sum(len(BAD[field]) for _, _, field in MATRIX)


def _default(client: DOCRClient, method_id: str, param: str) -> Any:
    *path, name = method_id.split(".")
    target: Any = client
    for part in path:
        target = getattr(target, part)
    return inspect.signature(getattr(target, name)).parameters[param].default


def bind(client: DOCRClient, method_id: str, **override: Any) -> Callable[[], Any]:
    """The method, with ``override`` for some arguments and GOOD values for every other one it validates."""
    *path, name = method_id.split(".")
    target: Any = client
    for part in path:
        target = getattr(target, part)
    method = getattr(target, name)
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(method).parameters:
        if param in override:
            kwargs[param] = override[param]
        elif (field := field_of(method_id, param)) is not None:
            kwargs[param] = GOOD[field]
    if name == "wait":
        kwargs.setdefault("timeout", 2.0)
        kwargs.setdefault("poll_interval", 0.01)
    return lambda: method(**kwargs)


async def call(make: Callable[[], Any]) -> Any:
    """Call a resource method (listings return a pager: await its first page), guarded against a hang.

    The guard is generous (60 s): it only turns a hang into a failure, and a loaded CI machine must
    never trip it (a bad input is refused before any request, in microseconds).
    """
    async with asyncio.timeout(60):
        result = make()
        if inspect.isawaitable(result):
            return await result
        return result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeDOCR]:
    unlimited = RateLimitConfig(hourly_limit=10**9, burst_limit=10**9)
    async with FakeDOCR(seed=3, seed_spec=SeedSpec(repos=2, tags=6, untagged=1), rate_limits=unlimited) as f:
        yield f


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(fake: FakeDOCR) -> AsyncIterator[DOCRClient]:
    retry = RetryPolicy(max_attempts=2, backoff_base=0.001)
    async with DOCRClient(
        fake.token, base_url=fake.url, retry=retry, rate_limiter=RateLimiter(enabled=False)
    ) as c:
        yield c


def test_every_public_method_is_in_the_matrix_or_takes_no_input() -> None:
    methods = public_methods()
    in_matrix = {method_id for method_id, _, _ in MATRIX}
    assert in_matrix | NO_INPUT == methods.keys()
    assert not in_matrix & NO_INPUT
    unmapped = [
        (method_id, param)
        for method_id, params in methods.items()
        for param in params
        if field_of(method_id, param) is None and param not in WAIT_OPTIONS
    ]
    assert unmapped == [], "add bad values for these new parameters"


@MODULE_LOOP
@pytest.mark.parametrize(("method_id", "param", "field"), MATRIX, ids=[f"{m}-{p}" for m, p, _ in MATRIX])
async def test_bad_argument_is_refused_before_any_request(
    client: DOCRClient, fake: FakeDOCR, method_id: str, param: str, field: str
) -> None:
    sent_before, attempts_before = len(fake.requests), client.stats.attempts
    # An optional registry (default None: the client's default registry) accepts None.
    optional = _default(client, method_id, param) is None
    for value in [v for v in BAD[field] if not (v is None and optional)]:
        with pytest.raises(ValidationError) as excinfo:
            await call(bind(client, method_id, **{param: value}))
        err = excinfo.value
        assert isinstance(err, DOCRError)
        assert isinstance(err, ValueError)
        assert err.field in ALLOWED_FIELDS.get(field, {param}), (value, err)
        assert str(err).startswith(f"invalid {err.field} ")
        assert len(fake.requests) == sent_before, f"{method_id}({param}={value!r}) sent a request"
        assert client.stats.attempts == attempts_before
    record("bad_input", argument_cases=len(BAD[field]))


@MODULE_LOOP
@pytest.mark.parametrize("method_id", sorted({m for m, _, _ in MATRIX}))
async def test_good_arguments_pass_validation(client: DOCRClient, fake: FakeDOCR, method_id: str) -> None:
    """Control: with every argument good, each method gets as far as the network."""
    sent_before = len(fake.requests)
    try:
        await call(bind(client, method_id))
    except ValidationError as exc:
        pytest.fail(f"a GOOD value was refused: {exc}")
    except DOCRError:
        pass  # 404, 409, 412 ...: the fake answered, which is all this test needs
    assert len(fake.requests) > sent_before


ODD_UUIDS = [".", "..", "?cancel=1", "#x", "%2F", "%2e%2e", "a\\b", "a;b", "a\tb", "a\x00b", "a\nb"]


@MODULE_LOOP
@pytest.mark.parametrize("method", ["cancel", "get", "wait"])
@pytest.mark.parametrize("uuid", ODD_UUIDS)
async def test_gc_uuid_that_could_change_the_url_is_refused(
    client: DOCRClient, fake: FakeDOCR, method: str, uuid: str
) -> None:
    sent_before = len(fake.requests)
    with pytest.raises(ValidationError):
        await call(bind(client, f"garbage_collections.{method}", uuid=uuid))
    assert len(fake.requests) == sent_before


@MODULE_LOOP
@pytest.mark.parametrize(
    "options",
    [
        {"poll_interval": 0},
        {"poll_interval": -1},
        {"poll_interval": math.nan},
        {"max_poll_interval": 0},
        {"timeout": -1},
    ],
    ids=["poll-0", "poll-negative", "poll-nan", "max-poll-0", "timeout-negative"],
)
async def test_gc_wait_polling_options_are_validated(
    client: DOCRClient, fake: FakeDOCR, options: dict[str, float]
) -> None:
    sent_before = len(fake.requests)
    with pytest.raises(ValidationError):
        await call(bind(client, "garbage_collections.wait", **options))
    assert len(fake.requests) == sent_before


# ==================================================================================================
# 2. Bad retention policies and bad plan files

BAD_DURATIONS: list[Any] = [
    "", " ", "30", "30x", "d30", "-5d", "1.d", "30 days", "1d-1h", "5d 3", "∞d", "1e3d", "nan", "inf",
    "1d 2d", "½d", [], {}, True, -1, -0.5, timedelta(days=-1),
]  # fmt: skip


@pytest.mark.parametrize("value", BAD_DURATIONS, ids=repr)
def test_bad_duration_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        parse_duration(value)
    with pytest.raises(ValidationError):
        RetentionPolicy(older_than=value)
    with pytest.raises(ValidationError):
        RetentionPolicy(keep_last=1, delete_untagged=True, untagged_older_than=value)
    record("bad_input", policy_cases=3)


@pytest.mark.parametrize("value", ["9999999999999d", 10**30, math.inf, -math.inf, math.nan, 1e300], ids=repr)
def test_huge_or_non_finite_duration_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(older_than=value)


BAD_PATTERNS: list[Any] = ["", "re:(", "re:[a-", "re:*", "re:(?P<x>", "re:a{2,1}", 5, None, b"v1"]


@pytest.mark.parametrize("value", BAD_PATTERNS, ids=repr)
@pytest.mark.parametrize(
    "field",
    ["include_tags", "exclude_tags", "protected_tags", "include_repositories", "exclude_repositories"],
)
def test_bad_pattern_is_refused(field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {field: [value]}
    with pytest.raises(ValidationError):
        RetentionPolicy(keep_last=1, **kwargs)
    record("bad_input", policy_cases=1)


@pytest.mark.parametrize("value", [None, 5], ids=repr)
def test_pattern_list_of_the_wrong_type_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(keep_last=1, include_tags=value)


def test_a_single_pattern_object_is_accepted_like_a_single_string() -> None:
    policy = RetentionPolicy(keep_last=1, include_tags=Pattern("v1.*"))
    assert policy.include_tags == RetentionPolicy(keep_last=1, include_tags="v1.*").include_tags


@pytest.mark.parametrize("value", [-1, 1.5, "5", True, [5], math.nan], ids=repr)
def test_bad_keep_last_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(keep_last=value)
    record("bad_input", policy_cases=1)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"exclude_tags": ["x"]}, {"protected_tags": []}, {"keep_last": 1, "delete_untagged": "yes"}],
    ids=["nothing", "only-excludes", "only-protected", "untagged-not-bool"],
)
def test_policy_that_deletes_everything_or_is_malformed_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(**kwargs)
    record("bad_input", policy_cases=1)


def a_plan() -> CleanupPlan:
    policy = RetentionPolicy(keep_last=2, delete_untagged=True)
    deletions = (
        Deletion(kind=DeletionKind.TAG, repository="team/api", digest=DIGEST, tag="v1"),
        Deletion(
            kind=DeletionKind.MANIFEST, repository="team/api", digest="sha256:" + "b" * 64, tags=("v2",)
        ),
    )
    return CleanupPlan(
        registry="example", created_at=datetime(2026, 1, 1, tzinfo=UTC), policy=policy, deletions=deletions
    )


def tampered(**changes: Any) -> str:
    data = a_plan().to_dict()
    for dotted, value in changes.items():
        target: Any = data
        *path, last = dotted.split("__")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return json.dumps(data)


def test_untouched_plan_file_round_trips() -> None:
    plan = a_plan()
    assert CleanupPlan.from_json(plan.to_json()) == plan


BAD_PLAN_FILES: dict[str, str] = {
    "empty": "",
    "not-json": "delete everything",
    "truncated": a_plan().to_json()[:-20],
    "array": "[]",
    "string": '"plan"',
    "null": "null",
    "version-missing": tampered(version=KeyError),
    "version-2": tampered(version=2),
    "version-string": tampered(version="1"),
    "version-null": tampered(version=None),
    "registry-upper": tampered(registry="Example"),
    "registry-traversal": tampered(registry="../other"),
    "registry-missing": tampered(registry=KeyError),
    "created-garbage": tampered(created_at="yesterday"),
    "policy-null": tampered(policy=None),
    "policy-deletes-all": tampered(
        policy={"keep_last": None, "older_than_seconds": None, "include_tags": [], "delete_untagged": False}
    ),
    "policy-bad-pattern": tampered(policy__include_tags=["re:("]),
    "policy-bad-keep-last": tampered(policy__keep_last=-3),
    "deletions-null": tampered(deletions=None),
    "deletions-object": tampered(deletions={"0": {}}),
    "deletion-not-object": tampered(deletions=[5]),
    "kind-unknown": tampered(deletions__0__kind="registry"),
    "repo-traversal": tampered(deletions__0__repository="../../v2/registries/other"),
    "repo-encoded": tampered(deletions__0__repository="team%2Fapi"),
    "repo-upper": tampered(deletions__0__repository="Team/API"),
    "repo-empty-component": tampered(deletions__0__repository="team//api"),
    "repo-missing": tampered(deletions__0__repository=KeyError),
    "tag-slash": tampered(deletions__0__tag="v1/../../x"),
    "tag-query": tampered(deletions__0__tag="v1?x=1"),
    "tag-missing": tampered(deletions__0__tag=KeyError),
    "digest-short": tampered(deletions__0__digest="sha256:abc"),
    "digest-path": tampered(deletions__1__digest=DIGEST + "/../x"),
    "digest-missing": tampered(deletions__1__digest=KeyError),
    "tags-bad-entry": tampered(deletions__1__tags=["v2", "../x"]),
    "tags-not-list": tampered(deletions__1__tags=5),
    "updated-garbage": tampered(deletions__0__updated_at="soon"),
    "kept-not-object": tampered(kept=[1]),
    "counter-not-int": tampered(tags_scanned="many"),
}


@pytest.mark.parametrize("name", BAD_PLAN_FILES)
def test_bad_plan_file_is_refused(name: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        CleanupPlan.from_json(BAD_PLAN_FILES[name])
    assert_no_raw_error_in_chain(excinfo.value)
    record("bad_input", plan_cases=1)


@pytest.mark.parametrize(
    "text",
    [
        tampered(tags_scanned=math.inf),
        tampered(created_at=1e300),
        tampered(deletions__0__updated_at=1e300),
        tampered(policy__older_than_seconds=math.inf),
    ],
    ids=["counter-inf", "created-1e300", "updated-1e300", "older-than-inf"],
)
def test_plan_file_with_out_of_range_numbers_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        CleanupPlan.from_json(text)


def test_deeply_nested_plan_file_is_refused() -> None:
    with pytest.raises(ValidationError):
        CleanupPlan.from_json("[" * 100_000 + "]" * 100_000)


def test_plan_file_policy_flag_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        CleanupPlan.from_json(tampered(policy__delete_untagged="false"))


def test_plan_file_tags_given_as_a_string_are_refused() -> None:
    with pytest.raises(ValidationError):
        CleanupPlan.from_json(tampered(deletions__1__tags="v2"))


# ==================================================================================================
# 3. Bad responses from a raw HTTP server of our own

Responder = Callable[[asyncio.StreamWriter, asyncio.Event], Awaitable[bool]]


@attrs.define
class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 that answers every request with the current responder.

    A responder writes raw bytes and returns whether the connection may be reused. ``release``
    ends every stalled responder (set when a test finishes), so nothing waits on a timer.
    """

    responder: Responder | None = None
    release: asyncio.Event = attrs.field(factory=asyncio.Event)
    requests: list[bytes] = attrs.field(factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                assert self.responder is not None
                if not await self.responder(writer, self.release):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def raw() -> AsyncIterator[RawServer]:
    state = RawServer()
    state.server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    try:
        yield state
    finally:
        state.release.set()
        state.server.close()
        await state.server.wait_closed()


REQUEST_ID = "req-bad-response-1"
CAP = 64 * 1024


def http(
    body: bytes | str = b"",
    *,
    status: str = "200 OK",
    ctype: str | None = "application/json",
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> bytes:
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status}", f"x-request-id: {REQUEST_ID}"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
    if not any(k.lower() == "transfer-encoding" for k in headers or {}):
        lines.append(f"Content-Length: {len(payload) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def reply(data: bytes, *, keep_alive: bool = True) -> Responder:
    async def respond(writer: asyncio.StreamWriter, _: asyncio.Event) -> bool:
        writer.write(data)
        await writer.drain()
        return keep_alive

    return respond


def stall(prefix: bytes = b"") -> Responder:
    """Send ``prefix`` (maybe nothing), then neither finish nor close until the test ends."""

    async def respond(writer: asyncio.StreamWriter, release: asyncio.Event) -> bool:
        writer.write(prefix)
        await writer.drain()
        await release.wait()
        return False

    return respond


def chunked(*chunks: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = http(headers={"Transfer-Encoding": "chunked"})
    return head + body


def registry_get(c: DOCRClient) -> Awaitable[Any]:
    return c.registries.get("example")


def tags_all(c: DOCRClient) -> Awaitable[Any]:
    return c.tags.list("team/api", registry="example").collect()


def manifests_all(c: DOCRClient) -> Awaitable[Any]:
    return c.manifests.list("team/api", registry="example").collect()


def gc_start(c: DOCRClient) -> Awaitable[Any]:
    return c.garbage_collections.start("example")


TAG = {"registry_name": "example", "repository": "team/api", "tag": "v1", "manifest_digest": DIGEST}
GZIP_BOMB = gzip.compress(json.dumps({"registry": {"name": "example"}, "pad": "a" * 2_000_000}).encode())


@attrs.frozen
class Typed:
    """The call must raise ``cls``; ``status``: the status it carries (None: no response)."""

    cls: type[DOCRError]
    status: int | None = 200
    fragment: str = ""


@attrs.frozen
class Tolerated:
    """A harmless oddity: the call must return exactly ``expected``."""

    expected: Callable[[Any], bool]


@attrs.frozen
class Case:
    responder: Responder
    call: Callable[[DOCRClient], Awaitable[Any]]
    expect: Typed | Tolerated
    timeout: float = 10.0


BAD_RESPONSES: dict[str, Case] = {
    # -- not JSON, or not the JSON the API documents
    "invalid-json": Case(
        reply(http("{not json")), registry_get, Typed(InvalidResponseError, 200, "not valid JSON")
    ),
    "truncated-json": Case(
        reply(http('{"registry": {"name": "ex')), registry_get, Typed(InvalidResponseError)
    ),
    "html-200": Case(
        reply(http("<html><body>Maintenance</body></html>", ctype="text/html")),
        registry_get,
        Typed(InvalidResponseError, 200, "not valid JSON"),
    ),
    "invalid-utf8": Case(
        reply(http(b'{"registry": {"name": "\xff"}}')), registry_get, Typed(InvalidResponseError)
    ),
    "tags-is-a-string": Case(
        reply(http('{"tags": "x"}')), tags_all, Typed(InvalidResponseError, 200, "listing shape")
    ),
    "tags-is-an-object": Case(reply(http('{"tags": {"v1": {}}}')), tags_all, Typed(InvalidResponseError)),
    "tag-is-a-number": Case(reply(http('{"tags": [5]}')), tags_all, Typed(InvalidResponseError)),
    "registry-is-a-list": Case(reply(http('{"registry": []}')), registry_get, Typed(InvalidResponseError)),
    "registry-is-null": Case(reply(http('{"registry": null}')), registry_get, Typed(InvalidResponseError)),
    "registry-missing": Case(reply(http('{"registries": []}')), registry_get, Typed(InvalidResponseError)),
    "body-is-a-list": Case(reply(http("[]")), registry_get, Typed(InvalidResponseError)),
    "body-is-null": Case(reply(http("null")), registry_get, Typed(InvalidResponseError)),
    "listing-is-a-list": Case(
        reply(http("[]")), tags_all, Typed(InvalidResponseError, 200, "expected a JSON object")
    ),
    "gc-is-null": Case(
        reply(http('{"garbage_collection": null}', status="201 Created")),
        gc_start,
        Typed(InvalidResponseError, 201),
    ),
    "size-is-a-string": Case(
        reply(http('{"registry": {"name": "example", "storage_usage_bytes": "lots"}}')),
        registry_get,
        Typed(InvalidResponseError),
    ),
    "time-is-garbage": Case(
        reply(http('{"tags": [{"tag": "v1", "updated_at": "yesterday"}]}')),
        tags_all,
        Typed(InvalidResponseError),
    ),
    "integer-is-infinity": Case(
        reply(http('{"registry": {"name": "x", "storage_usage_bytes": 1e400}}')),
        registry_get,
        Typed(InvalidResponseError),
    ),
    "meta-is-a-string": Case(reply(http('{"tags": [], "meta": "x"}')), tags_all, Typed(InvalidResponseError)),
    "links-is-a-list": Case(
        reply(http('{"tags": [], "links": ["x"]}')), tags_all, Typed(InvalidResponseError)
    ),
    # -- empty bodies where one is needed
    "empty-200": Case(reply(http("")), registry_get, Typed(InvalidResponseError, 200)),
    "empty-204-listing": Case(
        reply(http("", status="204 No Content", ctype=None)), tags_all, Typed(InvalidResponseError, 204)
    ),
    # -- error statuses with odd bodies
    "html-502": Case(
        reply(http("<html>502 Bad Gateway</html>", status="502 Bad Gateway", ctype="text/html")),
        registry_get,
        Typed(ServerError, 502, "non-JSON response body (text/html"),
    ),
    "404-plain-text": Case(
        reply(http("no such thing", status="404 Not Found", ctype="text/plain")),
        registry_get,
        Typed(NotFoundError, 404),
    ),
    "status-600": Case(reply(http("{}", status="600 Weird")), registry_get, Typed(ServerError, 600)),
    # -- the body never arrives whole
    "truncated-body": Case(
        reply(http('{"registry": {"name"', length=1000), keep_alive=False),
        registry_get,
        Typed(APIConnectionError, None),
    ),
    "stall-before-headers": Case(stall(), registry_get, Typed(APITimeoutError, None), timeout=0.25),
    "stall-mid-body": Case(
        stall(http('{"registry": ', length=100)), registry_get, Typed(APITimeoutError, None), timeout=0.25
    ),
    "corrupt-gzip": Case(
        reply(http(b"0123456789", headers={"Content-Encoding": "gzip"})),
        registry_get,
        Typed(APIConnectionError, None),
    ),
    "connection-closed": Case(reply(b"", keep_alive=False), registry_get, Typed(APIConnectionError, None)),
    # -- too big
    "huge-chunked-body": Case(
        reply(chunked(b'{"tags": [', *([b'"' + b"x" * 8190 + b'",'] * 16), b'"x"]}')),
        tags_all,
        Typed(InvalidResponseError, 200, "larger than"),
    ),
    "huge-declared-body": Case(
        reply(http(b" " * (CAP + 1)), keep_alive=False),
        registry_get,
        Typed(InvalidResponseError, 200, "larger than"),
    ),
    # -- harmless oddities that must still give exactly the right answer
    "json-as-text-plain": Case(
        reply(http('{"registry": {"name": "example"}}', ctype="text/plain")),
        registry_get,
        Tolerated(lambda r: r.name == "example"),
    ),
    "json-without-content-type": Case(
        reply(http('{"registry": {"name": "example"}}', ctype=None)),
        registry_get,
        Tolerated(lambda r: r.name == "example"),
    ),
    "total-is-not-a-number": Case(
        reply(http(json.dumps({"tags": [TAG, {**TAG, "tag": "v2"}], "meta": {"total": "many"}}))),
        tags_all,
        Tolerated(lambda tags: [t.tag for t in tags] == ["v1", "v2"]),
    ),
    "unknown-fields": Case(
        reply(http('{"registry": {"name": "example", "brand_new": {"x": 1}}, "also_new": 1}')),
        registry_get,
        Tolerated(lambda r: r.name == "example" and r.extra == {"brand_new": {"x": 1}}),
    ),
    "json-with-utf8-bom": Case(
        reply(http(b'\xef\xbb\xbf{"registry": {"name": "example"}}')),
        registry_get,
        Tolerated(lambda r: r.name == "example"),
    ),
    "interim-100-continue": Case(
        reply(b"HTTP/1.1 100 Continue\r\n\r\n" + http('{"registry": {"name": "example"}}')),
        registry_get,
        Tolerated(lambda r: r.name == "example"),
    ),
}

MALFORMED_HTTP = (
    "the transport catches ClientConnectionError and ClientPayloadError but not "
    "aiohttp.ClientResponseError, which aiohttp raises for a malformed status line, header, "
    "chunk size or Content-Length: it escapes raw"
)
BUGGY_RESPONSES: dict[str, tuple[Case, str]] = {
    "deeply-nested-json": (
        Case(reply(http("[" * 20_000 + "]" * 20_000)), registry_get, Typed(InvalidResponseError)),
        "json.loads raises RecursionError (not a ValueError) on deeply nested JSON; it escapes raw",
    ),
    "deeply-nested-error-body": (
        Case(
            reply(http("[" * 20_000 + "]" * 20_000, status="404 Not Found")),
            registry_get,
            Typed(NotFoundError, 404),
        ),
        "_describe_error_body lets RecursionError escape on a deeply nested error body",
    ),
    "timestamp-out-of-range": (
        Case(
            reply(http('{"tags": [{"tag": "v1", "updated_at": 1e300}]}')),
            tags_all,
            Typed(InvalidResponseError),
        ),
        "datetime.fromtimestamp raises OverflowError, which _SHAPE_ERRORS does not list",
    ),
    "links-pages-is-a-string": (
        Case(reply(http('{"tags": [], "links": {"pages": "x"}}')), tags_all, Typed(InvalidResponseError)),
        "links.pages that is not an object raises a raw AttributeError outside the shape check",
    ),
    "listing-without-its-items": (
        Case(reply(http('{"meta": {"total": 3}}')), tags_all, Typed(InvalidResponseError)),
        "a listing body without its items key is read as an empty page: silent truncation",
    ),
    "tags-of-a-manifest-is-a-string": (
        Case(
            reply(http(json.dumps({"manifests": [{"digest": DIGEST, "tags": "latest"}]}))),
            manifests_all,
            Typed(InvalidResponseError),
        ),
        "a string where a list of strings is expected is split into characters: tags ('l','a','t',...)",
    ),
    "gzip-bomb": (
        Case(
            reply(http(GZIP_BOMB, headers={"Content-Encoding": "gzip"})),
            registry_get,
            Typed(InvalidResponseError, 200, "larger than"),
        ),
        "max_response_bytes is checked against Content-Length, which is the COMPRESSED size: a 3 KB "
        "gzip body inflating to 2 MB is read whole",
    ),
    "garbage-status-line": (
        Case(
            reply(b"NOT-HTTP garbage\r\n\r\n", keep_alive=False),
            registry_get,
            Typed(APIConnectionError, None),
        ),
        MALFORMED_HTTP,
    ),
    "invalid-header-line": (
        Case(
            reply(b"HTTP/1.1 200 OK\r\nBad Header\r\nContent-Length: 2\r\n\r\n{}"),
            registry_get,
            Typed(APIConnectionError, None),
        ),
        MALFORMED_HTTP,
    ),
    "header-too-long": (
        Case(
            reply(http("{}", headers={"X-Big": "a" * 20_000})), registry_get, Typed(APIConnectionError, None)
        ),
        MALFORMED_HTTP,
    ),
    "bad-chunk-size": (
        Case(
            reply(http(headers={"Transfer-Encoding": "chunked"}) + b"zz\r\nabc\r\n0\r\n\r\n"),
            registry_get,
            Typed(APIConnectionError, None),
        ),
        MALFORMED_HTTP,
    ),
    "negative-content-length": (
        Case(reply(http("{}", length=-5), keep_alive=False), registry_get, Typed(APIConnectionError, None)),
        MALFORMED_HTTP,
    ),
}

ALL_RESPONSE_CASES = [pytest.param(name, case, id=name) for name, case in BAD_RESPONSES.items()] + [
    pytest.param(name, case, id=name) for name, (case, _fixed) in BUGGY_RESPONSES.items()
]


def bad_response_client(raw: RawServer, timeout: float) -> DOCRClient:
    return DOCRClient(
        "dop_v1_" + "0" * 64,
        base_url=raw.url,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.001),
        timeout=Timeout(total=timeout, connect=10.0),
        rate_limiter=RateLimiter(enabled=False),
        max_response_bytes=CAP,
    )


@MODULE_LOOP
@pytest.mark.parametrize(("name", "case"), ALL_RESPONSE_CASES)
async def test_bad_response_gives_a_typed_error_or_the_exact_answer(
    raw: RawServer, name: str, case: Case
) -> None:
    raw.responder = case.responder
    raw.release = asyncio.Event()
    raw.requests.clear()
    try:
        async with bad_response_client(raw, case.timeout) as client:
            if isinstance(case.expect, Tolerated):
                result = await call(lambda: case.call(client))
                assert case.expect.expected(result), result
                record("bad_input", tolerated_response_cases=1)
                return
            with pytest.raises(DOCRError) as excinfo:
                await call(lambda: case.call(client))
    finally:
        raw.release.set()
    err = excinfo.value
    expect = case.expect
    assert isinstance(err, expect.cls), repr(err)
    assert_no_raw_error_in_chain(err)
    assert expect.fragment in str(err)
    if expect.status is not None:
        assert isinstance(err, APIStatusError)
        assert err.status == expect.status
        assert err.request_id == REQUEST_ID
        assert err.method == "GET" or err.method == "POST"
    else:
        assert isinstance(err, APIConnectionError)
    assert 1 <= len(raw.requests) <= 2  # at most one retry (the policy's max_attempts=2)
    record("bad_input", response_cases=1)
