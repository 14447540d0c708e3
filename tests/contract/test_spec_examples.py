"""The examples of the vendored DOCR contract survive the SDK with nothing lost.

For every success response of every operation in ``tests/data/docr-openapi.yaml``, its example is
taken from the response-level ``example``, else from the schema-level ``example``. If the spec has
neither, the example is built from the property-level ``example`` values. The example is served
through aioresponses and the SDK structures it into its model. Unstructuring that model and merging
every ``.extra`` back must give the example again. Timestamps are compared as instants at
microsecond resolution: a Python ``datetime`` cannot hold the nanoseconds of
``2020-11-04T21:39:49.530562231Z``. Every error example in ``components/responses`` must map to the
right exception, with its ``id``, ``message`` and ``request_id``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from spec_helpers import SPEC, resolve, synthesize

from docr_async import (
    NO_RETRY,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Blob,
    ConflictError,
    DOCRClient,
    InvalidResponseError,
    NotFoundError,
    Page,
    PreconditionFailedError,
    RateLimiter,
    ServerError,
    TooManyRequestsError,
)

ANY_URL = re.compile(r"^https://api\.digitalocean\.com/.*$")
TOKEN = "dop_v1_" + "c0ffee00" * 8
REG = "example"
REPO = "team/api"
DIGEST = "sha256:" + "ab" * 32
GC_UUID = "eff0feee-49c7-4e8f-ba5c-a320c109c8a8"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


# --------------------------------------------------------------------------- walking the spec


def ref_name(node: Any) -> str | None:
    return node["$ref"].rsplit("/", 1)[-1] if isinstance(node, dict) and "$ref" in node else None


def response_example(response: Any) -> tuple[str, Any]:
    """``(source, example)`` of a response. The source is response, schema, synthesized or none."""
    content = resolve(response).get("content", {}).get("application/json")
    if content is None:
        return "none", None
    if "example" in content:
        return "response", copy.deepcopy(content["example"])
    schema = resolve(content["schema"])
    if "example" in schema:
        return "schema", copy.deepcopy(schema["example"])
    return "synthesized", synthesize(schema)


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                ops[op["operationId"]] = (method.upper(), path, op)
    return ops


OPS = operations()
SUCCESS_CASES = [
    (op_id, int(code))
    for op_id, (_, _, op) in OPS.items()
    for code in op["responses"]
    if str(code).startswith("2")
]


# --------------------------------------------------------------------------- the SDK side

Call = Callable[[DOCRClient], Awaitable[Any]]
# operationId -> (SDK call, the key the SDK unwraps, or None when it structures the whole body)
SDK_CALLS: dict[str, tuple[Call, str | None]] = {
    "registries_list": (lambda c: c.registries.list(), None),
    "registries_create": (lambda c: c.registries.create(REG), "registry"),
    "registries_get": (lambda c: c.registries.get(REG), "registry"),
    "registries_delete": (lambda c: c.registries.delete(REG), None),
    "registries_get_dockerCredentials": (lambda c: c.registries.docker_credentials(REG), None),
    "registries_get_subscription": (lambda c: c.registries.get_subscription(), "subscription"),
    "registries_update_subscription": (lambda c: c.registries.update_subscription("basic"), "subscription"),
    "registries_get_options": (lambda c: c.registries.get_options(), "options"),
    "registries_get_garbageCollection": (
        lambda c: c.garbage_collections.get_active(REG),
        "garbage_collection",
    ),
    "registries_run_garbageCollection": (lambda c: c.garbage_collections.start(REG), "garbage_collection"),
    "registries_list_garbageCollections": (lambda c: c.garbage_collections.list(REG), "garbage_collections"),
    "registries_update_garbageCollection": (
        lambda c: c.garbage_collections.cancel(GC_UUID, registry=REG),
        "garbage_collection",
    ),
    "registries_list_repositoriesV2": (lambda c: c.repositories.list(REG), "repositories"),
    "registries_delete_repository": (lambda c: c.repositories.delete(REPO, registry=REG), None),
    "registries_list_repositoryTags": (lambda c: c.tags.list(REPO, registry=REG), "tags"),
    "registries_delete_repositoryTag": (lambda c: c.tags.delete("v1", repository=REPO, registry=REG), None),
    "registries_list_repositoryManifests": (lambda c: c.manifests.list(REPO, registry=REG), "manifests"),
    "registries_delete_repositoryManifest": (
        lambda c: c.manifests.delete(DIGEST, repository=REPO, registry=REG),
        None,
    ),
    "registries_validate_name": (lambda c: c.registries.validate_name(REG), None),
    "registry_get": (lambda c: c.legacy.get(), "registry"),
    "registry_create": (lambda c: c.legacy.create(REG, subscription_tier="basic"), "registry"),
    "registry_delete": (lambda c: c.legacy.delete(), None),
    "registry_get_subscription": (lambda c: c.legacy.get_subscription(), "subscription"),
    "registry_update_subscription": (lambda c: c.legacy.update_subscription("basic"), "subscription"),
    "registry_get_dockerCredentials": (lambda c: c.legacy.docker_credentials(), None),
    "registry_validate_name": (lambda c: c.legacy.validate_name(REG), None),
    "registry_list_repositories": (lambda c: c.legacy.repositories.list_v1(REG), "repositories"),
    "registry_list_repositoriesV2": (lambda c: c.legacy.repositories.list(REG), "repositories"),
    "registry_list_repositoryTags": (lambda c: c.legacy.tags.list(REPO, registry=REG), "tags"),
    "registry_delete_repositoryTag": (
        lambda c: c.legacy.tags.delete("v1", repository=REPO, registry=REG),
        None,
    ),
    "registry_list_repositoryManifests": (lambda c: c.legacy.manifests.list(REPO, registry=REG), "manifests"),
    "registry_delete_repositoryManifest": (
        lambda c: c.legacy.manifests.delete(DIGEST, repository=REPO, registry=REG),
        None,
    ),
    "registry_run_garbageCollection": (
        lambda c: c.legacy.garbage_collections.start(REG),
        "garbage_collection",
    ),
    "registry_get_garbageCollection": (
        lambda c: c.legacy.garbage_collections.get_active(REG),
        "garbage_collection",
    ),
    "registry_list_garbageCollections": (
        lambda c: c.legacy.garbage_collections.list(REG),
        "garbage_collections",
    ),
    "registry_update_garbageCollection": (
        lambda c: c.legacy.garbage_collections.cancel(GC_UUID, registry=REG),
        "garbage_collection",
    ),
    "registry_get_options": (lambda c: c.legacy.get_options(), "options"),
}


def to_wire(obj: Any) -> Any:
    """Unstructure a model: fields at their default are left out, and ``extra`` is merged back."""
    if attrs.has(type(obj)):
        out: dict[str, Any] = {}
        for a in attrs.fields(type(obj)):
            if a.name == "extra":
                continue
            value = getattr(obj, a.name)
            default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default  # type: ignore[arg-type]  # attrs types Factory as a function; it is a class
            if value == default and type(value) is type(default):
                continue
            out[a.name] = to_wire(value)
        extra = getattr(obj, "extra", {})
        assert not extra.keys() & out.keys(), f"{type(obj).__name__}.extra shadows a field"
        out.update(copy.deepcopy(extra))
        return out
    if isinstance(obj, tuple | list):
        return [to_wire(item) for item in obj]
    if isinstance(obj, dict):
        return {key: to_wire(value) for key, value in obj.items()}
    return obj


def page_to_wire(page: Page[Any], key: str) -> dict[str, Any]:
    """Rebuild a listing envelope from a Page: items, ``meta.total`` and ``links.pages``."""
    out: dict[str, Any] = {key: to_wire(page.items)}
    if page.total is not None:
        out["meta"] = {"total": page.total}
    if page.links:
        out["links"] = {"pages": dict(page.links)}
    return out


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))?"
)


def instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp independently of the SDK (naive means UTC; µs resolution)."""
    match = _RFC3339.fullmatch(text)
    assert match, f"not a timestamp: {text!r}"
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    tz = UTC
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)


