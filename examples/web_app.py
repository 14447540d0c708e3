"""An aiohttp.web application serving container-registry data through ONE shared docr-async client.

Run it (against an embedded fake registry unless ``DIGITALOCEAN_TOKEN`` is set)::

    python examples/web_app.py --port 8080

Then try::

    curl localhost:8080/registries
    curl localhost:8080/registries/example/repositories                  # NDJSON, every repository
    curl 'localhost:8080/registries/example/repositories?per_page=2'     # one page + next_page_token
    curl 'localhost:8080/registries/example/repositories/team/api/tags?per_page=5&page=2'
    curl localhost:8080/registries/example/storage
    curl localhost:8080/registries/example/gc

The client is opened once, in a ``cleanup_ctx``, and shared by every request: its connection pool,
rate limiter and concurrency bound are meant to be shared. SDK errors become HTTP answers in one
middleware. The app has no authentication of its own: keep it on localhost or behind your proxy.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from _target import open_client
from aiohttp import web

from docr_async import (
    AsyncPager,
    AuthenticationError,
    BadRequestError,
    DOCRClient,
    DOCRError,
    NotFoundError,
    Page,
    RateLimitError,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from _target import ClientFactory
    from aiohttp.typedefs import Handler

logger = logging.getLogger("web_app")

CLIENT = web.AppKey("docr_client", DOCRClient)
NDJSON = "application/x-ndjson"
DEFAULT_PER_PAGE = 20


# -- JSON ------------------------------------------------------------------------------------------


def _value(_inst: Any, _field: Any, value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a timestamp (the SDK's are timezone-aware UTC)."""
    return None if value is None else value.isoformat()


def as_json(model: Any) -> dict[str, Any]:
    """A model as a JSON-ready dict (datetimes as ISO 8601; the ``extra`` catch-all left out)."""
    return attrs.asdict(model, filter=lambda field, _: field.name != "extra", value_serializer=_value)


def ndjson(items: Sequence[Any]) -> bytes:
    """One JSON document per line."""
    return b"".join(json.dumps(as_json(item)).encode() + b"\n" for item in items)


