"""Every operation of the vendored DOCR contract, called through the SDK.

One table row per ``operationId`` of ``tests/data/docr-openapi.yaml``. Each row calls the SDK method
against aioresponses and checks the request the SDK recorded (method, raw encoded path, query, JSON
body, auth header) and the structured result. Each response body is synthesized from the spec's
schemas, so every documented field is present. The table runs twice: once with the lenient client
and once with ``strict=True``. The strict run rejects any field a model does not know, so it shows
that the models follow the spec.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from aioresponses import aioresponses
from spec_helpers import SPEC, resolve, synthesize

from docr_async import (
    NO_RETRY,
    DockerCredentials,
    DOCRClient,
    GarbageCollection,
    GCType,
    Manifest,
    Page,
    RateLimiter,
    Registry,
    RegistryList,
    RegistryOptions,
    Repository,
    RepositoryV2,
    Subscription,
    Tag,
)

if TYPE_CHECKING:
    from yarl import URL

BASE = "https://api.digitalocean.com"
ANY_URL = re.compile(r"^https://api\.digitalocean\.com/.*$")
TOKEN = "dop_v1_" + "a" * 64

REG = "example"
REPO = "team/api"
REPO_ENC = "team%2Fapi"
TAG = "v1.2.3"
DIGEST = "sha256:cb8a924afdf0229ef7515d9e5b3024e23b3eb03ddbba287f4a19c6ac90b8d221"
GC_UUID = "eff0feee-49c7-4e8f-ba5c-a320c109c8a8"
FIRST_PAGE = {"per_page": "200", "page": "1"}
DEFAULT_GC_BODY = {"type": "unreferenced blobs only"}

# Query parameters the SDK sends that the spec does not declare for that operation. The spec's own
# description of the per-registry docker-credentials call documents both, and godo sends them.
UNDECLARED_QUERY = {"registries_get_dockerCredentials": {"read_write", "expiry_seconds"}}
# Request bodies the SDK sends that the spec does not declare. The multi-registry GC start declares
# no body, but godo sends the same ``{"type": ...}`` body as for the legacy path.
UNDECLARED_BODY = {"registries_run_garbageCollection"}


# --------------------------------------------------------------------------- the contract


def spec_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``operationId -> (METHOD, path template, operation)`` for every operation in the spec."""
    ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options"}:
                assert op["operationId"] not in ops
                ops[op["operationId"]] = (method.upper(), path, op)
    return ops


SPEC_OPS = spec_operations()


def success(op_id: str) -> tuple[int, Any]:
    """The operation's single success status and a body synthesized from its schema (or None)."""
    op = SPEC_OPS[op_id][2]
    codes = [code for code in op["responses"] if str(code).startswith("2")]
    assert len(codes) == 1, codes
    content = resolve(op["responses"][codes[0]]).get("content", {}).get("application/json")
    return int(codes[0]), None if content is None else synthesize(content["schema"])


def declared_query(op_id: str) -> set[str]:
    params = [resolve(p) for p in SPEC_OPS[op_id][2].get("parameters", [])]
    return {p["name"] for p in params if p["in"] == "query"}


def declared_body(op_id: str) -> tuple[set[str], set[str]] | None:
    """``(properties, required)`` of the JSON request body, or None when none is declared."""
    body = SPEC_OPS[op_id][2].get("requestBody")
    if body is None:
        return None
    schema = resolve(resolve(body)["content"]["application/json"]["schema"])
    return set(schema.get("properties", {})), set(schema.get("required", []))


# --------------------------------------------------------------------------- result checks

T_REGISTRY = datetime(2020, 3, 21, 16, 2, 37, tzinfo=UTC)
T_STORAGE = datetime(2020, 11, 4, 21, 39, 49, 530562, tzinfo=UTC)  # '...49.530562231Z' at µs
T_GC_CREATED = datetime(2020, 10, 30, 21, 3, 24, tzinfo=UTC)
T_PUSHED = datetime(2020, 4, 9, 23, 54, 25, tzinfo=UTC)
AUTH = "YjdkMDNhNjk0N2IyMTdlZmI2ZjNlYzNiZDM1MDQ1ODI6YjdkMDNhNjk0N2IyMTdlZmI2ZjNlYzNiZDM1MDQ1ODIK"