def assert_same(actual: Any, expected: Any, where: str = "$") -> None:
    """Deep equality, with datetimes compared to timestamp strings as instants."""
    if isinstance(actual, datetime):
        assert isinstance(expected, str), where
        assert actual.tzinfo is not None, where
        assert actual == instant(expected), where
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert actual.keys() == expected.keys(), f"{where}: {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert type(actual) is type(expected), f"{where}: {actual!r} != {expected!r}"
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def make_client(*, strict: bool = False) -> DOCRClient:
    return DOCRClient(TOKEN, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False), strict=strict)


async def call_with_body(op_id: str, status: int, body: Any, *, strict: bool = False) -> Any:
    method = OPS[op_id][0]
    call, _ = SDK_CALLS[op_id]
    with aioresponses() as m:
        m.add(ANY_URL, method=method, status=status, payload=body)
        async with make_client(strict=strict) as client:
            result = await call(client)
        assert sum(len(calls) for calls in m.requests.values()) == 1
    return result


# --------------------------------------------------------------------------- success examples


def test_every_operation_has_an_sdk_call() -> None:
    assert len(OPS) == 37
    assert sorted(SDK_CALLS) == sorted(OPS)
    assert len(SUCCESS_CASES) == 37  # exactly one success status per operation


def test_example_sources() -> None:
    """The walk finds examples at every level the spec uses, and synthesizes the rest."""
    sources = {
        name: response_example(response)[0] for name, response in SPEC["components"]["responses"].items()
    }
    assert sources["garbage_collections"] == "response"
    assert sources["registry_options_response"] == "response"
    assert sources["repository_manifests"] == "schema"
    assert sources["all_repositories_v2"] == "schema"
    assert sources["registry_info"] == "synthesized"
    assert sources["docker_credentials"] == "synthesized"
    assert sources["no_content"] == "none"


