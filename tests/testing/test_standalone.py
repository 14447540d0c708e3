"""The standalone server: `python -m docr_async.testing`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from docr_async.testing.__main__ import build_parser, fake_from_args

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 15.0


async def spawn(*args: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "docr_async.testing",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def server() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str]]]:
    proc = await spawn("--port", "0", "--repos", "20", "--tags", "500", "--seed", "3")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)  # type: ignore[union-attr]
        yield proc, json.loads(line)
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.communicate(), TIMEOUT)


async def test_serves_then_exits_cleanly_on_sigterm(
    server: tuple[asyncio.subprocess.Process, dict[str, str]], http: aiohttp.ClientSession
) -> None:
    # How fast it starts is shown by `python -m benchmarks --only startup`, not asserted here.
    proc, info = server
    assert set(info) == {"url", "token"}
    assert info["url"].startswith("http://127.0.0.1:")
    assert info["token"].startswith("dop_v1_")
    headers = {"Authorization": f"Bearer {info['token']}"}
    async with http.get(
        f"{info['url']}/v2/registries/example/repositoriesV2?per_page=200", headers=headers
    ) as r:
        assert r.status == 200
        body = await r.json()
    assert body["meta"]["total"] == 20
    async with http.get(f"{info['url']}/_fake/state", headers=headers) as r:
        assert (await r.json())["totals"]["tags"] == 500
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 0, stderr.decode()
    assert stdout == b""  # exactly one line was printed, and it was already read
    assert b"Traceback" not in stderr


async def test_ctrl_c_exits_zero() -> None:
    proc = await spawn("--port", "0", "--token", "dop_v1_custom", "--error-rate", "0.5", "--gc-step", "0.1")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)  # type: ignore[union-attr]
        assert json.loads(line)["token"] == "dop_v1_custom"
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode == 0, stderr.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.communicate(), TIMEOUT)


async def test_invalid_arguments_exit_2() -> None:
    proc = await spawn("--error-rate", "2")
    _, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 2
    assert b"error_rate" in stderr


def test_arguments_map_to_configuration() -> None:
    args = build_parser().parse_args(
        [
            "--seed",
            "9",
            "--registries",
            "2",
            "--repos",
            "4",
            "--tags",
            "30",
            "--untagged",
            "3",
            "--days",
            "7",
            "--hourly-limit",
            "20",
            "--hourly-window",
            "2",
            "--burst-limit",
            "5",
            "--burst-window",
            "1",
            "--drop-rate",
            "0.1",
            "--spurious-429-rate",
            "0.2",
            "--latency",
            "0.01",
            "--gc-step",
            "0.5",
        ]
    )
    fake = fake_from_args(args)
    assert fake.seed == 9
    assert fake.rate_limits.hourly_limit == 20
    assert fake.rate_limits.hourly_window == 2
    assert fake.rate_limits.burst_limit == 5
    assert fake.faults.drop_rate == 0.1
    assert fake.faults.spurious_429_rate == 0.2
    assert fake.faults.latency == 0.01
    assert fake.gc_config.step_seconds == 0.5
    assert len(fake.state.registries) == 2
    assert fake.host == "127.0.0.1"
