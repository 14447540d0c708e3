"""``docr demo``: the real console script runs a whole cleanup against its embedded fake."""

from __future__ import annotations

import json
import subprocess

from .conftest import DOCR, base_env


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = base_env()  # no token anywhere: the demo needs none
    return subprocess.run(
        [*DOCR, "demo", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_demo_json_summary() -> None:
    done = run_demo("--repos", "5", "--tags", "150", "--seed", "3", "--latency", "0", "-o", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    before, after, report = summary["before"], summary["after"], summary["report"]
    assert before["repositories"] == 5
    assert before["tags"] >= 150
    assert {"team/api", "tools/build/base"} <= set(before["nested_repositories"])
    assert after["storage_usage_bytes"] < before["storage_usage_bytes"]
    assert summary["freed_bytes"] == before["storage_usage_bytes"] - after["storage_usage_bytes"] > 0
    assert report["ok"] is True
    assert report["items"] == summary["plan"]["requests"] > 0
    assert report["counts"]["deleted"] == report["items"], "every planned item was deleted"
    assert after["tags"] == before["tags"] - summary["plan"]["tags_removed"]
    assert summary["garbage_collection"]["status"] == "succeeded"
    assert summary["garbage_collection"]["freed_bytes"] == summary["freed_bytes"]
    assert summary["duration_seconds"] < 30


def test_demo_tables() -> None:
    done = run_demo("--repos", "3", "--tags", "60", "--latency", "0")
    assert done.returncode == 0, done.stderr
    for heading in ("Before: registry example", "Cleanup plan", "Cleanup report", "Before and after"):
        assert heading in done.stdout
    assert "demo finished" in done.stderr
    assert "Traceback" not in done.stderr
