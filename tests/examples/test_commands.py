"""Run each example the way its docstring says, as a subprocess against its embedded fake.

The command is read from the module docstring, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import signal
import sys
from typing import TYPE_CHECKING

import aiohttp
import pytest

from .conftest import EXAMPLES, example_env

if TYPE_CHECKING:
    from pathlib import Path

TIMEOUT = 20.0


def documented_command(name: str) -> list[str]:
    """The ``python examples/<name>.py ...`` line at the top of the example, ready to run."""
    text = (EXAMPLES / f"{name}.py").read_text()
    docstring = text.split('"""')[1]
    match = re.search(rf"^\s+python (examples/{name}\.py.*)$", docstring, re.MULTILINE)
    assert match, f"examples/{name}.py documents no 'python examples/{name}.py' command"
    script, *args = shlex.split(match.group(1))
    return [sys.executable, "-W", "error", str(EXAMPLES.parent / script), *args]


async def run(command: list[str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=example_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def clean(stderr: str) -> None:
    for bad in ("Traceback", "Unclosed", "ResourceWarning", "Task was destroyed", "never awaited"):
        assert bad not in stderr, stderr


async def test_cleanup_job_dry_run(tmp_path: Path) -> None:
    command = documented_command("cleanup_job")
    assert "--apply" not in command
    code, _, err = await run(command, tmp_path)
    assert code == 0, err
    clean(err)
    report = json.loads((tmp_path / "cleanup-report.json").read_text())
    assert report["ok"] is True
    assert report["mode"] == "dry-run"
    assert report["cleanup"]["counts"]["would_delete"] > 0
    assert json.loads((tmp_path / "cleanup-plan.json").read_text())["registry"] == "example"


async def test_storage_bot_once(tmp_path: Path) -> None:
    command = documented_command("storage_bot")
    assert "--once" in command
    code, out, err = await run(command, tmp_path)
    assert code == 0, err
    clean(err)
    assert "stopped after 1 check(s)" in out
    assert "cleaning example" in err  # the embedded registry is above 80% of Basic's 5 GiB
    assert "dry run:" in err  # no --apply: nothing deleted, no garbage collection
    assert "garbage collection" not in err
    code, out, err = await run([*command, "--apply"], tmp_path)
    assert code == 0, err
    clean(err)
    assert "garbage collection succeeded" in err


async def test_storage_bot_stops_on_sigterm(tmp_path: Path) -> None:
    command = [c for c in documented_command("storage_bot") if c != "--once"]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=example_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            async for line in proc.stderr:  # wait until the first check is over
                if b"dry run:" in line:
                    break
            proc.send_signal(signal.SIGTERM)
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    clean(err.decode())
    assert "stopped after 1 check(s)" in out.decode()


async def test_web_app_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = documented_command("web_app")
    port = command.index("--port") + 1
    command[port] = "0"  # the documented 8080 may be taken: let the OS pick
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=example_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            line = (await proc.stdout.readline()).decode()
            match = re.search(r"Running on (http://\S+)", line)
            assert match, line
            async with aiohttp.ClientSession() as http, http.get(f"{match.group(1)}/registries") as response:
                assert response.status == 200
                assert [r["name"] for r in (await response.json())["registries"]] == ["example"]
            proc.send_signal(signal.SIGTERM)
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    clean(err.decode())


@pytest.mark.parametrize("name", ["web_app", "cleanup_job", "storage_bot"])
def test_every_example_documents_one_command(name: str) -> None:
    assert documented_command(name)[3] == str(EXAMPLES / f"{name}.py")
