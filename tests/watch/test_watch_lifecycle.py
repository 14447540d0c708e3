"""watch(): the first poll, replay, restarting from a saved state, breaking out, and errors."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from typing import TYPE_CHECKING

import pytest

from docr_async import (
    NO_RETRY,
    AuthenticationError,
    DOCRClient,
    NotFoundError,
    RateLimiter,
    ServerError,
    ValidationError,
)
from docr_async.watch import RepositoryCreated, TagDeleted, TagPushed, WatchEvent, WatchState

from .conftest import INTERVAL, REGISTRY, Done, Script, drain, repos

if TYPE_CHECKING:
    from docr_async.testing import FakeDOCR


async def test_the_first_poll_reports_nothing_and_replay_reports_everything(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    quiet = client.watch(REGISTRY, budget=1.0)
    async with aclosing(quiet.poll()) as events:
        assert [e async for e in events] == []
    assert quiet.state is not None
    assert set(quiet.state.repositories) == set(repos(fake))

    replay = client.watch(REGISTRY, budget=1.0, replay=True)
    async with aclosing(replay.poll()) as events:
        got = [e async for e in events]
    created = {e.repository for e in got if isinstance(e, RepositoryCreated)}
    pushed = {(e.repository, e.tag, e.digest) for e in got if isinstance(e, TagPushed)}
    assert created == set(repos(fake))
    assert pushed == {
        (name, tag.name, tag.manifest.digest)
        for name, repo in repos(fake).items()
        for tag in repo.tags.values()
    }
    assert len(got) == len(created) + len(pushed)


async def test_a_restart_from_the_saved_state_reports_the_rest_once(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    a = sorted(repos(fake))[0]
    first = client.watch(REGISTRY, budget=1.0)
    async with aclosing(first.poll()) as events:
        assert [e async for e in events] == []
    doomed = sorted(repos(fake)[a].tags)[:3]
    for tag in doomed:
        fake.state.delete_tag(REGISTRY, a, tag, fake.clock())
    # The bot handles one event, saves its state and stops in the middle of the poll.
    async with aclosing(first.poll()) as events:
        handled = await anext(events)
        saved = json.dumps(first.state.to_json() if first.state else None)
    assert isinstance(handled, TagDeleted)
    sent = len(fake.requests)

    second = client.watch(since=json.loads(saved), budget=1.0)
    async with aclosing(second.poll()) as events:
        rest = [e async for e in events]
    assert [(e.kind, e.tag) for e in [handled, *rest] if isinstance(e, TagDeleted)] == [
        ("tag_deleted", t) for t in doomed
    ]
    assert len(rest) == 2
    assert len(fake.requests) > sent
    # Same change, same id: a bot that had announced `handled` before a crash can skip it.
    again = WatchState.from_json(json.loads(saved))
    again.repositories[a].tags[handled.tag] = (handled.digest, stamp_of(handled))
    replayed = client.watch(since=again, budget=1.0)
    async with aclosing(replayed.poll()) as events:
        repeated = [e async for e in events]
    assert handled.id in {e.id for e in repeated}


def stamp_of(event: TagDeleted) -> str:
    return event.previous_updated_at.isoformat() if event.previous_updated_at else ""


async def test_breaking_out_leaves_no_task_and_sends_nothing_more(fake: FakeDOCR, client: DOCRClient) -> None:
    a = sorted(repos(fake))[0]
    script = Script(fake, [lambda: fake.push(REGISTRY, a, ["x1", "x2", "x3"])], extra_polls=5)
    seen: list[WatchEvent] = []
    before = asyncio.all_tasks()
    async with client.watch(REGISTRY, interval=INTERVAL, sleep=script, budget=1.0) as events:
        async for event in events:
            seen.append(event)
            break
    sent = len(fake.requests)
    assert [e.kind for e in seen] == ["tag_pushed"]
    assert client_tasks(asyncio.all_tasks() - before) == set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(fake.requests) == sent


def client_tasks(tasks: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    """Tasks that are not the fake server's own connection handlers."""
    return {t for t in tasks if "RequestHandler" not in repr(t.get_coro())}


async def test_an_invalid_token_raises_authentication_error(fake: FakeDOCR) -> None:
    async with DOCRClient("dop_v1_" + "0" * 64, base_url=fake.url) as bad:
        with pytest.raises(AuthenticationError):
            await anext(aiter(bad.watch(REGISTRY)))


async def test_an_unknown_registry_raises_not_found(fake: FakeDOCR, client: DOCRClient) -> None:
    with pytest.raises(NotFoundError):
        await anext(aiter(client.watch("no-such-registry")))
    state = WatchState(registry="no-such-registry")
    with pytest.raises(NotFoundError):
        await anext(aiter(client.watch(since=state)))


async def test_bad_options_raise_before_any_request(fake: FakeDOCR, client: DOCRClient) -> None:
    sent = len(fake.requests)
    for options in (
        {"interval": 0},
        {"budget": 2},
        {"kinds": ["nope"]},
        {"since": {"version": 99}},
        {"since": {"version": 1, "registry": "example"}},
        {"slow_every": 0},
        {"registry": "other", "since": WatchState(registry=REGISTRY)},
    ):
        with pytest.raises(ValidationError):
            client.watch(**options)
    assert len(fake.requests) == sent


async def test_a_failed_poll_is_retried_next_interval_and_persistent_failure_raises(fake: FakeDOCR) -> None:
    a = sorted(repos(fake))[0]
    limiter = RateLimiter(clock=fake.clock)
    async with DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter, retry=NO_RETRY) as client:
        watcher = client.watch(REGISTRY, interval=INTERVAL, budget=1.0)
        async with aclosing(watcher.poll()) as events:
            assert [e async for e in events] == []
        fake.set_faults(error_rate=1.0, error_statuses=(503,))

        def heal() -> None:
            fake.clear_faults()
            fake.push(REGISTRY, a, "after-outage")

        script = Script(fake, [heal], extra_polls=0)
        resumed = client.watch(
            since=watcher.state, interval=INTERVAL, sleep=script, budget=1.0, kinds=[TagPushed, "tag_deleted"]
        )
        seen: list[tuple[int, WatchEvent]] = []
        with pytest.raises(Done):
            await drain(resumed, script, seen)
        assert [(e.kind, getattr(e, "tag", "")) for _, e in seen] == [("tag_pushed", "after-outage")]
        assert script.sleeps == [INTERVAL, INTERVAL]

        fake.set_faults(error_rate=1.0, error_statuses=(503,))
        endless = Script(fake, [None] * 10)
        failing = client.watch(since=resumed.state, interval=INTERVAL, sleep=endless, max_failures=3)
        with pytest.raises(ServerError):
            await drain(failing, endless, seen)
        assert endless.sleeps == [INTERVAL, 2 * INTERVAL]
        assert failing.last_poll is not None
        assert failing.last_poll.error is not None


async def test_a_registry_handle_watches_its_registry_or_the_default(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    for handle in (client.registry(REGISTRY), client.registry()):
        watcher = handle.watch(budget=1.0)
        async with aclosing(watcher.poll()) as events:
            assert [e async for e in events] == []
        assert watcher.state is not None
        assert watcher.state.registry == REGISTRY