def check_tier(tier: Any, *, options: bool) -> None:
    assert tier.slug == "basic"
    assert tier.name == "Basic"
    assert tier.included_repositories == 5
    assert tier.included_storage_bytes == 5368709120
    assert tier.allow_storage_overage is True
    assert tier.monthly_price_in_cents == 500
    assert tier.storage_overage_price_in_cents == 2
    if options:
        assert tier.eligible is True
        assert tier.eligibility_reasons == ("OverRepositoryLimit",)
    else:
        assert tier.eligible is None
        assert tier.eligibility_reasons == ()


def check_subscription(sub: Any) -> None:
    assert type(sub) is Subscription
    check_tier(sub.tier, options=False)
    assert sub.created_at == datetime(2020, 1, 23, 21, 19, 12, tzinfo=UTC)
    assert sub.updated_at == datetime(2020, 11, 5, 15, 53, 24, tzinfo=UTC)


def check_registry(reg: Any, *, with_subscription: bool) -> None:
    assert type(reg) is Registry
    assert reg.name == "example"
    assert reg.region == "fra1"
    assert reg.created_at == T_REGISTRY
    assert reg.storage_usage_bytes == 29393920
    assert reg.storage_usage_bytes_updated_at == T_STORAGE
    if with_subscription:
        check_subscription(reg.subscription)
    else:
        assert reg.subscription is None


def check_registry_list(result: Any) -> None:
    assert type(result) is RegistryList
    assert len(result.registries) == 1
    check_registry(result.registries[0], with_subscription=True)


def check_credentials(result: Any) -> None:
    assert type(result) is DockerCredentials
    assert result.auths == {"registry.digitalocean.com": {"auth": AUTH}}
    assert result.username() == "b7d03a6947b217efb6f3ec3bd3504582"


def check_options(result: Any) -> None:
    assert type(result) is RegistryOptions
    assert result.available_regions == ("nyc3",)
    assert len(result.subscription_tiers) == 1
    check_tier(result.subscription_tiers[0], options=True)


def check_gc(gc: Any) -> None:
    assert type(gc) is GarbageCollection
    assert gc.uuid == GC_UUID
    assert gc.registry_name == "example"
    assert gc.status == "requested"
    assert gc.created_at == T_GC_CREATED
    assert gc.updated_at == datetime(2020, 10, 30, 21, 3, 44, tzinfo=UTC)
    assert gc.blobs_deleted == 42
    assert gc.freed_bytes == 667
    assert not gc.is_terminal


def check_tag(tag: Any) -> None:
    assert type(tag) is Tag
    assert tag.registry_name == "example"
    assert tag.repository == "repo-1"
    assert tag.tag == "latest"
    assert tag.manifest_digest == DIGEST
    assert tag.compressed_size_bytes == 2803255
    assert tag.size_bytes == 5861888
    assert tag.updated_at == T_PUSHED


def check_manifest(manifest: Any) -> None:
    assert type(manifest) is Manifest
    assert manifest.digest == DIGEST
    assert manifest.repository == "repo-1"
    assert manifest.tags == ("latest", "v1", "v2")
    assert not manifest.is_untagged
    assert manifest.updated_at == T_PUSHED
    assert manifest.size_bytes == 5861888
    assert [(b.digest, b.compressed_size_bytes) for b in manifest.blobs] == [(DIGEST, 2803255)]


def check_page(item_check: Callable[[Any], None], *, total: int | None = 1) -> Callable[[Any], None]:
    def check(page: Any) -> None:
        assert type(page) is Page
        assert page.total == total
        assert page.page == 1
        assert page.per_page == 200
        assert len(page.items) == 1
        item_check(page.items[0])

    return check


def check_repository(repo: Any) -> None:
    assert type(repo) is Repository
    assert (repo.registry_name, repo.name, repo.tag_count) == ("example", "repo-1", 1)
    check_tag(repo.latest_tag)


def check_repository_v2(repo: Any) -> None:
    assert type(repo) is RepositoryV2
    assert (repo.registry_name, repo.name, repo.tag_count, repo.manifest_count) == ("example", "repo-1", 1, 1)
    check_manifest(repo.latest_manifest)


def check_none(result: Any) -> None:
    assert result is None


def check_true(result: Any) -> None:
    assert result is True


