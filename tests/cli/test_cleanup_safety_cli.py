"""``docr cleanup`` under issue 13: the delete-everything guard, tampered plans, SIGTERM, private files."""

from __future__ import annotations

import json
import signal
import stat
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.cli import ExitCode

from .conftest import REGISTRY, Fake, Result, signal_after

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Docr = Callable[..., Result]


@pytest.fixture(autouse=True)
def _fresh_state(fake: Fake) -> None:
    fake.reset()


def deletes(fake: Fake) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["method"] == "DELETE"]


def test_a_policy_that_empties_repositories_is_refused_naming_them_and_the_flag(
    docr: Docr, fake: Fake
) -> None:
    everything = ("cleanup", REGISTRY, "--keep-last", "0", "--no-default-protect", "--apply")
    refused = docr(*everything)
    assert refused.code == ExitCode.USAGE, str(refused)
    assert "without any tag" in refused.stderr
    assert "--allow-empty-repositories" in refused.stderr
    repositories = [r["name"] for r in docr("repos", "list", REGISTRY, "-o", "json").json()]
    assert all(name in refused.stderr for name in repositories)
    assert deletes(fake) == []
    allowed = docr(*everything, "--allow-empty-repositories", "-o", "json")
    assert allowed.code == 0, str(allowed)
    assert fake.registry()["tags"] == 0