@pytest.mark.parametrize(("op_id", "status"), SUCCESS_CASES, ids=[op for op, _ in SUCCESS_CASES])
async def test_success_example_round_trips_without_loss(op_id: str, status: int) -> None:
    response = OPS[op_id][2]["responses"][str(status)]
    source, example = response_example(response)
    result = await call_with_body(op_id, status, example)
    _, key = SDK_CALLS[op_id]

    if source == "none":
        assert status == 204
        assert result is (True if op_id.endswith("validate_name") else None)
        return
    assert example, f"{op_id}: empty example"
    if isinstance(result, Page):
        assert key is not None
        rebuilt: Any = page_to_wire(result, key)
    elif key is None:
        rebuilt = to_wire(result)
    else:
        rebuilt = {key: to_wire(result)}
    assert_same(rebuilt, example)


TYPO_BLOB = {
    "digest": "sha256:a0d0a0d46f8b52473982a3c466318f479767577551a53ffc9074c9fa7035982e",
    "compressed_size_byte": 2814446,
}


@pytest.mark.parametrize(
    ("component", "op_id", "manifest_of"),
    [
        ("repository_manifests", "registries_list_repositoryManifests", lambda page: page.items[0]),
        ("all_repositories_v2", "registries_list_repositoriesV2", lambda page: page.items[0].latest_manifest),
    ],
)
async def test_spec_typo_lands_in_blob_extra(component: str, op_id: str, manifest_of: Any) -> None:
    """One blob in the spec's examples says ``compressed_size_byte``. Lenient mode keeps it in extra."""
    _, example = response_example(SPEC["components"]["responses"][component])
    page = await call_with_body(op_id, 200, example)
    blob = manifest_of(page).blobs[1]
    assert type(blob) is Blob
    assert blob.digest == TYPO_BLOB["digest"]
    assert blob.compressed_size_bytes is None
    assert blob.extra == {"compressed_size_byte": 2814446}
    assert to_wire(blob) == TYPO_BLOB  # nothing lost


async def test_strict_mode_rejects_the_spec_typo() -> None:
    _, example = response_example(SPEC["components"]["responses"]["repository_manifests"])
    with pytest.raises(InvalidResponseError) as excinfo:
        await call_with_body("registries_list_repositoryManifests", 200, example, strict=True)
    assert "compressed_size_byte" in str(excinfo.value)
    assert excinfo.value.status == 200


@pytest.mark.parametrize(("op_id", "status"), SUCCESS_CASES, ids=[op for op, _ in SUCCESS_CASES])
async def test_strict_mode_accepts_the_synthesized_examples(op_id: str, status: int) -> None:
    """Built from the schemas (no example typos), every body passes the strict converter."""
    content = resolve(OPS[op_id][2]["responses"][str(status)]).get("content", {}).get("application/json")
    body = None if content is None else synthesize(content["schema"])
    result = await call_with_body(op_id, status, body, strict=True)
    assert result is not None or status == 204