def all_extras(obj: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every non-empty ``extra`` in a result, recursively."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(obj, Page):
        for item in obj.items:
            found += all_extras(item)
    elif attrs.has(type(obj)):
        for a in attrs.fields(type(obj)):
            value = getattr(obj, a.name)
            if a.name == "extra":
                if value:
                    found.append((type(obj).__name__, value))
            else:
                found += all_extras(value)
    elif isinstance(obj, tuple | list):
        for item in obj:
            found += all_extras(item)
    return found


# --------------------------------------------------------------------------- the table

Call = Callable[[DOCRClient], Awaitable[Any]]


@dataclass(frozen=True)
class Op:
    op_id: str
    method: str
    path: str
    """The exact raw (percent-encoded) request path."""
    sdk: str
    """The SDK call, as documented in docs/api-coverage.md."""
    call: Call
    check: Callable[[Any], None]
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


R = f"/v2/registries/{REG}"
L = "/v2/registry"
LR = f"/v2/registry/{REG}"

OPS: list[Op] = [
    # ------------------------------------------------------------ /v2/registries (multi-registry)
    Op("registries_list", "GET", "/v2/registries", "client.registries.list()",
       lambda c: c.registries.list(), check_registry_list),
    Op("registries_create", "POST", "/v2/registries",
       "client.registries.create(name, subscription_tier=None, region=None)",
       lambda c: c.registries.create(REG, subscription_tier="basic", region="fra1"),
       lambda r: check_registry(r, with_subscription=False),
       body={"name": REG, "subscription_tier_slug": "basic", "region": "fra1"}),
    Op("registries_get", "GET", R, "client.registries.get(name)",
       lambda c: c.registries.get(REG), lambda r: check_registry(r, with_subscription=False)),
    Op("registries_delete", "DELETE", R, "client.registries.delete(name)",
       lambda c: c.registries.delete(REG), check_none),
    Op("registries_get_dockerCredentials", "GET", f"{R}/docker-credentials",
       "client.registries.docker_credentials(name, expiry_seconds=None, read_write=False)",
       lambda c: c.registries.docker_credentials(REG), check_credentials, query={"read_write": "false"}),
    Op("registries_get_subscription", "GET", "/v2/registries/subscription",
       "client.registries.get_subscription()", lambda c: c.registries.get_subscription(), check_subscription),
    Op("registries_update_subscription", "POST", "/v2/registries/subscription",
       "client.registries.update_subscription(tier)",
       lambda c: c.registries.update_subscription("professional"), check_subscription,
       body={"tier_slug": "professional"}),
    Op("registries_get_options", "GET", "/v2/registries/options", "client.registries.get_options()",
       lambda c: c.registries.get_options(), check_options),
    Op("registries_get_garbageCollection", "GET", f"{R}/garbage-collection",
       "client.garbage_collections.get_active(registry)",
       lambda c: c.garbage_collections.get_active(REG), check_gc),
    Op("registries_run_garbageCollection", "POST", f"{R}/garbage-collection",
       "client.garbage_collections.start(registry, type=DEFAULT_GC_TYPE)",
       lambda c: c.garbage_collections.start(REG), check_gc, body=DEFAULT_GC_BODY),
    Op("registries_list_garbageCollections", "GET", f"{R}/garbage-collections",
       "client.garbage_collections.list(registry, per_page=200)",
       lambda c: c.garbage_collections.list(REG), check_page(check_gc, total=None), query=FIRST_PAGE),
    Op("registries_update_garbageCollection", "PUT", f"{R}/garbage-collection/{GC_UUID}",
       "client.garbage_collections.cancel(uuid, registry=...)",
       lambda c: c.garbage_collections.cancel(GC_UUID, registry=REG), check_gc, body={"cancel": True}),
    Op("registries_list_repositoriesV2", "GET", f"{R}/repositoriesV2",
       "client.repositories.list(registry, per_page=200, page_token=None)",
       lambda c: c.repositories.list(REG), check_page(check_repository_v2), query=FIRST_PAGE),
    Op("registries_delete_repository", "DELETE", f"{R}/repositories/{REPO_ENC}",
       "client.repositories.delete(repository, registry=...)",
       lambda c: c.repositories.delete(REPO, registry=REG), check_none),
    Op("registries_list_repositoryTags", "GET", f"{R}/repositories/{REPO_ENC}/tags",
       "client.tags.list(repository, registry=..., per_page=200)",
       lambda c: c.tags.list(REPO, registry=REG), check_page(check_tag), query=FIRST_PAGE),
    Op("registries_delete_repositoryTag", "DELETE", f"{R}/repositories/{REPO_ENC}/tags/{TAG}",
       "client.tags.delete(tag, repository=..., registry=...)",
       lambda c: c.tags.delete(TAG, repository=REPO, registry=REG), check_none),
    Op("registries_list_repositoryManifests", "GET", f"{R}/repositories/{REPO_ENC}/digests",
       "client.manifests.list(repository, registry=..., per_page=200)",
       lambda c: c.manifests.list(REPO, registry=REG), check_page(check_manifest), query=FIRST_PAGE),
    Op("registries_delete_repositoryManifest", "DELETE", f"{R}/repositories/{REPO_ENC}/digests/{DIGEST}",
       "client.manifests.delete(digest, repository=..., registry=...)",
       lambda c: c.manifests.delete(DIGEST, repository=REPO, registry=REG), check_none),
    Op("registries_validate_name", "POST", "/v2/registries/validate-name",
       "client.registries.validate_name(name)  # True on 204, False on 409",
       lambda c: c.registries.validate_name(REG), check_true, body={"name": REG}),
    # ------------------------------------------------------------ /v2/registry (legacy, deprecated)
    Op("registry_get", "GET", L, "client.legacy.get()",
       lambda c: c.legacy.get(), lambda r: check_registry(r, with_subscription=True)),
    Op("registry_create", "POST", L, "client.legacy.create(name, subscription_tier=..., region=None)",
       lambda c: c.legacy.create(REG, subscription_tier="basic", region="fra1"),
       lambda r: check_registry(r, with_subscription=True),
       body={"name": REG, "subscription_tier_slug": "basic", "region": "fra1"}),
    Op("registry_delete", "DELETE", L, "client.legacy.delete()", lambda c: c.legacy.delete(), check_none),
    Op("registry_get_subscription", "GET", f"{L}/subscription", "client.legacy.get_subscription()",
       lambda c: c.legacy.get_subscription(), check_subscription),
    Op("registry_update_subscription", "POST", f"{L}/subscription", "client.legacy.update_subscription(tier)",
       lambda c: c.legacy.update_subscription("starter"), check_subscription, body={"tier_slug": "starter"}),
    Op("registry_get_dockerCredentials", "GET", f"{L}/docker-credentials",
       "client.legacy.docker_credentials(expiry_seconds=None, read_write=False)",
       lambda c: c.legacy.docker_credentials(expiry_seconds=3600, read_write=True), check_credentials,
       query={"read_write": "true", "expiry_seconds": "3600"}),
    Op("registry_validate_name", "POST", f"{L}/validate-name",
       "client.legacy.validate_name(name)  # True on 204, False on 409",
       lambda c: c.legacy.validate_name(REG), check_true, body={"name": REG}),
    Op("registry_list_repositories", "GET", f"{LR}/repositories",
       "client.legacy.repositories.list_v1(registry, per_page=200)",
       lambda c: c.legacy.repositories.list_v1(REG), check_page(check_repository), query=FIRST_PAGE),
    Op("registry_list_repositoriesV2", "GET", f"{LR}/repositoriesV2",
       "client.legacy.repositories.list(registry, per_page=200, page_token=None)",
       lambda c: c.legacy.repositories.list(REG), check_page(check_repository_v2), query=FIRST_PAGE),
    Op("registry_list_repositoryTags", "GET", f"{LR}/repositories/{REPO_ENC}/tags",
       "client.legacy.tags.list(repository, registry=..., per_page=200)",
       lambda c: c.legacy.tags.list(REPO, registry=REG), check_page(check_tag), query=FIRST_PAGE),
    Op("registry_delete_repositoryTag", "DELETE", f"{LR}/repositories/{REPO_ENC}/tags/{TAG}",
       "client.legacy.tags.delete(tag, repository=..., registry=...)",
       lambda c: c.legacy.tags.delete(TAG, repository=REPO, registry=REG), check_none),
    Op("registry_list_repositoryManifests", "GET", f"{LR}/repositories/{REPO_ENC}/digests",
       "client.legacy.manifests.list(repository, registry=..., per_page=200)",
       lambda c: c.legacy.manifests.list(REPO, registry=REG), check_page(check_manifest), query=FIRST_PAGE),
    Op("registry_delete_repositoryManifest", "DELETE", f"{LR}/repositories/{REPO_ENC}/digests/{DIGEST}",
       "client.legacy.manifests.delete(digest, repository=..., registry=...)",
       lambda c: c.legacy.manifests.delete(DIGEST, repository=REPO, registry=REG), check_none),
    Op("registry_run_garbageCollection", "POST", f"{LR}/garbage-collection",
       "client.legacy.garbage_collections.start(registry, type=DEFAULT_GC_TYPE)",
       lambda c: c.legacy.garbage_collections.start(REG), check_gc, body=DEFAULT_GC_BODY),
    Op("registry_get_garbageCollection", "GET", f"{LR}/garbage-collection",
       "client.legacy.garbage_collections.get_active(registry)",
       lambda c: c.legacy.garbage_collections.get_active(REG), check_gc),
    Op("registry_list_garbageCollections", "GET", f"{LR}/garbage-collections",
       "client.legacy.garbage_collections.list(registry, per_page=200)",
       lambda c: c.legacy.garbage_collections.list(REG), check_page(check_gc, total=None), query=FIRST_PAGE),
    Op("registry_update_garbageCollection", "PUT", f"{LR}/garbage-collection/{GC_UUID}",
       "client.legacy.garbage_collections.cancel(uuid, registry=...)",
       lambda c: c.legacy.garbage_collections.cancel(GC_UUID, registry=REG), check_gc, body={"cancel": True}),
    Op("registry_get_options", "GET", f"{L}/options", "client.legacy.get_options()",
       lambda c: c.legacy.get_options(), check_options),
]  # fmt: skip
OPS_BY_ID = {op.op_id: op for op in OPS}


def expand(template: str) -> str:
    """A spec path template filled in with this module's (encoded) parameter values."""
    return template.format(
        registry_name=REG,
        repository_name=REPO_ENC,
        repository_tag=TAG,
        manifest_digest=DIGEST,
        garbage_collection_uuid=GC_UUID,
    )


# --------------------------------------------------------------------------- fixtures and helpers


def make_client(*, strict: bool = False) -> DOCRClient:
    return DOCRClient(TOKEN, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False), strict=strict)


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
async def client(request: pytest.FixtureRequest) -> Any:
    c = make_client(strict=request.param)
    yield c
    await c.aclose()


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as m:
        yield m


