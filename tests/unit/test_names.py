"""Name validation, repository encoding, image references; and nothing is sent for a bad name."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from aioresponses import aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

from docr_async import NO_RETRY, DOCRClient, ImageRef, RateLimiter, ValidationError
from docr_async.names import (
    REGISTRY_HOST,
    encode_repository,
    resolve_repository,
    validate_digest,
    validate_new_registry_name,
    validate_registry_name,
    validate_repository_name,
    validate_tag,
)

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8


# --------------------------------------------------------------------------- invalid names

NOT_STR = [None, 7, 1.5, b"bytes", ["a"], True]

INVALID_REGISTRY = [
    "",
    "a" * 64,
    "régistry",
    "..",
    "my.registry",
    "my/registry",
    "my%2Fregistry",
    " example",
    "example ",
    "exa mple",
    "example\n",
    "exa\tmple",
    "exa\x00mple",
    "exa\x7fmple",
    "Example",
    "EXAMPLE",
    "my_registry",
    "registry.digitalocean.com",
    "registry.digitalocean.com/example",
    "options",  # the fixed routes under /v2/registries/ cannot be addressed as registries
    "subscription",
    "validate-name",
    *NOT_STR,
]

INVALID_REPOSITORY = [
    "",
    "a" * 256,
    "a/" * 127 + "bb",  # 256 characters
    "äpp",
    "app\u200b",
    "..",
    ".",
    "team/../api",
    "team/./api",
    "team//api",
    "/team/api",
    "team/api/",
    "team%2Fapi",
    "team%252Fapi",
    "%41pp",
    " team/api",
    "team/api ",
    "team /api",
    "team/api\n",
    "team\tapi",
    "team/\x00api",
    "app\x1b",
    "Team/api",
    "team/API",
    "registry.digitalocean.com/example/app",
    "app:v1",
    "app@sha256:abc",
    "-app",
    "app-",
    "app_",
    "a___b",
    "a..b",
    "a.-b",
    *NOT_STR,
]

INVALID_TAG = [
    "",
    "a" * 129,
    "v1/2",
    "feature/x",
    "v1%2F2",
    ".hidden",
    "-dash",
    "v1:2",
    "v1@2",
    "tāg",
    " v1",
    "v1 ",
    "v 1",
    "v1\n",
    "v1\x00",
    "..",
    *NOT_STR,
]

INVALID_DIGEST = [
    "",
    "sha256:" + "0" * 63,
    "sha256:" + "0" * 65,
    "sha256:" + "A" * 64,
    "sha256:" + "g" * 64,
    "sha512:" + "0" * 127,
    "sha384:" + "0" * 96,
    "md5:" + "0" * 32,
    "0" * 64,
    "sha256" + "0" * 64,
    " " + SHA256,
    SHA256 + "\n",
    SHA256.replace(":", "%3A"),
    "sha256:" + "０" * 64,  # fullwidth digits
    *NOT_STR,
]


@pytest.mark.parametrize("value", INVALID_REGISTRY, ids=repr)
def test_invalid_registry_name(value: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_registry_name(value)
    assert excinfo.value.field == "registry"
    assert excinfo.value.value is value
    assert "invalid registry" in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("value", INVALID_REPOSITORY, ids=repr)
def test_invalid_repository_name(value: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_repository_name(value)
    assert excinfo.value.field == "repository"
    assert excinfo.value.value is value


@pytest.mark.parametrize("value", INVALID_TAG, ids=repr)
def test_invalid_tag(value: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_tag(value)
    assert excinfo.value.field == "tag"


@pytest.mark.parametrize("value", INVALID_DIGEST, ids=repr)
def test_invalid_digest(value: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_digest(value)
    assert excinfo.value.field == "digest"


@pytest.mark.parametrize("value", ["-example", "example-", "1example", "9", "-", "a" * 64])
def test_invalid_new_registry_name(value: str) -> None:
    """A new name must begin with a letter and end with a letter or digit."""
    with pytest.raises(ValidationError) as excinfo:
        validate_new_registry_name(value)
    assert excinfo.value.field == "registry"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("team%2Fapi", "percent-encoded"),
        ("registry.digitalocean.com/example/app", "registry host"),
        ("team//api", "empty path components"),
        ("team/../api", "'..'"),
        ("Team/api", "lowercase"),
        ("a" * 256, "at most 255"),
        (" app", "whitespace"),
        ("ap\x00p", "control characters"),
        ("äpp", "ASCII"),
        (5, "expected a string"),
    ],
)
def test_repository_errors_say_why(value: Any, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        validate_repository_name(value)


# --------------------------------------------------------------------------- valid edge cases


@pytest.mark.parametrize("value", ["a" * 63, "a", "0", "my-registry", "123", "-", "a-b-c", "9lives"])
def test_valid_registry_name(value: str) -> None:
    assert validate_registry_name(value) == value


@pytest.mark.parametrize("value", ["a" * 63, "a", "my-registry", "r2d2", "a-1"])
def test_valid_new_registry_name(value: str) -> None:
    assert validate_new_registry_name(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "app",
        "a/b/c",
        "team/api",
        "a__b",
        "a_b.c-d",
        "a--b",
        "my/deeply/nested/repo/path",
        "0/1/2",
        "a" * 255,
        "ab/" * 84 + "abc",  # 255 characters, many components
    ],
)
def test_valid_repository_name(value: str) -> None:
    assert validate_repository_name(value) == value


@pytest.mark.parametrize(
    "value", ["latest", "v1.2.3", "_private", "A_b-C.d", "0", "a" * 128, "x" + "-" * 127]
)
def test_valid_tag(value: str) -> None:
    assert validate_tag(value) == value


@pytest.mark.parametrize("value", [SHA256, SHA512])
def test_valid_digest(value: str) -> None:
    assert validate_digest(value) == value


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("name", "encoded"),
    [("app", "app"), ("team/api", "team%2Fapi"), ("a/b/c", "a%2Fb%2Fc"), ("a__b.c-d/e", "a__b.c-d%2Fe")],
)
def test_encode_repository_encodes_once(name: str, encoded: str) -> None:
    assert encode_repository(name) == encoded
    assert unquote(encode_repository(name)) == name
    assert "%25" not in encode_repository(name)


def test_encoded_names_are_refused_so_they_cannot_be_encoded_twice() -> None:
    with pytest.raises(ValidationError):
        validate_repository_name(encode_repository("team/api"))


_ALNUM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_SEPARATOR = st.sampled_from([".", "_", "__", "-", "--", "---"])
_COMPONENT = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    _ALNUM,
    st.lists(st.tuples(_SEPARATOR, _ALNUM), max_size=3),
)
REPOSITORY_NAMES = st.lists(_COMPONENT, min_size=1, max_size=6).map("/".join).filter(lambda n: len(n) <= 255)


@settings(max_examples=300, deadline=None)
@given(REPOSITORY_NAMES)
def test_encoding_round_trips_for_any_valid_repository(name: str) -> None:
    assert validate_repository_name(name) == name
    encoded = encode_repository(name)
    assert "/" not in encoded
    assert unquote(encoded) == name
    assert encoded.count("%2F") == name.count("/")
    assert "%25" not in encoded


# --------------------------------------------------------------------------- image references


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag", "digest"),
    [
        (f"{REGISTRY_HOST}/example/app", "example", "app", None, None),
        ("example/app", "example", "app", None, None),
        (f"{REGISTRY_HOST}/example/app:v1", "example", "app", "v1", None),
        ("example/app:v1", "example", "app", "v1", None),
        (f"{REGISTRY_HOST}/example/app@{SHA256}", "example", "app", None, SHA256),
        ("example/app@" + SHA512, "example", "app", None, SHA512),
        (f"{REGISTRY_HOST}/example/app:v1@{SHA256}", "example", "app", "v1", SHA256),
        (f"{REGISTRY_HOST}/example/team/api", "example", "team/api", None, None),
        (f"{REGISTRY_HOST}/example/my/deep/repo:1.0.0", "example", "my/deep/repo", "1.0.0", None),
        (f"example/team/api:latest@{SHA256}", "example", "team/api", "latest", SHA256),
        ("example/app:5000", "example", "app", "5000", None),  # a port-like tag is just a tag
        ("example/team/app:8080", "example", "team/app", "8080", None),
    ],
)
def test_image_ref_parse(
    ref: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    parsed = ImageRef.parse(ref)
    assert parsed == ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)
    assert ImageRef.parse(str(parsed)) == parsed
    assert str(parsed).startswith(f"{REGISTRY_HOST}/{registry}/{repository}")


@pytest.mark.parametrize(
    ("ref", "field"),
    [
        ("example", "image reference"),  # no repository
        (f"{REGISTRY_HOST}/example", "image reference"),
        (f"{REGISTRY_HOST}/example/", "image reference"),
        (f"{REGISTRY_HOST}:443/example/app", "image reference"),  # port-like colon in the host
        ("localhost:5000/app", "image reference"),
        ("docker.io/library/nginx", "image reference"),
        ("ghcr.io/owner/app:v1", "image reference"),
        ("example/app:", "tag"),
        ("example/app:v1/extra", "repository"),  # a colon before the last '/' is not a tag
        ("example/team:v1/api", "repository"),
        ("example/app@sha256:short", "digest"),
        ("example/app:bad/tag@" + SHA256, "repository"),
        ("Example/app", "registry"),
        ("example/App", "repository"),
        ("", "image reference"),
        (" example/app", "image reference"),
        (None, "image reference"),
    ],
)
def test_image_ref_parse_rejects(ref: Any, field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        ImageRef.parse(ref)
    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("repository", "registry", "expected"),
    [
        ("team/api", "example", ("example", "team/api")),
        (f"{REGISTRY_HOST}/example/team/api", None, ("example", "team/api")),
        (f"{REGISTRY_HOST}/example/team/api", "example", ("example", "team/api")),
        (f"{REGISTRY_HOST}/example/app", None, ("example", "app")),
        ("example/team/api", "example", ("example", "example/team/api")),  # no host: all of it is the repo
    ],
)
def test_resolve_repository(repository: str, registry: str | None, expected: tuple[str, str]) -> None:
    assert resolve_repository(repository, registry) == expected


@pytest.mark.parametrize(
    ("repository", "registry", "field"),
    [
        ("team/api", None, "registry"),  # the registry is required without a pasted reference
        (f"{REGISTRY_HOST}/example/team/api", "other", "registry"),  # disagreement
        (f"{REGISTRY_HOST}/example/team/api", "Bad", "registry"),
        (f"{REGISTRY_HOST}/example/team/api:v1", None, "repository"),  # tags are refused here
        (f"{REGISTRY_HOST}/example/team/api@{SHA256}", None, "repository"),
        (f"{REGISTRY_HOST}/example", None, "image reference"),
        ("team/api", "bad name", "registry"),
        ("Team/api", "example", "repository"),
    ],
)
def test_resolve_repository_rejects(repository: str, registry: str | None, field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        resolve_repository(repository, registry)
    assert excinfo.value.field == field


# --------------------------------------------------------------------------- nothing is sent

BAD_CALLS = [
    pytest.param(lambda c: c.tags.list("Team/api", registry="example"), "repository", id="tags.list-repo"),
    pytest.param(
        lambda c: c.tags.list("team%2Fapi", registry="example"), "repository", id="tags.list-encoded"
    ),
    pytest.param(lambda c: c.tags.list("app", registry="example", per_page=0), "per_page", id="per-page-0"),
    pytest.param(
        lambda c: c.tags.list("app", registry="example", per_page=201), "per_page", id="per-page-201"
    ),
    pytest.param(
        lambda c: c.tags.list("app", registry="example", per_page=True), "per_page", id="per-page-bool"
    ),
    pytest.param(
        lambda c: c.tags.delete("v1/2", repository="app", registry="example"), "tag", id="tags.delete"
    ),
    pytest.param(
        lambda c: c.tags.delete("v1", repository="app", registry="ex ample"), "registry", id="reg-space"
    ),
    pytest.param(
        lambda c: c.legacy.tags.delete("", repository="app", registry="example"), "tag", id="legacy-tag"
    ),
    pytest.param(lambda c: c.manifests.list("a//b", registry="example"), "repository", id="manifests.list"),
    pytest.param(
        lambda c: c.manifests.delete("sha256:abc", repository="app", registry="example"),
        "digest",
        id="digest",
    ),
    pytest.param(
        lambda c: c.legacy.manifests.delete(SHA256, repository="../app", registry="example"),
        "repository",
        id="legacy-manifest-repo",
    ),
    pytest.param(
        lambda c: c.repositories.delete("app\n", registry="example"), "repository", id="repo.delete"
    ),
    pytest.param(lambda c: c.repositories.list("EXAMPLE"), "registry", id="repositories.list"),
    pytest.param(lambda c: c.repositories.list("example", page_token=""), "page_token", id="page-token"),
    pytest.param(lambda c: c.legacy.repositories.list_v1("a" * 64), "registry", id="list_v1"),
    pytest.param(lambda c: c.registries.get("registry.digitalocean.com"), "registry", id="registries.get"),
    pytest.param(lambda c: c.registries.get("options"), "registry", id="fixed-route"),
    pytest.param(lambda c: c.registries.delete(""), "registry", id="registries.delete"),
    pytest.param(lambda c: c.registries.create("-bad"), "registry", id="create-name"),
    pytest.param(
        lambda c: c.registries.create("ok", subscription_tier="gold"), "subscription_tier", id="tier"
    ),
    pytest.param(lambda c: c.registries.create("ok", region="NYC3"), "region", id="region"),
    pytest.param(
        lambda c: c.legacy.create("ok", subscription_tier="free"), "subscription_tier", id="legacy-tier"
    ),
    pytest.param(lambda c: c.registries.validate_name("Bad"), "registry", id="validate_name"),
    pytest.param(lambda c: c.legacy.validate_name("a" * 64), "registry", id="legacy-validate_name"),
    pytest.param(lambda c: c.registries.update_subscription("gold"), "subscription_tier", id="subscription"),
    pytest.param(lambda c: c.registries.docker_credentials("Bad"), "registry", id="creds-registry"),
    pytest.param(
        lambda c: c.registries.docker_credentials("example", expiry_seconds=-1), "expiry_seconds", id="expiry"
    ),
    pytest.param(
        lambda c: c.legacy.docker_credentials(expiry_seconds=True), "expiry_seconds", id="expiry-bool"
    ),
    pytest.param(lambda c: c.legacy.docker_credentials(read_write="yes"), "read_write", id="read-write"),
    pytest.param(lambda c: c.garbage_collections.start("Bad"), "registry", id="gc.start"),
    pytest.param(lambda c: c.garbage_collections.start("example", type="everything"), "type", id="gc-type"),
    pytest.param(lambda c: c.garbage_collections.get_active("a/b"), "registry", id="gc.get_active"),
    pytest.param(lambda c: c.garbage_collections.list("x y"), "registry", id="gc.list"),
    pytest.param(
        lambda c: c.garbage_collections.cancel("a/b", registry="example"), "uuid", id="gc.cancel-uuid"
    ),
    pytest.param(
        lambda c: c.legacy.garbage_collections.cancel("", registry="example"), "uuid", id="gc-uuid-empty"
    ),
]


async def invoke(call: Any, client: DOCRClient) -> None:
    result = call(client)  # listings validate when called, the other methods when awaited
    if hasattr(result, "__await__"):
        await result


@pytest.mark.parametrize(("call", "field"), BAD_CALLS)
async def test_invalid_arguments_raise_before_any_request(call: Any, field: str) -> None:
    with aioresponses() as m:
        async with DOCRClient(
            "dop_v1_" + "a" * 64, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False)
        ) as c:
            with pytest.raises(ValidationError) as excinfo:
                await invoke(call, c)
        assert m.requests == {}
    assert excinfo.value.field == field
