"""examples/release_bot.py: announces each release once, skips other tags, resumes from its state."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from release_bot import run_bot

from docr_async import DOCRClient

from .conftest import REGISTRY
from .test_commands import clean, documented_command, run

if TYPE_CHECKING:
    from pathlib import Path

    from docr_async.testing import FakeDOCR


async def test_each_release_is_announced_once_across_a_restart(fake: FakeDOCR, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    repo = sorted(fake.state.registries[REGISTRY].repositories)[0]
    messages: list[str] = []
    stop = asyncio.Event()
    sleeps = 0

    async def sleep(seconds: float) -> None:  # one interval: the writer acts, then the bot polls again
        nonlocal sleeps
        sleeps += 1
        if sleeps == 1:
            fake.push(REGISTRY, repo, ["v9.9.9", "nightly"])
        else:
            stop.set()
            await asyncio.Event().wait()  # cancelled by the stop

    async with DOCRClient(fake.token, base_url=fake.url) as client:
        count = await run_bot(
            client, REGISTRY, stop=stop, state_path=state, on_message=messages.append, sleep=sleep, budget=1.0
        )
        assert count == 1
        assert len(messages) == 1
        assert messages[0].startswith(f"{REGISTRY}/{repo}:v9.9.9 released (sha256:")
        saved = json.loads(state.read_text())
        assert saved["repositories"][repo]["tags"]["v9.9.9"]

        again: list[str] = []
        count = await run_bot(
            client, REGISTRY, stop=asyncio.Event(), state_path=state, on_message=again.append, polls=1
        )
        assert (count, again) == (0, [])


async def test_the_documented_command_replays_the_releases(tmp_path: Path) -> None:
    code, out, err = await run(documented_command("release_bot"), tmp_path)
    assert code == 0, err
    clean(err)
    lines = out.splitlines()
    assert lines[-1].startswith("release bot stopped after ")
    announced = int(lines[-1].split()[4])
    assert announced > 0
    assert len([line for line in lines if " released (sha256:" in line]) == announced
    assert (tmp_path / "release_bot.state.json").exists()
