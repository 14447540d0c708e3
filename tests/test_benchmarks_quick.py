"""The benchmark suite still runs: ``python -m benchmarks --quick`` exits 0 and writes its tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmarks read /proc")
def test_quick_benchmarks_run_and_write_a_table(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONWARNINGS": "error",  # the child processes too: unclosed sessions must not pass quietly
    }
    # Its own process group, so a timeout kills the fake servers and workers it started as well.
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr_bytes = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        pytest.fail(f"python -m benchmarks --quick took more than {TIMEOUT:g}s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout.decode()[-3000:] + stderr_bytes.decode()[-3000:]
    stderr = stderr_bytes.decode()
    assert "Exception ignored" not in stderr, stderr[-3000:]
    assert "ResourceWarning" not in stderr, stderr[-3000:]
    text = out.read_text()
    assert "Quick mode" in text
    assert "| scenario | target | measured | result |" in text
    for title in (
        "Per-request overhead",
        "Full listing",
        "Bulk deletion",
        "Memory",
        "Import time",
        "processes",
        "verification window",
    ):
        assert title in text
    assert "scenario failed" not in text
    assert text.count("|---|") >= 7  # the summary and at least one table per scenario