def test_a_tampered_plan_file_skips_what_its_policy_protects_and_exits_0_with_a_warning(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    dry = docr("cleanup", REGISTRY, "--keep-last", "2", "-o", "json")
    victim = next(d for d in dry.json()["plan"]["deletions"] if d["kind"] == "tag")
    plan_path = tmp_path / "plan.json"
    saved = docr(
        "cleanup", REGISTRY, "--keep-last", "2", "--protect", victim["tag"], "--save-plan", str(plan_path)
    )
    assert saved.code == 0, str(saved)
    assert stat.S_IMODE(plan_path.stat().st_mode) == 0o600
    plan = json.loads(plan_path.read_text())
    assert victim["tag"] not in [d["tag"] for d in plan["deletions"]]
    plan["deletions"].insert(0, victim)  # a hand edit: delete the protected tag anyway
    plan_path.write_text(json.dumps(plan))
    report_path = tmp_path / "report.json"
    args = ("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply", "--report", str(report_path))
    result = docr(*args, "-o", "json")
    assert result.code == 0, str(result)
    assert "skipped for safety" in result.stderr
    items = result.json()["report"]["items"]
    assert items[0]["status"] == "skipped"
    assert "protected under the plan's policy" in items[0]["detail"]
    assert not [r for r in deletes(fake) if r["path"].endswith("/tags/" + victim["tag"])]
    assert stat.S_IMODE(report_path.stat().st_mode) == 0o600


def test_a_plan_for_another_registry_is_refused(docr: Docr, fake: Fake, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    assert docr("cleanup", REGISTRY, "--keep-last", "2", "--save-plan", str(plan_path)).code == 0
    result = docr("cleanup", "other", "--plan-file", str(plan_path), "--apply")
    assert result.code == ExitCode.USAGE
    assert "plan for registry 'example'" in result.stderr
    assert deletes(fake) == []


def test_sigterm_mid_apply_writes_the_partial_report_and_exits_143(fake: Fake, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    argv = ["--base-url", fake.url, "cleanup", REGISTRY, "--keep-last", "2", "--delete-untagged", "--apply"]
    argv += ["-c", "1", "--report", str(report_path), "-o", "json"]
    code, out, err = signal_after(fake, argv, b"[3/", signal.SIGTERM)  # at the third progress line
    assert code == 143 == int(ExitCode.TERMINATED), (out, err)
    doc = json.loads(out)
    assert doc["interrupted"] is True
    counts = doc["report"]["counts"]
    assert sum(counts.values()) == len(doc["plan"]["deletions"])
    assert counts["deleted"] >= 3
    assert counts["not_attempted"] > 0
    written = json.loads(report_path.read_text())
    assert written["counts"] == counts
    assert written["interrupted"] is True
    assert stat.S_IMODE(report_path.stat().st_mode) == 0o600
    assert b"SIGTERM received" in err
    assert fake.token.encode() not in out + err
    # What the report says was deleted is what the fake deleted.
    assert len(deletes(fake)) >= counts["deleted"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_while_waiting_for_the_gc_says_it_continues_and_how_to_cancel_it(
    fake: Fake, signum: signal.Signals
) -> None:
    fake.control("PUT", "/_fake/gc", {"step_seconds": 600})  # it will still be running
    argv = ["--base-url", fake.url, "cleanup", REGISTRY, "--keep-last", "2", "--delete-untagged", "--apply"]
    argv += ["--gc", "--gc-poll-interval", "0.05"]
    code, _, err = signal_after(fake, argv, b"started; waiting", signum)
    expected = ExitCode.INTERRUPTED if signum == signal.SIGINT else ExitCode.TERMINATED
    assert code == expected, err
    uuid = fake.registry()["active_garbage_collection"]["uuid"]
    text = " ".join(err.decode().split())
    assert f"garbage collection {uuid} continues" in text
    assert f"docr gc cancel {uuid} --registry {REGISTRY}" in text


# ---- one-off deletes: a typo is an error, never a success ----------------------------------------


def first_tag_and_digest(docr: Docr) -> tuple[str, str]:
    tags = docr("tags", "list", "api", "-r", REGISTRY, "-o", "json").json()
    return tags[0]["tag"], tags[0]["manifest_digest"]


@pytest.mark.parametrize("command", ["tags", "manifests"])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        (("--repository", "api", "-r", "exmaple"), "registry exmaple not found"),
        (("--repository", "apj", "-r", REGISTRY), "repository apj not found in registry example"),
    ],
)
def test_a_mistyped_registry_or_repository_exits_4_even_with_missing_ok(
    docr: Docr, fake: Fake, command: str, where: tuple[str, ...], message: str
) -> None:
    tag, digest = first_tag_and_digest(docr)
    item = tag if command == "tags" else digest
    for extra in ((), ("--missing-ok",)):
        result = docr(command, "delete", item, *where, "-f", *extra, "-o", "json")
        assert result.code == ExitCode.NOT_FOUND, str(result)
        assert message in result.stderr
        assert result.stdout == "", "nothing is reported, let alone as deleted"
    assert deletes(fake) == []


@pytest.mark.parametrize("command", ["tags", "manifests"])
def test_a_mistyped_item_exits_4_unless_missing_ok(docr: Docr, fake: Fake, command: str) -> None:
    tag, digest = first_tag_and_digest(docr)
    real, typo = (tag, tag + "x") if command == "tags" else (digest, "sha256:" + "0" * 64)
    where = ("--repository", "api", "-r", REGISTRY, "-f")
    failed = docr(command, "delete", real, typo, *where)
    assert failed.code == ExitCode.NOT_FOUND
    assert f"{typo} not found in example/api" in failed.stderr
    assert deletes(fake) == [], "all or nothing: the real item is not deleted either"
    done = docr(command, "delete", real, typo, *where, "--missing-ok", "-o", "json")
    assert done.code == 0, str(done)
    statuses = {r["tag" if command == "tags" else "digest"]: r["status"] for r in done.json()["results"]}
    assert statuses == {real: "deleted", typo: "already_gone"}
    assert len(deletes(fake)) == 1


@pytest.mark.parametrize("command", ["tags", "manifests"])
def test_one_off_deletes_have_a_dry_run(docr: Docr, fake: Fake, command: str) -> None:
    tag, digest = first_tag_and_digest(docr)
    item = tag if command == "tags" else digest
    before = fake.registry()
    result = docr(command, "delete", item, "--repository", "api", "-r", REGISTRY, "--dry-run", "-o", "json")
    assert result.code == 0, str(result)  # no --force needed: nothing is deleted
    assert [r["status"] for r in result.json()["results"]] == ["would_delete"]
    assert "DRY RUN" in result.stderr
    assert fake.registry() == before
    assert deletes(fake) == []
    missing = docr(command, "delete", item, "--repository", "apj", "-r", REGISTRY, "--dry-run")
    assert missing.code == ExitCode.NOT_FOUND


def test_cleanup_of_a_mistyped_registry_exits_4(docr: Docr, fake: Fake) -> None:
    result = docr("cleanup", "exmaple", "--keep-last", "2", "--apply", "-o", "json")
    assert result.code == ExitCode.NOT_FOUND
    assert deletes(fake) == []


# ---- garbage collection: doctl's default, and a question before deleting manifests --------------


def test_gc_start_defaults_to_unreferenced_blobs_only(docr: Docr, fake: Fake) -> None:
    untagged = fake.registry()["untagged_manifests"]
    assert untagged > 0
    done = docr("gc", "start", REGISTRY, "--wait", "--poll-interval", "0.05", "-o", "json")
    assert done.code == 0, str(done)
    assert fake.registry()["untagged_manifests"] == untagged, "images pulled by digest survive"
    posts = [r for r in fake.requests() if r["method"] == "POST"]
    assert len(posts) == 1


@pytest.mark.parametrize(
    "options",
    [("--include-untagged-manifests",), ("--type", "untagged-manifests-and-unreferenced-blobs")],
)
def test_gc_deleting_untagged_manifests_asks_first(docr: Docr, fake: Fake, options: tuple[str, ...]) -> None:
    refused = docr("gc", "start", REGISTRY, *options)
    assert refused.code == ExitCode.USAGE
    assert "--force" in refused.stderr
    assert fake.registry()["active_garbage_collection"] is None
    done = docr("gc", "start", REGISTRY, *options, "--force", "--wait", "--poll-interval", "0.05")
    assert done.code == 0, str(done)
    assert fake.registry()["untagged_manifests"] == 0


def test_ctrl_c_while_gc_start_waits_prints_the_cancel_command(fake: Fake) -> None:
    fake.control("PUT", "/_fake/gc", {"step_seconds": 600})
    argv = ["--base-url", fake.url, "gc", "start", REGISTRY, "--wait", "--poll-interval", "0.05"]
    code, _, err = signal_after(fake, argv, b"started; waiting", signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    uuid = fake.registry()["active_garbage_collection"]["uuid"]
    text = " ".join(err.decode().split())
    assert f"docr gc cancel {uuid} --registry {REGISTRY}" in text
