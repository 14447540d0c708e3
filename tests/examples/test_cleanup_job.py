"""examples/cleanup_job.py run in-process (``main_async(argv)``) against a FakeDOCR."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from functools import partial
from typing import TYPE_CHECKING, Any

import cleanup_job
import pytest
from _target import open_target

from docr_async import NO_RETRY
from docr_async.cleanup import CleanupPlan
from docr_async.testing import FakeDOCR, FaultConfig, GCConfig, SeedSpec

from .conftest import REGISTRY, tag_counts

if TYPE_CHECKING:
    from pathlib import Path

    from aiohttp import web

KEEP = 2


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {"plan": tmp_path / "plan.json", "report": tmp_path / "report.json"}


@pytest.fixture
def argv(fake: FakeDOCR, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Options for a run against the fake: ``--base-url`` plus the token in the environment."""
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", fake.token)
    return [
        "--base-url",
        fake.url,
        "--keep-last",
        str(KEEP),
        "--plan-file",
        str(files["plan"]),
        "--report-file",
        str(files["report"]),
        "--gc-poll",
        "0.01",
    ]


def read_report(files: dict[str, Path]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(files["report"].read_text())
    return report


def deletes(fake: FakeDOCR) -> int:
    return sum(r.method == "DELETE" for r in fake.requests)


def on_first_delete(action: Any) -> Any:
    """A FakeDOCR response hook calling ``action()`` once, after the first deletion is applied."""
    done: list[bool] = []

    def hook(request: web.Request, _response: web.Response, _body: bytes) -> None:
        if request.method == "DELETE" and not done:
            done.append(True)
            action()

    return hook


async def test_dry_run_writes_the_plan_and_deletes_nothing(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    before = tag_counts(fake)
    assert await cleanup_job.main_async(argv) == 0
    plan = CleanupPlan.from_json(files["plan"].read_text())
    assert plan.registry == REGISTRY
    assert plan.tags_removed == sum(max(0, n - KEEP) for n in before.values()) > 0
    report = read_report(files)
    assert report["ok"] is True
    assert report["mode"] == "dry-run"
    assert report["plan"]["requests"] == len(plan.deletions)
    assert report["cleanup"]["counts"]["would_delete"] == len(plan.deletions)
    assert report["garbage_collection"] is None
    assert tag_counts(fake) == before
    assert deletes(fake) == 0


async def test_apply_deletes_collects_garbage_and_reports(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    storage_before = fake.state.registries[REGISTRY].storage_usage_bytes
    assert await cleanup_job.main_async([*argv, "--apply"]) == 0
    report = read_report(files)
    assert report["ok"] is True
    assert report["mode"] == "apply"
    assert report["cleanup"]["counts"]["deleted"] == report["plan"]["requests"] > 0
    assert report["cleanup"]["counts"]["failed"] == 0
    gc = report["garbage_collection"]
    assert gc["status"] == "succeeded"
    assert gc["storage_before"] == storage_before > gc["storage_after"]
    assert all(n <= KEEP for n in tag_counts(fake).values())
    assert [g.status(fake.clock()) for g in fake.state.registries[REGISTRY].garbage_collections] == [
        "succeeded"
    ]


async def test_a_reviewed_plan_is_applied_later(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    assert await cleanup_job.main_async(argv) == 0  # dry run: writes the plan
    plan = CleanupPlan.from_json(files["plan"].read_text())
    apply = ["--from-plan", str(files["plan"]), "--apply", "--base-url", fake.url, "--gc-poll", "0.01"]
    apply += ["--report-file", str(files["report"])]
    assert await cleanup_job.main_async(apply) == 0
    report = read_report(files)
    assert report["ok"] is True
    assert [item["key"] for item in report["cleanup"]["items"]] == [d.key for d in plan.deletions]
    assert deletes(fake) == len(plan.deletions)


async def test_failed_deletions_exit_non_zero(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(500,), methods=["DELETE"]))
    connect = partial(open_target, base_url=fake.url, token=fake.token, retry=NO_RETRY)
    assert await cleanup_job.main_async([*argv, "--apply"], connect=connect) == 1
    report = read_report(files)
    assert report["ok"] is False
    assert report["cleanup"]["counts"]["failed"] == report["plan"]["requests"] > 0
    assert report["garbage_collection"] is None  # nothing was deleted: no GC needed


async def test_revoked_token_exits_non_zero(fake: FakeDOCR, argv: list[str], files: dict[str, Path]) -> None:
    fake.revoke_token(fake.token)
    assert await cleanup_job.main_async(argv) == 1
    report = read_report(files)
    assert report["ok"] is False
    assert report["error"]["type"] == "AuthenticationError"
    assert report["plan"] is None


@pytest.mark.parametrize(
    ("gc", "extra", "status"),
    [
        (GCConfig(step_seconds=0.01, fail=True), [], "failed"),
        # Steps far longer than the hour the fake's clock moves per read: it never ends.
        (GCConfig(step_seconds=10**9), ["--gc-timeout", "0.05"], "timed_out"),
    ],
)
async def test_gc_failure_or_timeout_exits_non_zero(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path], gc: GCConfig, extra: list[str], status: str
) -> None:
    fake.gc_config = gc
    assert await cleanup_job.main_async([*argv, "--apply", *extra]) == 1
    report = read_report(files)
    assert report["ok"] is False
    assert report["cleanup"]["ok"] is True
    assert report["garbage_collection"]["status"] == status


def test_a_policy_that_deletes_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cleanup_job.parse_args([])
    assert exit_info.value.code == 2
    assert "deletes nothing" in capsys.readouterr().err


# -- Interruption: the partial report is still written ----------------------------------------------

BIG = SeedSpec(repos=4, tags=120, untagged=0, days=90, tier="starter")
"""Enough deletions (about 110) that an interruption after the first one leaves most undone."""


@pytest.mark.parametrize("seed_spec", [BIG])
async def test_cancellation_writes_the_partial_report(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    first_delete = asyncio.Event()
    fake.response_hooks.append(on_first_delete(first_delete.set))
    job = asyncio.ensure_future(cleanup_job.main_async([*argv, "--apply"]))
    await first_delete.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    report = read_report(files)
    assert report["ok"] is False
    assert report["interrupted"] is True
    counts = report["cleanup"]["counts"]
    assert sum(counts.values()) == report["plan"]["requests"]
    assert counts["not_attempted"] > 0
    in_flight = [item for item in report["cleanup"]["items"] if item["status"] == "failed"]
    assert all("interrupted while in flight" in item["detail"] for item in in_flight)
    assert counts["deleted"] + len(in_flight) >= deletes(fake) >= 1
    assert report["garbage_collection"] is None


@pytest.mark.parametrize("seed_spec", [BIG])
async def test_sigterm_cancels_cleanly_and_exits_143(
    fake: FakeDOCR, argv: list[str], files: dict[str, Path]
) -> None:
    def sigterm() -> None:  # the real signal, sent to this process only while the job handles it
        if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGTERM)

    fake.response_hooks.append(on_first_delete(sigterm))
    assert await cleanup_job.main_async([*argv, "--apply"]) == 128 + signal.SIGTERM
    report = read_report(files)
    assert report["interrupted"] is True
    assert report["cleanup"]["counts"]["not_attempted"] > 0
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler was removed again