def only_request(m: aioresponses) -> tuple[str, URL, dict[str, Any]]:
    """The single request recorded: ``(method, url, kwargs)``."""
    calls = [
        (method, url, call.kwargs) for (method, url), recorded in m.requests.items() for call in recorded
    ]
    assert len(calls) == 1, [(method, str(url)) for method, url, _ in calls]
    return calls[0]


def check_url(url: URL, path: str, query: dict[str, str]) -> None:
    text = str(url)
    assert url.raw_path == path
    assert text.split("?", 1)[0] == BASE + path
    assert dict(url.query) == query
    assert len(url.query) == len(query)  # no repeated parameters
    assert "%25" not in text  # never double-encoded (a literal '%2F' would become '%252F')


# --------------------------------------------------------------------------- the tests


def test_table_covers_exactly_the_spec_operations() -> None:
    assert len(SPEC_OPS) == 37
    assert len(OPS) == len(OPS_BY_ID)
    assert sorted(OPS_BY_ID) == sorted(SPEC_OPS)


@pytest.mark.parametrize("op", OPS, ids=[op.op_id for op in OPS])
def test_table_row_matches_the_contract(op: Op) -> None:
    method, template, _ = SPEC_OPS[op.op_id]
    assert op.method == method
    assert op.path == expand(template)
    assert set(op.query) <= declared_query(op.op_id) | UNDECLARED_QUERY.get(op.op_id, set())
    if "page" in declared_query(op.op_id):
        assert op.query == FIRST_PAGE
    body_schema = declared_body(op.op_id)
    if op.body is None:
        assert body_schema is None
    elif op.op_id not in UNDECLARED_BODY:
        assert body_schema is not None
        properties, required = body_schema
        assert required <= set(op.body) <= properties


