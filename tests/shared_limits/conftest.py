"""A real ``redis-server`` on 127.0.0.1 for the Redis limiter's tests, started and stopped per test.

Skipped with a clear reason when the binary is absent, unless ``DOCR_REQUIRE_REDIS`` is set (CI
sets it in ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


class RedisServer:
    """One redis-server process on a free loopback port, without persistence."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        for _ in range(5):  # a free port can be taken between finding and binding it: try another
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            args = [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--loglevel",
                "warning",
            ]
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._ready(deadline=time.monotonic() + 10):
                return
            self.stop()
        pytest.fail("redis-server did not start on a free port after 5 tries")

    def _ready(self, deadline: float) -> bool:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)  # polling a starting process, not fixing a race in the code under test
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running redis-server, killed after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("DOCR_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed but DOCR_REQUIRE_REDIS is set (CI must test Redis)")
        pytest.skip(
            "redis-server is not installed (apt-get install redis-server); the Redis limiter is untested"
        )
    with tempfile.TemporaryDirectory() as workdir:
        server = RedisServer(binary, Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop()
