"""Start and stop FakeDOCR (``python -m docr_async.testing``) in a child process, with bounded waits."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, Self

if TYPE_CHECKING:
    from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = "example"
"""The first seeded registry."""
REPOSITORY = "api"
"""The first seeded repository of every registry."""

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1
_LIVE: set[subprocess.Popen[bytes]] = set()
# Loopback only, and never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        _stop(proc, grace=1.0)


atexit.register(_kill_leftovers)


def _stop(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL; never waits unboundedly."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    _LIVE.discard(proc)


def die_with_parent() -> None:
    """In a child before ``exec``: get SIGTERM if the benchmark process dies (Linux ``prctl``)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env() -> dict[str, str]:
    """The environment of child processes: the project root on ``PYTHONPATH``, no proxies."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class FakeServer:
    """FakeDOCR in its own process (own event loop, own GIL); use as a context manager.

    Args:
        args: Command-line arguments for ``python -m docr_async.testing`` (``--port 0`` is added).
        startup_timeout: Seconds to wait for the server's one JSON line before killing it.
        profile_to: Run the server under cProfile and write its profile here when it stops.
    """

    def __init__(self, *args: str, startup_timeout: float = 60.0, profile_to: str | None = None) -> None:
        self.args = ["--port", "0", *args]
        self.module = (
            ["docr_async.testing"] if profile_to is None else ["benchmarks._profiled_fake", profile_to]
        )
        self.startup_timeout = startup_timeout
        self.url = ""
        self.token = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None, "not started"
        return self._proc.pid

    def start(self) -> None:
        """Spawn the server and wait (bounded) for its ``{"url", "token"}`` line."""
        # A file, not a pipe, so a chatty server can never block (kept only until it is up).
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", *self.module, *self.args],
                cwd=ROOT,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
            _LIVE.add(proc)
            self._proc = proc
            line = self._read_line(proc, stderr)
        info = json.loads(line)
        self.url, self.token = info["url"], info["token"]
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"refusing a non-loopback fake at {self.url}")

    def _read_line(self, proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> bytes:
        """The server's first stdout line, waiting at most ``startup_timeout`` seconds."""
        assert proc.stdout is not None
        line = b""
        deadline = time.monotonic() + self.startup_timeout
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or proc.poll() is not None:
                    self._fail(proc, stderr)
                if not sel.select(timeout=min(left, 0.5)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    self._fail(proc, stderr)
                line += chunk
        return line

    def _fail(self, proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> NoReturn:
        _stop(proc, grace=2.0)
        self._proc = None
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"FakeDOCR did not start within {self.startup_timeout:g}s: {tail}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a bounded wait). Idempotent."""
        if self._proc is not None:
            _stop(self._proc, grace=5.0)
            self._proc = None

    def signal(self, signum: int) -> None:
        """Send a signal to the server process."""
        assert self._proc is not None, "not started"
        self._proc.send_signal(signum)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    # ---- control routes (synchronous; only ever called outside timed sections) -------------------

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call a ``/_fake/...`` control route and return its JSON (``None`` for 204)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with _OPENER.open(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def state(self) -> dict[str, Any]:
        """``GET /_fake/state`` (counts, ``requests_served``, ``throttled_served``)."""
        result: dict[str, Any] = self.control("GET", "/_fake/state")
        return result

    def reset_rate_limits(self) -> None:
        """Forget every counted request (keeps the configured limits)."""
        config = self.control("GET", "/_fake/rate-limits")
        self.control("PUT", "/_fake/rate-limits", {**config, "reset": True})

    def reseed(self, **spec: Any) -> None:
        """Replace the account with a freshly seeded one (same seed: same names)."""
        self.control("POST", "/_fake/seed", spec)

    def tag_names(self, registry: str = REGISTRY, repository: str = REPOSITORY) -> list[str]:
        """Every tag name of a repository, newest first (costs rate-limit budget: reset afterwards)."""
        names: list[str] = []
        page = 1
        while True:
            body = self.control(
                "GET", f"/v2/registries/{registry}/repositories/{repository}/tags?per_page=200&page={page}"
            )
            names += [tag["tag"] for tag in body["tags"]]
            if "next" not in (body.get("links") or {}).get("pages", {}):
                return names
            page += 1
