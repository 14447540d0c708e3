"""Routing of the fake: the route table of the 37 API operations and the matcher.

Each route names the spec's ``operationId`` and references its handler function in
:mod:`._operations` directly (one function may serve both API families).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import unquote

import attrs

from . import _operations as ops

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._http import Handler

__all__ = ["API_ROUTES", "Route", "match", "route", "split_raw_path"]

H = TypeVar("H")


@attrs.frozen
class Route(Generic[H]):
    """One route: a method, a path template split into segments, its ``operationId`` and handler."""

    method: str
    segments: tuple[str, ...]
    operation: str
    handler: H


def route(method: str, template: str, operation: str, handler: H) -> Route[H]:
    """A route for ``template`` like ``/v2/registries/{registry_name}``."""
    return Route(method, tuple(template.strip("/").split("/")), operation, handler)


API_ROUTES: tuple[Route[Handler], ...] = (
    # Fixed paths first: `options`, `subscription` and `validate-name` are never registry names.
    route("GET", "/v2/registries", "registries_list", ops.registries_list),
    route("POST", "/v2/registries", "registries_create", ops.registries_create),
    route("GET", "/v2/registries/subscription", "registries_get_subscription", ops.get_subscription),
    route("POST", "/v2/registries/subscription", "registries_update_subscription", ops.update_subscription),
    route("GET", "/v2/registries/options", "registries_get_options", ops.get_options),
    route("POST", "/v2/registries/validate-name", "registries_validate_name", ops.validate_name),
    route("GET", "/v2/registries/{registry_name}", "registries_get", ops.registries_get),
    route("DELETE", "/v2/registries/{registry_name}", "registries_delete", ops.registries_delete),
    route(
        "GET",
        "/v2/registries/{registry_name}/docker-credentials",
        "registries_get_dockerCredentials",
        ops.registries_docker_credentials,
    ),
    route(
        "GET",
        "/v2/registries/{registry_name}/garbage-collection",
        "registries_get_garbageCollection",
        ops.get_gc,
    ),
    route(
        "POST",
        "/v2/registries/{registry_name}/garbage-collection",
        "registries_run_garbageCollection",
        ops.run_gc,
    ),
    route(
        "GET",
        "/v2/registries/{registry_name}/garbage-collections",
        "registries_list_garbageCollections",
        ops.list_gcs,
    ),
    route(
        "PUT",
        "/v2/registries/{registry_name}/garbage-collection/{garbage_collection_uuid}",
        "registries_update_garbageCollection",
        ops.update_gc,
    ),
    route(
        "GET",
        "/v2/registries/{registry_name}/repositoriesV2",
        "registries_list_repositoriesV2",
        ops.list_repos_v2,
    ),
    route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}",
        "registries_delete_repository",
        ops.registries_delete_repository,
    ),
    route(
        "GET",
        "/v2/registries/{registry_name}/repositories/{repository_name}/tags",
        "registries_list_repositoryTags",
        ops.list_tags,
    ),
    route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
        "registries_delete_repositoryTag",
        ops.delete_tag,
    ),
    route(
        "GET",
        "/v2/registries/{registry_name}/repositories/{repository_name}/digests",
        "registries_list_repositoryManifests",
        ops.list_manifests,
    ),
    route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
        "registries_delete_repositoryManifest",
        ops.delete_manifest,
    ),
    # The legacy single-registry family.
    route("GET", "/v2/registry", "registry_get", ops.registry_get),
    route("POST", "/v2/registry", "registry_create", ops.registry_create),
    route("DELETE", "/v2/registry", "registry_delete", ops.registry_delete),
    route("GET", "/v2/registry/subscription", "registry_get_subscription", ops.get_subscription),
    route("POST", "/v2/registry/subscription", "registry_update_subscription", ops.update_subscription),
    route(
        "GET",
        "/v2/registry/docker-credentials",
        "registry_get_dockerCredentials",
        ops.registry_docker_credentials,
    ),
    route("POST", "/v2/registry/validate-name", "registry_validate_name", ops.validate_name),
    route("GET", "/v2/registry/options", "registry_get_options", ops.get_options),
    route(
        "GET",
        "/v2/registry/{registry_name}/repositories",
        "registry_list_repositories",
        ops.registry_list_repositories,
    ),
    route(
        "GET",
        "/v2/registry/{registry_name}/repositoriesV2",
        "registry_list_repositoriesV2",
        ops.list_repos_v2,
    ),
    route(
        "GET",
        "/v2/registry/{registry_name}/repositories/{repository_name}/tags",
        "registry_list_repositoryTags",
        ops.list_tags,
    ),
    route(
        "DELETE",
        "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
        "registry_delete_repositoryTag",
        ops.delete_tag,
    ),
    route(
        "GET",
        "/v2/registry/{registry_name}/repositories/{repository_name}/digests",
        "registry_list_repositoryManifests",
        ops.list_manifests,
    ),
    route(
        "DELETE",
        "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
        "registry_delete_repositoryManifest",
        ops.delete_manifest,
    ),
    route(
        "POST",
        "/v2/registry/{registry_name}/garbage-collection",
        "registry_run_garbageCollection",
        ops.run_gc,
    ),
    route(
        "GET", "/v2/registry/{registry_name}/garbage-collection", "registry_get_garbageCollection", ops.get_gc
    ),
    route(
        "GET",
        "/v2/registry/{registry_name}/garbage-collections",
        "registry_list_garbageCollections",
        ops.list_gcs,
    ),
    route(
        "PUT",
        "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
        "registry_update_garbageCollection",
        ops.update_gc,
    ),
)


def split_raw_path(raw_path: str) -> list[str]:
    """Split a raw path into raw segments; one trailing slash is tolerated."""
    if len(raw_path) > 1 and raw_path.endswith("/"):
        raw_path = raw_path[:-1]
    return raw_path.lstrip("/").split("/")


def match(
    routes: Sequence[Route[H]], method: str, raw_segments: Sequence[str]
) -> tuple[Route[H], dict[str, str]] | None:
    """Match raw (still percent-encoded) segments. Each parameter is ONE segment, decoded afterwards,
    so ``my%2Frepo`` addresses ``my/repo`` while a literal ``/`` never routes to it."""
    for route in routes:
        if route.method != method or len(route.segments) != len(raw_segments):
            continue
        params: dict[str, str] = {}
        for pattern, raw in zip(route.segments, raw_segments, strict=True):
            if pattern.startswith("{"):
                if not raw:
                    break
                params[pattern[1:-1]] = unquote(raw)
            elif pattern != raw:
                break
        else:
            return route, params
    return None