@pytest.mark.parametrize("op", OPS, ids=[op.op_id for op in OPS])
async def test_operation(op: Op, client: DOCRClient, mocked: aioresponses) -> None:
    status, body = success(op.op_id)
    mocked.add(ANY_URL, method=op.method, status=status, payload=body)

    result = await op.call(client)

    method, url, kwargs = only_request(mocked)
    assert method == op.method
    check_url(url, op.path, op.query)
    assert kwargs["json"] == op.body
    assert kwargs["allow_redirects"] is False
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    op.check(result)
    # Every field the spec documents has a model field: nothing lands in ``extra``.
    assert all_extras(result) == []


def test_nested_repository_rows_are_percent_encoded() -> None:
    nested = [op for op in OPS if "{repository_name}" in SPEC_OPS[op.op_id][1]]
    assert len(nested) == 9
    for op in nested:
        assert f"/repositories/{REPO_ENC}" in op.path
        assert "team/api" not in op.path


# --------------------------------------------------------------------------- variants


FAMILIES = [
    pytest.param(lambda c: c.registries, "/v2/registries", id="registries"),
    pytest.param(lambda c: c.legacy, "/v2/registry", id="legacy"),
]
GC_FAMILIES = [
    pytest.param(lambda c: c.garbage_collections, f"/v2/registries/{REG}", id="registries"),
    pytest.param(lambda c: c.legacy.garbage_collections, f"/v2/registry/{REG}", id="legacy"),
]


