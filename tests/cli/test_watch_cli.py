"""``docr watch`` as a real subprocess against the module's standalone FakeDOCR."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import TYPE_CHECKING

from .conftest import DOCR, REGISTRY, STARTUP_TIMEOUT, base_env, read_until

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import Fake


def start(fake: Fake, *args: str) -> subprocess.Popen[bytes]:
    argv = [*DOCR, "--base-url", fake.url, "watch", REGISTRY, "--interval", "0.05", *args]
    env = base_env(DIGITALOCEAN_TOKEN=fake.token)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.decode(), err.decode()


def test_watch_prints_json_lines_and_exits_0_on_sigterm(fake: Fake, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = start(fake, "-o", "json", "--state", str(state))
    try:
        read_until(proc, b"watching", STARTUP_TIMEOUT, stream="stderr")
        fake.control("POST", "/_fake/push", {"registry": REGISTRY, "repository": "bots/new", "tag": "v1"})
        seen = read_until(proc, b'"tag_pushed"', STARTUP_TIMEOUT)
        seen += read_until(proc, b"\n", STARTUP_TIMEOUT) if not seen.endswith(b"\n") else b""
    finally:
        code, out, err = stop(proc, signal.SIGTERM)
    lines = [json.loads(line) for line in (seen.decode() + out).splitlines() if line.strip()]
    kinds = [(e["kind"], e["repository"], e.get("tag")) for e in lines]
    assert ("repository_created", "bots/new", None) in kinds
    assert ("tag_pushed", "bots/new", "v1") in kinds
    assert all(len(e["id"]) == 32 for e in lines)
    assert code == 0, err
    assert fake.token not in out + err
    saved = json.loads(state.read_text())
    assert "bots/new" in saved["repositories"]

    # A restart from the saved state announces nothing again; text lines this time; Ctrl-C exits 0.
    fake.control("POST", "/_fake/push", {"registry": REGISTRY, "repository": "bots/new", "tag": "v2"})
    proc = start(fake, "--state", str(state))
    try:
        read_until(proc, b"watching", STARTUP_TIMEOUT, stream="stderr")
        first = read_until(proc, b"\n", STARTUP_TIMEOUT)
    finally:
        code, out, err = stop(proc, signal.SIGINT)
    text = first.decode() + out
    assert "tag_pushed bots/new:v2 sha256:" in text
    assert "v1" not in text
    assert code == 0, err


def test_watch_of_an_unknown_registry_exits_4(fake: Fake) -> None:
    argv = [*DOCR, "--base-url", fake.url, "watch", "no-such-registry"]
    done = subprocess.run(
        argv, capture_output=True, env=base_env(DIGITALOCEAN_TOKEN=fake.token), timeout=60, check=False
    )
    assert done.returncode == 4, done.stderr