# --------------------------------------------------------------------------- error examples

EXPECTED_CLASS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    429: TooManyRequestsError,
    500: ServerError,
}
DEFAULT_STATUS = 418  # ``default``: any other status; an unlisted 4xx maps to the base class


def error_cases() -> list[tuple[str, int, str]]:
    """``(component, status, operationId)`` for every error response component the spec uses."""
    seen: dict[tuple[str, int], str] = {}
    for op_id, (_, _, op) in OPS.items():
        for code, response in op["responses"].items():
            name = ref_name(response)
            if str(code).startswith("2") or name is None:
                continue
            status = DEFAULT_STATUS if code == "default" else int(code)
            seen.setdefault((name, status), op_id)
    return sorted((name, status, op_id) for (name, status), op_id in seen.items())


ERROR_CASES = error_cases()


def test_every_error_component_is_covered() -> None:
    error_components = {
        name
        for name, response in SPEC["components"]["responses"].items()
        if ref_name(response.get("content", {}).get("application/json", {}).get("schema")) == "error"
    }
    assert len(error_components) == 9
    assert {name for name, _, _ in ERROR_CASES} == error_components
    for name in error_components:
        assert "example" in SPEC["components"]["responses"][name]["content"]["application/json"]


@pytest.mark.parametrize(
    ("component", "status", "op_id"), ERROR_CASES, ids=[f"{c}-{s}" for c, s, _ in ERROR_CASES]
)
def test_error_example_through_status_error(component: str, status: int, op_id: str) -> None:
    """``Transport.status_error`` (pure, no I/O) maps each spec error body to its exception."""
    _, example = response_example(SPEC["components"]["responses"][component])
    method, path, _ = OPS[op_id]
    transport = make_client()._transport  # no request is made, so no session is opened
    err = transport.status_error(
        status,
        json.dumps(example).encode(),
        {"Content-Type": "application/json"},
        method=method,
        url=f"https://api.digitalocean.com{path}",
        rate_limit=None,
        retries=0,
        retry_after=None,
    )
    assert type(err) is EXPECTED_CLASS.get(status, APIStatusError)
    assert (err.status, err.error_id, err.message, err.request_id) == (
        status,
        example["id"],
        example["message"],
        example.get("request_id"),
    )


@pytest.mark.parametrize(
    ("component", "status", "op_id"), ERROR_CASES, ids=[f"{c}-{s}" for c, s, _ in ERROR_CASES]
)
async def test_error_example_over_http(component: str, status: int, op_id: str) -> None:
    """The same bodies served over (mocked) HTTP raise the same exceptions from an SDK call."""
    _, example = response_example(SPEC["components"]["responses"][component])
    with aioresponses() as m:
        m.get(ANY_URL, status=status, payload=example, headers={"x-request-id": "from-header"})
        async with make_client() as client:
            with pytest.raises(APIStatusError) as excinfo:
                await client.legacy.get()
    err = excinfo.value
    assert type(err) is EXPECTED_CLASS.get(status, APIStatusError)
    assert err.status == status
    assert err.error_id == example["id"]
    assert err.message == example["message"]
    # The body's request_id wins; the header is the fallback.
    assert err.request_id == example.get("request_id", "from-header")
    assert (err.method, err.url) == ("GET", "https://api.digitalocean.com/v2/registry")
    assert example["message"] in str(err)
    if status == 412:
        assert "/v2/registries" in str(err)


async def test_spec_404_and_409_examples_are_answers_not_errors() -> None:
    """``get_active`` turns the 404 example into None; ``validate_name`` turns the 409 into False."""
    not_found = response_example(SPEC["components"]["responses"]["not_found"])[1]
    conflict = response_example(SPEC["components"]["responses"]["conflict"])[1]
    assert await call_with_body("registries_get_garbageCollection", 404, not_found) is None
    assert await call_with_body("registry_get_garbageCollection", 404, not_found) is None
    assert await call_with_body("registries_validate_name", 409, conflict) is False
    assert await call_with_body("registry_validate_name", 409, conflict) is False
