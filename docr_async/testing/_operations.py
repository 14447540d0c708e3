"""The fake's API operations: one plain function per handler, ``handler(ctx) -> (status, body)``.

The route table (:mod:`._routes`) references these functions directly, so mypy checks every
binding. A handler reads its path parameters from ``ctx.params``, validates query and body, calls
one :class:`~._state.FakeState` operation (which raises a :class:`~._errors.FakeDOCRError` to
answer an error), and serialises the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import BadRequestError, NotFoundError, UnprocessableError
from ._paging import cursor_page, number_page, read_cursor

if TYPE_CHECKING:
    from ._http import Ctx, Reply
    from ._model import FakeRegistry, FakeRepository
    from ._primitives import JSONDict


# ---- registries and account ----------------------------------------------------------------------


async def registries_list(ctx: Ctx) -> Reply:
    regs = ctx.state.sorted_registries()
    sub = ctx.state.subscription
    return 200, {
        "registries": [r.to_json(sub) for r in regs],
        # Undocumented, but godo decodes it (docr-api.md §1.1).
        "total_storage_usage_bytes": sum(r.storage_usage_bytes for r in regs),
    }


async def registries_create(ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    reg = ctx.state.create_registry(
        body.get("name"), body.get("region"), body.get("subscription_tier_slug"), ctx.now, legacy=False
    )
    return 201, {"registry": reg.to_json()}


async def registry_create(ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    reg = ctx.state.create_registry(
        body.get("name"), body.get("region"), body.get("subscription_tier_slug"), ctx.now, legacy=True
    )
    return 201, {"registry": reg.to_json(ctx.state.subscription)}


async def registries_get(ctx: Ctx) -> Reply:
    p = ctx.params
    return 200, {"registry": ctx.state.registry(p["registry_name"]).to_json()}


async def registry_get(ctx: Ctx) -> Reply:
    return 200, {"registry": ctx.state.the_registry().to_json(ctx.state.subscription)}


async def registries_delete(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.state.delete_registry(p["registry_name"], ctx.now)
    return 204, None


async def registry_delete(ctx: Ctx) -> Reply:
    ctx.state.delete_registry(ctx.state.the_registry().name, ctx.now)
    return 204, None


def _credentials(ctx: Ctx) -> JSONDict:
    raw_rw = ctx.query.get("read_write", "false").lower()
    if raw_rw not in ("true", "false", "1", "0"):
        raise BadRequestError("invalid read_write: must be true or false")
    expiry = ctx.int_param("expiry_seconds", 0, 0)
    return ctx.state.docker_credentials(raw_rw in ("true", "1"), expiry)


async def registries_docker_credentials(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.state.registry(p["registry_name"])
    return 200, _credentials(ctx)


async def registry_docker_credentials(ctx: Ctx) -> Reply:
    if not ctx.state.registries:
        raise NotFoundError("registry does not exist")
    return 200, _credentials(ctx)


async def get_subscription(ctx: Ctx) -> Reply:
    return 200, {"subscription": ctx.state.subscription.to_json()}


async def update_subscription(ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    sub = ctx.state.update_subscription(body.get("tier_slug"), ctx.now)
    return 200, {"subscription": sub.to_json()}


async def get_options(ctx: Ctx) -> Reply:
    return 200, ctx.state.options_json()


async def validate_name(ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    ctx.state.validate_name(body.get("name"))
    return 204, None


# ---- repositories, tags, manifests -----------------------------------------------------------------


async def registry_list_repositories(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.paging()
    reg = ctx.state.registry(p["registry_name"])
    return 200, number_page(
        ctx,
        "repositories",
        reg.sorted_repository_names(),
        lambda n: reg.repositories[n].to_json_v1(reg.name),
    )


async def list_repos_v2(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.paging()
    cursor = read_cursor(ctx)
    reg = ctx.state.registry(p["registry_name"])
    names = reg.sorted_repository_names()
    return 200, cursor_page(
        ctx, cursor, "repositories", names, lambda n: reg.repositories[n].to_json_v2(reg.name)
    )


async def registries_delete_repository(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.state.delete_repository(p["registry_name"], p["repository_name"], ctx.now)
    return 204, None


def _listed_repository(ctx: Ctx) -> tuple[FakeRegistry, FakeRepository]:
    """Check the paging parameters (400), then find the listed repository (404)."""
    ctx.paging()
    reg = ctx.state.registry(ctx.params["registry_name"])
    return reg, reg.repository(ctx.params["repository_name"])


async def list_tags(ctx: Ctx) -> Reply:
    reg, repo = _listed_repository(ctx)
    return 200, number_page(ctx, "tags", repo.sorted_tags(), lambda t: t.to_json(reg.name, repo.name))


async def delete_tag(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.state.delete_tag(p["registry_name"], p["repository_name"], p["repository_tag"], ctx.now)
    return 204, None


async def list_manifests(ctx: Ctx) -> Reply:
    reg, repo = _listed_repository(ctx)
    return 200, number_page(
        ctx, "manifests", repo.sorted_manifests(), lambda m: m.to_json(reg.name, repo.name)
    )


async def delete_manifest(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.state.delete_manifest(p["registry_name"], p["repository_name"], p["manifest_digest"], ctx.now)
    return 204, None


# ---- garbage collection ----------------------------------------------------------------------------


async def run_gc(ctx: Ctx) -> Reply:
    p = ctx.params
    body = await ctx.json_body(required=False) or {}
    ctx.state.registry(p["registry_name"])
    gc = ctx.state.start_gc(p["registry_name"], body.get("type"), ctx.now)
    return 201, {"garbage_collection": gc.to_json(ctx.now)}


async def get_gc(ctx: Ctx) -> Reply:
    p = ctx.params
    gc = ctx.state.active_gc(p["registry_name"], ctx.now)
    return 200, {"garbage_collection": gc.to_json(ctx.now)}


async def list_gcs(ctx: Ctx) -> Reply:
    p = ctx.params
    ctx.paging()
    history = ctx.state.gc_history(p["registry_name"], ctx.now)
    return 200, number_page(ctx, "garbage_collections", history, lambda g: g.to_json(ctx.now))


async def update_gc(ctx: Ctx) -> Reply:
    p = ctx.params
    body = await ctx.json_body(required=True)
    assert body is not None
    cancel = body.get("cancel", False)
    if not isinstance(cancel, bool):
        raise UnprocessableError("cancel must be a boolean")
    gc = ctx.state.update_gc(p["registry_name"], p["garbage_collection_uuid"], cancel, ctx.now)
    return 200, {"garbage_collection": gc.to_json(ctx.now)}