@pytest.mark.parametrize(("family", "prefix"), FAMILIES)
@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        pytest.param({}, {"read_write": "false"}, id="defaults"),
        pytest.param({"read_write": True}, {"read_write": "true"}, id="read-write"),
        pytest.param({"expiry_seconds": 0}, {"read_write": "false", "expiry_seconds": "0"}, id="expiry-0"),
        pytest.param(
            {"expiry_seconds": 900, "read_write": False},
            {"read_write": "false", "expiry_seconds": "900"},
            id="expiry-900",
        ),
    ],
)
async def test_docker_credentials_query(
    family: Any, prefix: str, kwargs: dict[str, Any], query: dict[str, str], mocked: aioresponses
) -> None:
    mocked.get(ANY_URL, payload={"auths": {"registry.digitalocean.com": {"auth": AUTH}}})
    async with make_client() as c:
        resource = family(c)
        if prefix == "/v2/registries":
            creds = await resource.docker_credentials(REG, **kwargs)
            path = f"{prefix}/{REG}/docker-credentials"
        else:
            creds = await resource.docker_credentials(**kwargs)
            path = f"{prefix}/docker-credentials"
    _, url, _ = only_request(mocked)
    check_url(url, path, query)
    assert creds.auths["registry.digitalocean.com"]["auth"] == AUTH


@pytest.mark.parametrize(("family", "prefix"), GC_FAMILIES)
@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        pytest.param({}, DEFAULT_GC_BODY, id="default-type"),
        pytest.param({"type": None}, None, id="no-body"),
        pytest.param(
            {"type": GCType.UNREFERENCED_BLOBS_ONLY}, {"type": "unreferenced blobs only"}, id="enum"
        ),
        pytest.param({"type": "untagged manifests only"}, {"type": "untagged manifests only"}, id="string"),
    ],
)
async def test_gc_start_body(
    family: Any, prefix: str, kwargs: dict[str, Any], body: Any, mocked: aioresponses
) -> None:
    mocked.post(ANY_URL, status=201, payload=success("registry_run_garbageCollection")[1])
    async with make_client() as c:
        gc = await family(c).start(REG, **kwargs)
    method, url, request = only_request(mocked)
    assert method == "POST"
    check_url(url, f"{prefix}/garbage-collection", {})
    assert request["json"] == body
    assert gc.uuid == GC_UUID


@pytest.mark.parametrize(("family", "prefix"), GC_FAMILIES)
async def test_gc_cancel_sends_cancel_true(family: Any, prefix: str, mocked: aioresponses) -> None:
    mocked.put(ANY_URL, payload={"garbage_collection": {"uuid": GC_UUID, "status": "cancelling"}})
    async with make_client() as c:
        gc = await family(c).cancel(GC_UUID, registry=REG)
    method, url, request = only_request(mocked)
    assert (method, url.raw_path, request["json"]) == (
        "PUT",
        f"{prefix}/garbage-collection/{GC_UUID}",
        {"cancel": True},
    )
    assert (gc.status, gc.is_terminal) == ("cancelling", False)


@pytest.mark.parametrize(("family", "prefix"), GC_FAMILIES)
async def test_gc_get_active_returns_none_on_404(family: Any, prefix: str, mocked: aioresponses) -> None:
    mocked.get(ANY_URL, status=404, payload={"id": "not_found", "message": "no active garbage collection"})
    async with make_client() as c:
        assert await family(c).get_active(REG) is None
    _, url, _ = only_request(mocked)
    assert url.raw_path == f"{prefix}/garbage-collection"


