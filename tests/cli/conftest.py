"""Fixtures for the CLI tests: a standalone FakeDOCR process per module, and a ``docr`` runner.

The fake runs as ``python -m docr_async.testing --port 0`` (it prints one JSON line with its url
and token) and is reset through its ``/_fake`` control routes before each test. Every ``docr``
invocation is the real console script in a subprocess, and every one checks that no token
appears in its output.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SEED = 7
SEED_SPEC: dict[str, Any] = {"repos": 4, "tags": 40, "untagged": 6, "days": 90, "tier": "professional"}
REGISTRY = "example"
STARTUP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 60.0

_SCRIPT = Path(sys.executable).with_name("docr")
DOCR: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "docr_async.cli"]


def read_until(
    proc: subprocess.Popen[bytes], marker: bytes, timeout: float, *, stream: str = "stdout"
) -> bytes:
    """Read ``proc``'s stdout (or stderr) until ``marker`` appears, within ``timeout`` seconds."""
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    fd = pipe.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {marker!r} within {timeout}s; got {data!r}")
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"process ended before {marker!r}; got {data!r}")
            data += chunk
    return data


@dataclass
class Fake:
    """A standalone FakeDOCR process and its control routes."""

    url: str
    token: str
    proc: subprocess.Popen[bytes] = field(repr=False)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def reset(self) -> None:
        """Fresh seeded data, fast GCs, no faults, no rate limiting."""
        self.control("POST", "/_fake/seed", {"seed": SEED, **SEED_SPEC})
        self.control("PUT", "/_fake/gc", {"step_seconds": 0.05})
        self.control("PUT", "/_fake/faults", {})
        self.control("PUT", "/_fake/rate-limits", {"enabled": False, "reset": True})
        self.control("DELETE", "/_fake/requests")

    def registry(self) -> dict[str, Any]:
        """The ``/_fake/state`` summary of the registry."""
        state = self.control("GET", "/_fake/state")
        return next(r for r in state["registries"] if r["name"] == REGISTRY)

    def requests(self) -> list[dict[str, Any]]:
        """The request log (oldest first)."""
        return list(self.control("GET", "/_fake/requests")["requests"])


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    """One standalone fake per test module, terminated at the end."""
    args = [sys.executable, "-m", "docr_async.testing", "--port", "0", "--seed", str(SEED), "--no-rate-limit"]
    args += ["--gc-step", "0.05", "--repos", "4", "--tags", "40", "--untagged", "6", "--tier", "professional"]
    # stderr goes to a file, never an undrained pipe: a fake that writes more than the pipe holds
    # would block mid-request, and every later test of the module would hang.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        try:
            try:
                line = read_until(proc, b"\n", STARTUP_TIMEOUT)
            except (TimeoutError, RuntimeError) as exc:
                log.seek(0)
                msg = f"{exc}; the fake's stderr: {log.read()[-4000:]!r}"
                raise RuntimeError(msg) from None
            info = json.loads(line)
            server = Fake(url=info["url"], token=info["token"], proc=proc)
            server.reset()
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


@dataclass
class Result:
    """A finished ``docr`` run."""

    code: int
    stdout: str
    stderr: str
    args: list[str]

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"docr {' '.join(self.args)} -> {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITALOCEAN_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", **extra})
    return env


@pytest.fixture
def docr(fake: Fake) -> Callable[..., Result]:
    """Run the real ``docr`` script against the fake (token from the environment, stdin closed)."""

    def run(
        *args: str,
        token: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Result:
        environment = base_env(DIGITALOCEAN_TOKEN=fake.token if token is None else token)
        if env is not None:
            environment.update(env)
        argv = ["--base-url", fake.url, *args]
        done = subprocess.run(
            [*DOCR, *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr, argv)
        secrets = {fake.token, environment.get("DIGITALOCEAN_TOKEN", "")}
        secrets.update(args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--token", "-t"))
        for secret in secrets - {""}:
            assert secret not in result.stdout, f"token leaked to stdout: {result}"
            assert secret not in result.stderr, f"token leaked to stderr: {result}"
        assert "Traceback" not in result.stderr, str(result)
        return result

    return run


@pytest.fixture
def docr_many(docr: Callable[..., Result]) -> Callable[..., list[Result]]:
    """Run independent ``docr`` commands concurrently (each a tuple of arguments), in order."""

    def run_all(*commands: tuple[str, ...]) -> list[Result]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda args: docr(*args), commands))

    return run_all


def signal_after(fake: Fake, argv: list[str], marker: bytes, signum: int) -> tuple[int, bytes, bytes]:
    """Run ``docr`` as a real subprocess, send ``signum`` once ``marker`` is on its stderr.

    Returns the exit code, stdout, and all of stderr. Signals reach it as they would from CI.
    """
    proc = subprocess.Popen(
        [*DOCR, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=base_env(DIGITALOCEAN_TOKEN=fake.token),
    )
    try:
        early = read_until(proc, marker, 60, stream="stderr")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    return proc.returncode, out, early + err
