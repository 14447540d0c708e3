"""examples/storage_bot.py against a FakeDOCR: one iteration, the threshold, and stopping promptly."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
import storage_bot
from storage_bot import BotConfig, CheckResult, run_bot

from docr_async import DOCRClient
from docr_async.cleanup import RetentionPolicy
from docr_async.testing import TIERS, FakeDOCR, SeedSpec

from .conftest import REGISTRY, SMALL, tag_counts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp import web

KEEP = 2
ROOMY = SeedSpec(repos=4, tags=40, untagged=6, days=90, tier="professional")
"""The same data on Professional (100 GiB): far below any threshold."""


@pytest.fixture
async def client(fake: FakeDOCR) -> AsyncIterator[DOCRClient]:
    async with DOCRClient(fake.token, base_url=fake.url) as client:
        yield client


@pytest.fixture
def config() -> BotConfig:
    policy = RetentionPolicy(keep_last=KEEP, delete_untagged=True)
    return BotConfig(registry=REGISTRY, policy=policy, threshold=0.8, gc_poll=0.01, apply=True)


def gc_statuses(fake: FakeDOCR) -> list[str]:
    return [gc.status(fake.clock()) for gc in fake.state.registries[REGISTRY].garbage_collections]


def requests_of(fake: FakeDOCR, method: str) -> int:
    return sum(r.method == method for r in fake.requests)


async def test_above_the_threshold_it_cleans_up_and_collects_garbage(
    fake: FakeDOCR, client: DOCRClient, config: BotConfig, caplog: pytest.LogCaptureFixture
) -> None:
    used = fake.state.registries[REGISTRY].storage_usage_bytes
    assert used > TIERS[SMALL.tier or ""].included_storage_bytes * config.threshold
    results: list[CheckResult] = []
    checks = await run_bot(
        client, config, stop=asyncio.Event(), interval=3600, once=True, on_check=results.append
    )
    assert checks == 1
    [result] = results
    assert result.triggered
    assert result.usage_bytes == used
    assert result.fraction is not None
    assert result.fraction > 1
    assert result.cleanup is not None
    assert result.cleanup.ok
    assert result.cleanup.tags_removed > 0
    assert all(n <= KEEP for n in tag_counts(fake).values())
    assert result.gc is not None
    assert result.gc.garbage_collection.status == "succeeded"
    assert gc_statuses(fake) == ["succeeded"]
    assert fake.state.registries[REGISTRY].storage_usage_bytes < used
    assert any(r.levelname == "WARNING" and "threshold" in r.message for r in caplog.records)


@pytest.mark.parametrize("seed_spec", [ROOMY])
async def test_below_the_threshold_it_only_watches(
    fake: FakeDOCR, client: DOCRClient, config: BotConfig
) -> None:
    stop = asyncio.Event()
    results: list[CheckResult] = []

    def on_check(result: CheckResult) -> None:
        results.append(result)
        if len(results) == 3:
            stop.set()

    assert await run_bot(client, config, stop=stop, interval=0.001, on_check=on_check) == 3
    assert not any(result.triggered for result in results)
    assert all(result.fraction is not None and result.fraction < 0.01 for result in results)
    assert requests_of(fake, "DELETE") == 0
    assert gc_statuses(fake) == []


async def test_the_stop_event_ends_the_loop_promptly(client: DOCRClient, config: BotConfig) -> None:
    stop, checked = asyncio.Event(), asyncio.Event()
    bot = asyncio.ensure_future(
        run_bot(client, config, stop=stop, interval=3600, on_check=lambda _: checked.set())
    )
    await checked.wait()  # one check done; the bot now waits an hour for the next
    stop.set()
    assert await asyncio.wait_for(bot, timeout=2) == 1


async def test_stopping_mid_cleanup_cancels_it_cleanly(
    fake: FakeDOCR, client: DOCRClient, config: BotConfig
) -> None:
    stop = asyncio.Event()
    done: list[bool] = []

    def stop_on_first_delete(request: web.Request, _response: web.Response, _body: bytes) -> None:
        if request.method == "DELETE" and not done:
            done.append(True)
            stop.set()

    fake.response_hooks.append(stop_on_first_delete)
    checks = await asyncio.wait_for(run_bot(client, config, stop=stop, interval=3600), timeout=2)
    assert checks == 0  # the check was cancelled, not completed
    assert requests_of(fake, "DELETE") >= 1
    assert any(n > KEEP for n in tag_counts(fake).values())  # tags the policy deletes are still there
    assert gc_statuses(fake) == []


async def test_an_api_error_is_logged_and_the_bot_carries_on(
    fake: FakeDOCR, client: DOCRClient, config: BotConfig, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    refused: list[int] = []

    def stop_after_two_refusals(_request: web.Request, response: web.Response, _body: bytes) -> None:
        if response.status == 401:
            refused.append(401)
            if len(refused) == 2:
                stop.set()

    fake.response_hooks.append(stop_after_two_refusals)
    fake.revoke_token(fake.token)
    assert await asyncio.wait_for(run_bot(client, config, stop=stop, interval=0.001), timeout=2) == 0
    failures = [r for r in caplog.records if r.levelname == "ERROR" and "check failed" in r.message]
    assert len(failures) == 2
    assert fake.token not in caplog.text


async def test_without_apply_it_is_a_dry_run_that_names_its_target(
    fake: FakeDOCR, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", fake.token)
    before = tag_counts(fake)
    argv = ["--once", "--base-url", fake.url, "--keep-last", "3", "--older-than", "0s", "--gc-poll", "0.01"]
    assert await storage_bot.main_async(argv) == 0
    assert tag_counts(fake) == before
    assert requests_of(fake, "DELETE") == 0
    assert requests_of(fake, "POST") == 0  # no garbage collection either
    messages = [r.getMessage() for r in caplog.records]
    target = next(i for i, m in enumerate(messages) if m.startswith("using the API at " + fake.url))
    assert f"target: registry {REGISTRY} at {fake.url}" in messages[target + 1 :]
    assert any("dry run" in m and "pass --apply" in m for m in messages)


async def test_main_once_against_the_fake(
    fake: FakeDOCR, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", fake.token)
    argv = ["--once", "--base-url", fake.url, "--keep-last", "3", "--older-than", "0s", "--gc-poll", "0.01"]
    assert await storage_bot.main_async([*argv, "--apply"]) == 0
    assert "stopped after 1 check(s)" in capsys.readouterr().out
    assert all(n <= 3 for n in tag_counts(fake).values())
    assert gc_statuses(fake) == ["succeeded"]