@pytest.mark.parametrize(("family", "prefix"), FAMILIES)
@pytest.mark.parametrize(("status", "expected"), [(204, True), (409, False)])
async def test_validate_name(
    family: Any, prefix: str, status: int, expected: bool, mocked: aioresponses
) -> None:
    payload = None if status == 204 else {"id": "conflict", "message": "name already taken"}
    mocked.post(ANY_URL, status=status, payload=payload)
    async with make_client() as c:
        assert await family(c).validate_name("my-registry") is expected
    _, url, request = only_request(mocked)
    assert url.raw_path == f"{prefix}/validate-name"
    assert request["json"] == {"name": "my-registry"}


async def test_registries_create_without_optional_fields(mocked: aioresponses) -> None:
    mocked.post(ANY_URL, status=201, payload=success("registries_create")[1])
    async with make_client() as c:
        await c.registries.create("fresh")
    _, _, request = only_request(mocked)
    assert request["json"] == {"name": "fresh"}


@pytest.mark.parametrize(
    ("call", "path", "query"),
    [
        pytest.param(
            lambda c: c.tags.list(REPO, registry=REG, per_page=5),
            f"/v2/registries/{REG}/repositories/{REPO_ENC}/tags",
            {"per_page": "5", "page": "1"},
            id="tags-per-page",
        ),
        pytest.param(
            lambda c: c.repositories.list(REG, per_page=1, page_token="JPZmZzZXQiOjB9"),
            f"/v2/registries/{REG}/repositoriesV2",
            {"per_page": "1", "page": "1", "page_token": "JPZmZzZXQiOjB9"},
            id="repositories-page-token",
        ),
        pytest.param(
            lambda c: c.legacy.repositories.list(REG, page_token="abc"),
            f"/v2/registry/{REG}/repositoriesV2",
            {"per_page": "200", "page": "1", "page_token": "abc"},
            id="legacy-repositories-page-token",
        ),
        pytest.param(
            lambda c: c.manifests.list("a/b/c", registry=REG, per_page=200),
            f"/v2/registries/{REG}/repositories/a%2Fb%2Fc/digests",
            FIRST_PAGE,
            id="deeply-nested",
        ),
        pytest.param(
            lambda c: c.tags.list(f"registry.digitalocean.com/{REG}/{REPO}"),
            f"/v2/registries/{REG}/repositories/{REPO_ENC}/tags",
            FIRST_PAGE,
            id="pasted-reference",
        ),
    ],
)
async def test_listing_queries(call: Call, path: str, query: dict[str, str], mocked: aioresponses) -> None:
    mocked.get(ANY_URL, payload={"tags": [], "manifests": [], "repositories": [], "meta": {"total": 0}})
    async with make_client() as c:
        page = await call(c)
    assert type(page) is Page
    assert page.items == ()
    _, url, _ = only_request(mocked)
    check_url(url, path, query)


async def test_pasted_reference_for_deletes(mocked: aioresponses) -> None:
    mocked.delete(ANY_URL, status=204, repeat=True)
    ref = f"registry.digitalocean.com/{REG}/{REPO}"
    async with make_client() as c:
        await c.tags.delete(TAG, repository=ref)
        await c.manifests.delete(DIGEST, repository=ref, registry=REG)
        await c.repositories.delete(ref)
    paths = sorted(url.raw_path for (_, url) in mocked.requests)
    assert paths == sorted(
        [
            f"/v2/registries/{REG}/repositories/{REPO_ENC}",
            f"/v2/registries/{REG}/repositories/{REPO_ENC}/digests/{DIGEST}",
            f"/v2/registries/{REG}/repositories/{REPO_ENC}/tags/{TAG}",
        ]
    )


def coverage_markdown() -> str:
    """The operationId -> SDK call table (docs/api-coverage.md is generated from it)."""
    lines = ["| operationId | Method + path | SDK call |", "|---|---|---|"]
    for op in OPS:
        method, template, _ = SPEC_OPS[op.op_id]
        lines.append(f"| `{op.op_id}` | `{method} {template}` | `{op.sdk}` |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("doc", ["docs/api-coverage.md", "README.md"])
def test_coverage_doc_lists_every_operation(doc: str) -> None:
    path = Path(__file__).parents[2] / doc
    assert coverage_markdown() in path.read_text(encoding="utf-8")
