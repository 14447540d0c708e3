"""``garbage_collections.wait(uuid, registry=...)``, and the deprecated ``wait(registry, uuid)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from e2e.helpers import FAST_GC, client_for, running_fake

from docr_async import GarbageCollection, ValidationError
from docr_async.testing import SeedSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from docr_async import DOCRClient
    from docr_async.resources import GarbageCollections

SPEC = SeedSpec(registries=2, repos=2, tags=6, untagged=2)  # example, staging
POLL = 0.01


@pytest.fixture(autouse=True)
def _no_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_REGISTRY", raising=False)


def _family(client: DOCRClient, legacy: bool) -> GarbageCollections:
    return client.legacy.garbage_collections if legacy else client.garbage_collections


WAYS: list[Any] = [
    pytest.param(lambda g, u: g.wait(u, registry="staging", poll_interval=POLL), False, id="uuid-registry"),
    pytest.param(lambda g, u: g.wait(uuid=u, registry="staging", poll_interval=POLL), False, id="keywords"),
    pytest.param(lambda g, u: g.wait("staging", u, poll_interval=POLL), True, id="old-order"),
    pytest.param(lambda g, u: g.wait("staging", uuid=u, poll_interval=POLL), True, id="old-order-uuid-kw"),
]


@pytest.mark.parametrize("legacy", [False, True], ids=["modern", "legacy"])
@pytest.mark.parametrize(("way", "deprecated"), WAYS)
async def test_every_accepted_form_waits_for_the_same_collection(
    way: Callable[[GarbageCollections, str], Any], deprecated: bool, legacy: bool
) -> None:
    async with running_fake(seed_spec=SPEC, gc=FAST_GC) as fake, client_for(fake) as client:
        gcs = _family(client, legacy)
        started = await gcs.start("staging")
        if deprecated:
            with pytest.warns(DeprecationWarning, match=r"use wait\(uuid, registry=\.\.\.\)") as record:
                finished = await way(gcs, started.uuid)
            assert [w.filename for w in record] == [__file__]  # points at the caller's line
        else:
            finished = await way(gcs, started.uuid)
        assert isinstance(finished, GarbageCollection)
        assert (finished.uuid, finished.status) == (started.uuid, "succeeded")
        assert fake.state.registries["staging"].garbage_collections[-1].uuid == started.uuid
        assert fake.state.registries["example"].garbage_collections == []
        prefix = "/v2/registry/staging/" if legacy else "/v2/registries/staging/"
        assert all(r.path.startswith(prefix) for r in fake.requests)


async def test_wait_uses_the_default_registry() -> None:
    async with (
        running_fake(seed_spec=SPEC, gc=FAST_GC) as fake,
        client_for(fake, registry="staging") as client,
    ):
        started = await client.garbage_collections.start()
        finished = await client.garbage_collections.wait(started.uuid, poll_interval=POLL)
        assert finished.status == "succeeded"
        assert all(r.path.startswith("/v2/registries/staging/") for r in fake.requests)


UUID = "eff0feee-49c7-4e8f-ba5c-a320c109c8a8"

MISTAKES: list[Any] = [
    pytest.param(
        lambda g: g.wait(UUID, "staging"), TypeError, "registry is keyword-only", id="new-order-positional"
    ),
    pytest.param(lambda g: g.wait("staging", UUID, registry="staging"), TypeError, "one garbage", id="both"),
    pytest.param(lambda g: g.wait("staging", UUID, "x"), TypeError, "one garbage", id="three"),
    pytest.param(lambda g: g.wait(), ValidationError, "uuid", id="none"),
    pytest.param(lambda g: g.wait(uuid=None), ValidationError, "uuid", id="uuid-none"),
    pytest.param(lambda g: g.wait(UUID, registry="Staging"), ValidationError, "registry", id="bad-registry"),
    pytest.param(lambda g: g.wait("a/b"), ValidationError, "uuid", id="bad-uuid"),
]


@pytest.mark.parametrize(("call", "error", "match"), MISTAKES)
async def test_mistakes_raise_before_any_request(
    call: Callable[[GarbageCollections], Any], error: type[Exception], match: str
) -> None:
    async with running_fake(seed_spec=SPEC) as fake, client_for(fake) as client:
        with pytest.raises(error, match=match):
            await call(client.garbage_collections)
        assert fake.requests == []


async def test_old_order_with_a_bad_uuid_warns_then_raises_before_any_request() -> None:
    async with running_fake(seed_spec=SPEC) as fake, client_for(fake) as client:
        with (
            pytest.warns(DeprecationWarning, match="deprecated"),
            pytest.raises(ValidationError, match="uuid"),
        ):
            await client.garbage_collections.wait("staging", "not/a/uuid")
        assert fake.requests == []