def query_int(query: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """An integer query parameter (ValidationError, hence 400, when it is not one)."""
    raw = query.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValidationError(name, raw, f"must be an integer >= {minimum}")
    return int(raw)


# -- Errors ----------------------------------------------------------------------------------------


def error_response(
    status: int, exc: Exception, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """``{"error": {"type", "message", "request_id"}}`` with ``status``."""
    body = {"error": {"type": type(exc).__name__, "message": message}}
    request_id = getattr(exc, "request_id", None)
    if request_id:
        body["error"]["request_id"] = request_id
    return web.json_response(body, status=status, headers=headers)


def retry_after_seconds(exc: RateLimitError) -> int:
    """Seconds for the ``Retry-After`` header: the SDK's wait, else until the hourly reset."""
    if exc.retry_after is not None:
        wait = exc.retry_after
    elif exc.reset_at is not None:
        wait = exc.reset_at.timestamp() - datetime.now(exc.reset_at.tzinfo).timestamp()
    else:
        wait = 60.0
    return max(1, math.ceil(round(wait, 3)))  # whole seconds, never less than asked


@web.middleware
async def sdk_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map SDK errors to HTTP answers (the order matters: the specific classes come first)."""
    try:
        return await handler(request)
    except NotFoundError as exc:
        return error_response(404, exc, exc.message)
    except ValidationError as exc:  # raised by the SDK before sending anything
        return error_response(400, exc, str(exc))
    except BadRequestError as exc:  # the API rejected what the caller passed through (a bad page_token)
        return error_response(400, exc, exc.message)
    except RateLimitError as exc:  # a 429 after retries, or a wait longer than max_wait
        headers = {"Retry-After": str(retry_after_seconds(exc))}
        return error_response(429, exc, "rate limited by the DigitalOcean API", headers)
    except AuthenticationError as exc:  # OUR upstream credentials are bad: not the caller's fault
        logger.error("the DigitalOcean API rejected our token: %s", exc)
        return error_response(502, exc, "upstream authentication failed")
    except DOCRError as exc:  # other API statuses, connection errors, timeouts, runaway pagination
        logger.warning("upstream error on %s: %s", request.path, exc)
        return error_response(502, exc, "upstream error")


# -- Handlers --------------------------------------------------------------------------------------


async def stream_ndjson(request: web.Request, pager: AsyncPager[Any]) -> web.StreamResponse:
    """Stream every item of a listing as NDJSON, one chunk per page, while the next page is fetched.

    Headers go out with the first page, so an error on it (unknown registry ...) still reaches the
    middleware as a proper status. An error later ends the stream with an ``{"error": ...}`` line.
    """
    response = web.StreamResponse()
    response.content_type = NDJSON
    try:
        async with aclosing(pager.pages()) as pages:
            async for page in pages:
                if not response.prepared:
                    await response.prepare(request)
                await response.write(ndjson(page.items))
    except DOCRError as exc:
        if not response.prepared:
            raise
        logger.warning("listing %s failed mid-stream: %s", request.path, exc)
        line = {"error": {"type": type(exc).__name__, "message": "upstream error"}}
        await response.write(json.dumps(line).encode() + b"\n")
    if not response.prepared:
        await response.prepare(request)
    await response.write_eof()
    return response


async def nth_page(pager: AsyncPager[Any], number: int) -> Page[Any]:
    """Page ``number`` of a page-numbered listing (an empty page past the end).

    SDK listings always start at page 1 (there is no ``page=`` argument), so this walks the pages,
    which the pager prefetches concurrently, and stops at the wanted one; ``aclosing`` cancels the
    prefetches nobody needs.
    """
    async with aclosing(pager.pages()) as pages:
        async for page in pages:
            if page.page == number:
                return page
            if number > (page.last_page or page.page):
                break
    return attrs.evolve(page, items=(), links={}, query={**page.query, "page": str(number)})


async def list_registries(request: web.Request) -> web.Response:
    listing = await request.app[CLIENT].registries.list()
    return web.json_response(
        {
            "registries": [as_json(registry) for registry in listing.registries],
            "total_storage_usage_bytes": listing.total_storage_usage_bytes,
        }
    )


async def list_repositories(request: web.Request) -> web.StreamResponse:
    """NDJSON of every repository, or one page with ``?per_page=`` / ``?page_token=``."""
    client, registry, query = request.app[CLIENT], request.match_info["registry"], request.query
    if "per_page" not in query and "page_token" not in query:
        return await stream_ndjson(request, client.repositories.list(registry))
    per_page = query_int(query, "per_page", DEFAULT_PER_PAGE)
    page = await client.repositories.list(
        registry, per_page=per_page, page_token=query.get("page_token") or None
    )
    return web.json_response(
        {
            "repositories": [as_json(repo) for repo in page.items],
            "total": page.total,
            "next_page_token": page.next_page_token,
        }
    )


async def list_tags(request: web.Request) -> web.StreamResponse:
    """NDJSON of every tag (newest first), or one page with ``?per_page=&page=``."""
    client, query = request.app[CLIENT], request.query
    registry, repository = request.match_info["registry"], request.match_info["repository"]
    if "per_page" not in query and "page" not in query:
        return await stream_ndjson(request, client.tags.list(repository, registry=registry))
    per_page = query_int(query, "per_page", DEFAULT_PER_PAGE)
    number = query_int(query, "page", 1)
    page = await nth_page(client.tags.list(repository, registry=registry, per_page=per_page), number)
    return web.json_response(
        {
            "tags": [as_json(tag) for tag in page.items],
            "page": number,
            "per_page": per_page,
            "last_page": page.last_page,
            "total": page.total,
        }
    )


async def storage(request: web.Request) -> web.Response:
    """The registry's storage usage against the storage its subscription tier includes."""
    client, name = request.app[CLIENT], request.match_info["registry"]
    registry = await client.registries.get(name)  # 404 for an unknown registry
    tier = (await client.registries.get_subscription()).tier
    used, included = registry.storage_usage_bytes, tier.included_storage_bytes if tier else None
    return web.json_response(
        {
            "registry": registry.name,
            "storage_usage_bytes": used,
            "storage_usage_bytes_updated_at": iso(registry.storage_usage_bytes_updated_at),
            "tier": tier.slug if tier else None,
            "included_storage_bytes": included,
            "allow_storage_overage": tier.allow_storage_overage if tier else None,
            "used_fraction": round(used / included, 4) if used is not None and included else None,
        }
    )


async def active_gc(request: web.Request) -> web.Response:
    """The active garbage collection, or ``null``."""
    client, name = request.app[CLIENT], request.match_info["registry"]
    active = await client.garbage_collections.get_active(name)
    if active is None:
        # The API answers 404 both for "none active" and for an unknown registry: tell them apart.
        await client.registries.get(name)
    return web.json_response(
        {"registry": name, "garbage_collection": None if active is None else as_json(active)}
    )


# -- The application -------------------------------------------------------------------------------


def create_app(connect: ClientFactory = open_client) -> web.Application:
    """The application. ``connect`` opens the one shared client (tests pass one for their fake)."""

    async def docr_client(app: web.Application) -> AsyncIterator[None]:
        async with connect() as client:
            app[CLIENT] = client
            yield  # the application serves requests here; the client closes on shutdown

    app = web.Application(middlewares=[sdk_errors])
    app.cleanup_ctx.append(docr_client)
    app.add_routes(
        [
            web.get("/registries", list_registries),
            web.get("/registries/{registry}/repositories", list_repositories),
            web.get("/registries/{registry}/repositories/{repository:.+}/tags", list_tags),
            web.get("/registries/{registry}/storage", storage),
            web.get("/registries/{registry}/gc", active_gc),
        ]
    )
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port; 0 picks a free one (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
