"""The hot path's shortcuts make exactly what the plain code makes, and never skip a check.

Each shortcut (the exact-keys structuring path, the one-loop listing hook, the slot builders,
the ``ratelimit-*`` integer fast path, the name memos, the listing hook looked up once) is
compared with the general code on the same input, including inputs that must leave the shortcut.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
import pytest

from docr_async import RateLimitInfo, ValidationError
from docr_async import names as names_module
from docr_async._builders import frozen_builder, stores_only
from docr_async._converter import make_converter
from docr_async._protocol import APIResponse
from docr_async.models import Manifest, Tag
from docr_async.names import encode_repository, validate_registry_name, validate_repository_name
from docr_async.pagination import Page

LENIENT = make_converter()
STRICT = make_converter(strict=True)

TAG = {
    "registry_name": "example",
    "repository": "team/api",
    "tag": "v1",
    "manifest_digest": "sha256:" + "a" * 64,
    "compressed_size_bytes": 10,
    "size_bytes": 20,
    "updated_at": "2026-11-30T12:00:00Z",
}
EXPECTED = Tag(
    registry_name="example",
    repository="team/api",
    tag="v1",
    manifest_digest="sha256:" + "a" * 64,
    compressed_size_bytes=10,
    size_bytes=20,
    updated_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
)


# --------------------------------------------------------------------------- structuring


@pytest.mark.parametrize("converter", [LENIENT, STRICT], ids=["lenient", "strict"])
def test_an_api_shaped_tag_and_a_listing_of_them_structure_alike(converter: cattrs.Converter) -> None:
    one = converter.structure(TAG, Tag)
    many = converter.structure([TAG, dict(TAG, tag="v2")], tuple[Tag, ...])
    assert one == EXPECTED
    assert one.extra == {}
    assert type(one) is Tag
    assert many == (EXPECTED, attrs.evolve(EXPECTED, tag="v2"))
    assert many[0].extra is not many[1].extra  # a fresh dict each


def test_an_unknown_key_in_place_of_a_known_one_leaves_the_exact_path() -> None:
    # As many keys as Tag has fields, one of them unknown: `tag` is missing, `surprise` is kept.
    data = {k: v for k, v in TAG.items() if k != "tag"} | {"surprise": 1}
    assert len(data) == len(TAG)
    for tag in (LENIENT.structure(data, Tag), LENIENT.structure([data], tuple[Tag, ...])[0]):
        assert tag == attrs.evolve(EXPECTED, tag="")
        assert tag.extra == {"surprise": 1}
    with pytest.raises(cattrs.ForbiddenExtraKeysError, match="surprise"):
        STRICT.structure(data, Tag)
    with pytest.raises(cattrs.ForbiddenExtraKeysError, match="surprise"):
        STRICT.structure([TAG, data], tuple[Tag, ...])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tag", 5),
        ("compressed_size_bytes", "10"),
        ("size_bytes", True),  # a bool is not an int here
        ("registry_name", ["example"]),
        ("updated_at", "yesterday"),
    ],
)
def test_a_wrong_type_in_an_api_shaped_tag_raises_in_both_paths(field: str, value: Any) -> None:
    bad = dict(TAG, **{field: value})
    for converter in (LENIENT, STRICT):
        with pytest.raises((TypeError, ValueError)):
            converter.structure(bad, Tag)
        with pytest.raises((TypeError, ValueError)):
            converter.structure([TAG, bad], tuple[Tag, ...])


def test_nulls_in_an_api_shaped_tag_take_the_defaults() -> None:
    data = dict.fromkeys(TAG)
    assert LENIENT.structure(data, Tag) == Tag()
    assert LENIENT.structure([data], tuple[Tag, ...]) == (Tag(),)


def test_a_listing_mixing_shapes_keeps_order_and_every_check() -> None:
    short = {"tag": "v0"}  # fewer keys: the general path
    extra = dict(TAG, tag="v3", future="x")  # more keys: the general path
    items = LENIENT.structure([short, TAG, extra], tuple[Tag, ...])
    assert [t.tag for t in items] == ["v0", "v1", "v3"]
    assert items[2].extra == {"future": "x"}
    with pytest.raises(TypeError, match="expected an object"):
        LENIENT.structure([TAG, "oops"], tuple[Tag, ...])


def test_nested_models_still_structure_through_their_hooks() -> None:
    manifest = {
        "registry_name": "example",
        "repository": "team/api",
        "digest": "sha256:" + "b" * 64,
        "compressed_size_bytes": 1,
        "size_bytes": 2,
        "updated_at": "2026-11-30T12:00:00+01:00",
        "tags": ["v1"],
        "blobs": [{"digest": "sha256:" + "c" * 64, "compressed_size_bytes": 3}],
    }
    got = LENIENT.structure([manifest], tuple[Manifest, ...])[0]
    assert got.tags == ("v1",)
    assert got.blobs[0].compressed_size_bytes == 3
    assert got.updated_at == datetime(2026, 11, 30, 11, tzinfo=UTC)
    with pytest.raises(TypeError):
        LENIENT.structure([dict(manifest, tags="v1")], tuple[Manifest, ...])


# --------------------------------------------------------------------------- builders


def test_builders_make_what_the_constructor_makes() -> None:
    info = RateLimitInfo(limit=5000, remaining=7, reset_at=datetime(2026, 11, 30, tzinfo=UTC))
    assert frozen_builder(RateLimitInfo)(limit=5000, remaining=7, reset_at=info.reset_at) == info
    fields: dict[str, Any] = {
        "status": 200,
        "data": {"a": 1},
        "rate_limit": info,
        "request_id": "r",
        "retries": 0,
        "method": "GET",
        "url": "u",
    }
    built = frozen_builder(APIResponse)(**fields)
    assert built == APIResponse(**fields)
    assert type(built) is APIResponse
    page = frozen_builder(Page)(
        items=(1, 2),
        total=2,
        query={"page": "1"},
        links={"next": "x?page=2"},
        rate_limit=None,
        request_id=None,
    )
    assert page == Page(items=(1, 2), total=2, query={"page": "1"}, links={"next": "x?page=2"})
    assert page.next_query == {"page": "2"}  # the cached property still works
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        page.total = 3  # type: ignore[misc]


def test_a_class_whose_init_does_more_keeps_its_init() -> None:
    @attrs.frozen(kw_only=True)
    class Checked:
        n: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen(kw_only=True)
    class Posted:
        n: int

        def __attrs_post_init__(self) -> None:
            raise ValueError("post-init ran")

    @attrs.frozen(kw_only=True)
    class Plain:
        n: int

    assert not stores_only(Checked)
    assert not stores_only(Posted)
    assert stores_only(Plain)
    assert frozen_builder(Checked) is Checked
    with pytest.raises(TypeError):
        frozen_builder(Checked)(n="1")
    with pytest.raises(ValueError, match="post-init ran"):
        frozen_builder(Posted)(n=1)
    with pytest.raises(TypeError):  # every field must be given: defaults are not filled in
        frozen_builder(Plain)()


# --------------------------------------------------------------------------- rate-limit headers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4999", 4999),
        (" 4999 ", 4999),  # whitespace around: the general path, same answer as before
        ("+12", 12),
        ("0", 0),
        ("9" * 19, None),  # larger than the count limit
        ("1" * 20, None),  # more than 19 digits
        ("١٢", None),  # Arabic-Indic digits: str.isdigit() says yes, the header grammar says no
        ("12.0", None),
        ("-1", None),
        ("", None),
    ],
)
def test_ratelimit_integers_parse_as_the_header_grammar_says(raw: str, expected: int | None) -> None:
    info = RateLimitInfo.from_headers({"ratelimit-remaining": raw})
    assert info == RateLimitInfo(remaining=expected)


def test_ratelimit_reset_is_the_same_instant_each_time_and_per_value() -> None:
    first = RateLimitInfo.from_headers({"ratelimit-reset": "1764504000"})
    again = RateLimitInfo.from_headers({"RateLimit-Reset": "1764504000"})
    other = RateLimitInfo.from_headers({"ratelimit-reset": "1764504001"})
    assert first is not None
    assert again is not None
    assert other is not None
    assert first.reset_at == again.reset_at == datetime.fromtimestamp(1764504000, tz=UTC)
    assert other.reset_at == datetime.fromtimestamp(1764504001, tz=UTC)
    assert type(first) is RateLimitInfo


def test_a_subclass_of_ratelimitinfo_still_gets_its_own_type() -> None:
    class Mine(RateLimitInfo):
        pass

    info = Mine.from_headers({"ratelimit-limit": "5"})
    assert type(info) is Mine
    assert info == Mine(limit=5)


# --------------------------------------------------------------------------- name memos


def test_an_invalid_name_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValidationError):
            validate_repository_name("Team/API")
        with pytest.raises(ValidationError):
            validate_registry_name("options")
    assert "Team/API" not in names_module._VALID_REPOSITORIES
    assert "options" not in names_module._VALID_REGISTRIES


def test_a_str_subclass_is_checked_not_looked_up() -> None:
    class Sneaky(str):
        __slots__ = ()

    validate_repository_name("team/api")  # now memoised as a plain str
    assert validate_repository_name(Sneaky("team/api")) == "team/api"
    with pytest.raises(ValidationError):
        validate_repository_name(Sneaky("team//api"))


def test_memos_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names_module, "_MEMO_SIZE", 4)
    monkeypatch.setattr(names_module, "_VALID_REPOSITORIES", set())
    monkeypatch.setattr(names_module, "_ENCODED", {})
    for i in range(10):
        assert validate_repository_name(f"team/app{i}") == f"team/app{i}"
        assert encode_repository(f"team/app{i}") == f"team%2Fapp{i}"
        assert len(names_module._VALID_REPOSITORIES) <= 4
        assert len(names_module._ENCODED) <= 4


# --------------------------------------------------------------------------- per-core listing hooks


async def test_listing_hooks_are_per_client_and_follow_each_clients_converter() -> None:
    from docr_async import DOCRClient

    data = [dict(TAG, future="x")]
    async with (
        DOCRClient("dop_v1_" + "0" * 64, base_url="http://127.0.0.1:9") as lenient,
        DOCRClient("dop_v1_" + "0" * 64, base_url="http://127.0.0.1:9", strict=True) as strict,
    ):
        assert lenient._core.items_hook(Tag)(data)[0].extra == {"future": "x"}
        with pytest.raises(cattrs.ForbiddenExtraKeysError):
            strict._core.items_hook(Tag)(data)
        copy = strict.with_options(timeout=5)
        with pytest.raises(cattrs.ForbiddenExtraKeysError):
            copy._core.items_hook(Tag)(data)
        assert lenient.with_options(timeout=5)._core.items_hook(Tag)(data)[0].extra == {"future": "x"}
        assert lenient._core.items_hook(Tag) is lenient._core.items_hook(Tag)  # memoised
