"""Models and the converter: timestamps, defaults, unknown keys, GC status, secrets, immutability."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest

from docr_async import (
    Blob,
    DockerCredentials,
    GarbageCollection,
    GCStatus,
    Manifest,
    Registry,
    RegistryList,
    RegistryOptions,
    Repository,
    RepositoryV2,
    Subscription,
    SubscriptionTier,
    Tag,
)
from docr_async._converter import make_converter, parse_datetime, structure
from docr_async.models import TERMINAL_STATUSES

LENIENT = make_converter()
STRICT = make_converter(strict=True)
ALL_MODELS = [
    Blob,
    DockerCredentials,
    GarbageCollection,
    Manifest,
    Registry,
    RegistryList,
    RegistryOptions,
    Repository,
    RepositoryV2,
    Subscription,
    SubscriptionTier,
    Tag,
]


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2020-10-30T21:03:24Z", datetime(2020, 10, 30, 21, 3, 24, tzinfo=UTC), id="Z"),
        pytest.param(
            "2020-10-30T21:03:24.000Z", datetime(2020, 10, 30, 21, 3, 24, tzinfo=UTC), id="millis-zero"
        ),
        pytest.param(
            "2020-10-30T21:03:24.123Z", datetime(2020, 10, 30, 21, 3, 24, 123000, tzinfo=UTC), id="millis"
        ),
        pytest.param(
            "2020-11-04T21:39:49.530562Z", datetime(2020, 11, 4, 21, 39, 49, 530562, tzinfo=UTC), id="micros"
        ),
        pytest.param(
            "2020-11-04T21:39:49.530562231Z",
            datetime(2020, 11, 4, 21, 39, 49, 530562, tzinfo=UTC),
            id="nanos-truncated-to-micros",
        ),
        pytest.param(
            "2020-11-04T21:39:49.5Z", datetime(2020, 11, 4, 21, 39, 49, 500000, tzinfo=UTC), id="tenths"
        ),
        pytest.param(
            "2020-10-30T21:03:24+05:30",
            datetime(2020, 10, 30, 21, 3, 24, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            id="positive-offset",
        ),
        pytest.param(
            "2020-10-30T21:03:24.25-07:00",
            datetime(2020, 10, 30, 21, 3, 24, 250000, tzinfo=timezone(timedelta(hours=-7))),
            id="negative-offset",
        ),
        pytest.param(
            "2020-10-30T21:03:24+00:00", datetime(2020, 10, 30, 21, 3, 24, tzinfo=UTC), id="utc-offset"
        ),
        pytest.param("2020-10-30T21:03:24", datetime(2020, 10, 30, 21, 3, 24, tzinfo=UTC), id="naive-is-utc"),
        pytest.param(
            "2020-10-30 21:03:24.5", datetime(2020, 10, 30, 21, 3, 24, 500000, tzinfo=UTC), id="space-naive"
        ),
    ],
)
def test_timestamps(text: str, expected: datetime) -> None:
    gc = LENIENT.structure({"created_at": text}, GarbageCollection)
    assert gc.created_at is not None
    assert gc.created_at.tzinfo is not None
    assert gc.created_at == expected  # the same instant
    assert gc.created_at.utcoffset() == expected.utcoffset()
    assert parse_datetime(text) == expected


def test_offsets_are_the_same_instant() -> None:
    a = parse_datetime("2020-10-30T21:03:24Z")
    b = parse_datetime("2020-10-31T02:33:24+05:30")
    c = parse_datetime("2020-10-30T14:03:24-07:00")
    assert a == b == c


def test_naive_datetime_object_is_taken_as_utc() -> None:
    assert parse_datetime(datetime(2020, 1, 1)) == datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", "", "2020-13-01T00:00:00Z", [], {}, True])
def test_bad_timestamps_raise(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        LENIENT.structure({"created_at": bad}, GarbageCollection)


def test_timestamps_unstructure_with_z() -> None:
    gc = LENIENT.structure({"created_at": "2020-10-30T21:03:24.000Z"}, GarbageCollection)
    assert LENIENT.unstructure(gc)["created_at"] == "2020-10-30T21:03:24Z"


# --------------------------------------------------------------------------- missing and null


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
def test_empty_object_gives_defaults(cls: type) -> None:
    assert LENIENT.structure({}, cls) == cls()
    assert STRICT.structure({}, cls) == cls()


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
def test_null_fields_give_defaults(cls: type) -> None:
    data = {a.name: None for a in attrs.fields(cls) if a.name != "extra"}
    for converter in (LENIENT, STRICT):
        model: Any = converter.structure(data, cls)
        assert model == cls()
        assert model.extra == {}


def test_missing_and_null_values_in_detail() -> None:
    manifest = LENIENT.structure(
        {"digest": "sha256:x", "tags": None, "blobs": None, "size_bytes": None, "updated_at": None}, Manifest
    )
    assert manifest.tags == ()
    assert manifest.is_untagged
    assert manifest.blobs == ()
    assert manifest.size_bytes is None
    assert manifest.updated_at is None
    assert manifest.registry_name == ""
    repo = LENIENT.structure({"name": "app", "latest_tag": None}, Repository)
    assert repo.latest_tag is None
    assert repo.tag_count is None
    registry = LENIENT.structure({"name": "x", "subscription": {"tier": None}}, Registry)
    assert registry.subscription == Subscription()


def test_nested_models_are_structured() -> None:
    repo = LENIENT.structure(
        {"name": "team/api", "latest_manifest": {"digest": "d", "tags": ["v1"], "blobs": [{"digest": "b"}]}},
        RepositoryV2,
    )
    assert repo.latest_manifest == Manifest(digest="d", tags=("v1",), blobs=(Blob(digest="b"),))


def test_wrong_types_raise() -> None:
    with pytest.raises(TypeError):
        LENIENT.structure("oops", Registry)
    with pytest.raises((TypeError, ValueError)):
        LENIENT.structure({"tags": 5}, Manifest)


# --------------------------------------------------------------------------- unknown keys


def test_unknown_keys_land_in_extra_in_lenient_mode() -> None:
    data = {
        "name": "team/api",
        "new_top": {"nested": [1, 2]},
        "latest_manifest": {"digest": "d", "blobs": [{"digest": "b", "compressed_size_byte": 3, "x": None}]},
    }
    repo = LENIENT.structure(data, RepositoryV2)
    assert repo.name == "team/api"
    assert repo.extra == {"new_top": {"nested": [1, 2]}}
    assert repo.latest_manifest is not None
    assert repo.latest_manifest.extra == {}
    assert repo.latest_manifest.blobs[0].extra == {"compressed_size_byte": 3}  # null values are dropped
    assert repo.latest_manifest.blobs[0].compressed_size_bytes is None


def test_default_structure_helper_is_lenient() -> None:
    assert structure({"uuid": "u", "future": True}, GarbageCollection).extra == {"future": True}


def test_extra_is_not_shared_between_instances() -> None:
    a = LENIENT.structure({"surprise": 1}, Tag)
    b = LENIENT.structure({}, Tag)
    assert a.extra == {"surprise": 1}
    assert b.extra == {}
    assert Tag().extra == {}


@pytest.mark.parametrize(
    ("data", "cls", "key"),
    [
        ({"name": "x", "surprise": 1}, Registry, "surprise"),
        ({"registries": [{"name": "x", "surprise": 1}]}, RegistryList, "surprise"),
        ({"latest_manifest": {"blobs": [{"compressed_size_byte": 1}]}}, RepositoryV2, "compressed_size_byte"),
        ({"tier": {"slug": "basic", "surprise": 1}}, Subscription, "surprise"),
        ({"auths": {}, "credsStore": "desktop"}, DockerCredentials, "credsStore"),
    ],
)
def test_unknown_keys_raise_in_strict_mode(data: dict[str, Any], cls: type, key: str) -> None:
    with pytest.raises(cattrs.ForbiddenExtraKeysError) as excinfo:
        STRICT.structure(data, cls)
    assert key in str(excinfo.value)
    assert LENIENT.structure(data, cls) is not None  # the same data is fine in lenient mode


def test_extra_is_not_part_of_equality_or_hash() -> None:
    a = LENIENT.structure({"tag": "v1", "surprise": 1}, Tag)
    b = Tag(tag="v1")
    assert a == b
    assert hash(a) == hash(b)


# --------------------------------------------------------------------------- garbage collection


def test_unknown_gc_status_is_kept() -> None:
    gc = LENIENT.structure({"uuid": "u", "status": "waiting for delete requests"}, GarbageCollection)
    assert gc.status == "waiting for delete requests"
    assert not gc.is_terminal
    assert STRICT.structure({"status": "something new"}, GarbageCollection).status == "something new"


@pytest.mark.parametrize("status", list(GCStatus))
def test_is_terminal(status: GCStatus) -> None:
    gc = LENIENT.structure({"status": status.value}, GarbageCollection)
    assert gc.status == status
    expected = status in {GCStatus.SUCCEEDED, GCStatus.FAILED, GCStatus.CANCELLED}
    assert gc.is_terminal is expected


def test_terminal_statuses() -> None:
    assert {"succeeded", "failed", "cancelled"} == TERMINAL_STATUSES
    assert GarbageCollection().is_terminal is False  # no status yet: still active


def test_gc_type_is_kept_when_sent() -> None:
    gc = LENIENT.structure({"type": "untagged manifests only"}, GarbageCollection)
    assert gc.type == "untagged manifests only"
    assert gc.extra == {}


# --------------------------------------------------------------------------- docker credentials

AUTH = base64.b64encode(b"user-7f3a:s3cr3t-password-value").decode()


def test_docker_credentials_repr_hides_the_auth_string() -> None:
    creds = LENIENT.structure({"auths": {"registry.digitalocean.com": {"auth": AUTH}}}, DockerCredentials)
    for text in (repr(creds), str(creds), repr([creds]), f"{creds}", f"{creds!r}"):
        assert AUTH not in text
        assert "s3cr3t" not in text
        assert "registry.digitalocean.com" in text
        assert "redacted" in text


def test_docker_credentials_document() -> None:
    creds = LENIENT.structure(
        {"auths": {"registry.digitalocean.com": {"auth": AUTH}}, "HttpHeaders": {"X": "1"}}, DockerCredentials
    )
    assert creds.username() == "user-7f3a"
    assert creds.username("other.example.com") is None
    assert creds.to_dict() == {
        "auths": {"registry.digitalocean.com": {"auth": AUTH}},
        "HttpHeaders": {"X": "1"},
    }
    assert json.loads(creds.to_json()) == creds.to_dict()


def test_docker_credentials_username_tolerates_garbage() -> None:
    assert DockerCredentials(auths={"registry.digitalocean.com": {"auth": "%%%"}}).username() is None
    assert DockerCredentials(auths={"registry.digitalocean.com": {}}).username() is None
    no_colon = base64.b64encode(b"just-a-token").decode()
    assert DockerCredentials(auths={"registry.digitalocean.com": {"auth": no_colon}}).username() is None


# --------------------------------------------------------------------------- immutability


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
def test_models_are_frozen_and_hashable(cls: type) -> None:
    model = cls()
    assert hash(model) == hash(cls())
    assert model in {model}
    first = next(a.name for a in attrs.fields(cls))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(model, first, getattr(model, first))


def test_populated_models_are_hashable() -> None:
    manifest = Manifest(digest="d", tags=("v1", "v2"), blobs=(Blob(digest="b", compressed_size_bytes=1),))
    registry = Registry(name="x", subscription=Subscription(tier=SubscriptionTier(slug="basic")))
    creds = DockerCredentials(auths={"registry.digitalocean.com": {"auth": AUTH}})
    options = RegistryOptions(
        available_regions=("fra1",), subscription_tiers=(SubscriptionTier(slug="basic"),)
    )
    assert len({manifest, registry, creds, options, RepositoryV2(latest_manifest=manifest)}) == 5
    assert creds == DockerCredentials(auths={"registry.digitalocean.com": {"auth": AUTH}})
    assert creds != DockerCredentials(auths={"registry.digitalocean.com": {"auth": "other"}})


def test_sequences_are_tuples() -> None:
    manifest = LENIENT.structure({"tags": ["a", "b"], "blobs": [{"digest": "x"}]}, Manifest)
    assert manifest.tags == ("a", "b")
    assert isinstance(manifest.blobs, tuple)
    options = LENIENT.structure({"available_regions": ["nyc3"], "subscription_tiers": []}, RegistryOptions)
    assert options.available_regions == ("nyc3",)


def test_to_dict_round_trips_with_unknown_fields_and_timestamps() -> None:
    from docr_async._converter import structure
    from docr_async.models import Manifest, to_dict

    data = {
        "digest": "sha256:" + "a" * 64,
        "repository": "team/api",
        "updated_at": "2021-04-09T23:54:25Z",
        "tags": ["v1"],
        "blobs": [{"digest": "sha256:" + "b" * 64, "compressed_size_byte": 7}],
        "future_field": {"x": 1},
    }
    manifest = structure(data, Manifest)
    dumped = to_dict(manifest)
    assert dumped["future_field"] == {"x": 1}
    assert dumped["blobs"][0]["compressed_size_byte"] == 7
    assert dumped["updated_at"] == "2021-04-09T23:54:25Z"
    assert "extra" not in dumped
    assert structure(dumped, Manifest) == manifest
    assert to_dict([manifest]) == [dumped]
