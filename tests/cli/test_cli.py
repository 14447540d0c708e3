"""The real ``docr`` console script, in subprocesses, against a standalone FakeDOCR.

Each test starts from freshly seeded data (4 repositories, 40 tags, 6 untagged manifests in the
registry ``example``), parses ``-o json`` output and checks it against the fake's own state.
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from docr_async.cli import ExitCode

from .conftest import REGISTRY, Fake, Result, base_env, signal_after

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Docr = Callable[..., Result]
    DocrMany = Callable[..., list[Result]]


@pytest.fixture(autouse=True)
def _fresh_state(fake: Fake) -> None:
    fake.reset()


def ok(result: Result) -> Any:
    assert result.code == 0, str(result)
    return result.json()


def assert_iso(value: str) -> None:
    assert isinstance(value, str)
    assert datetime.fromisoformat(value).tzinfo is not None, value


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, str(result)
    return lines[0]


# ---- registries, account --------------------------------------------------------------------------


def test_registries_list_and_get(docr_many: DocrMany, fake: Fake) -> None:
    listed, got, table = docr_many(
        ("registries", "list", "-o", "json"),
        ("-o", "json", "registries", "get", REGISTRY),  # the global -o works too
        ("registries", "list"),
    )
    regs = ok(listed)
    assert [r["name"] for r in regs] == [REGISTRY]
    state = fake.registry()
    assert regs[0]["storage_usage_bytes"] == state["storage_usage_bytes"]
    assert regs[0]["region"] == state["region"]
    assert_iso(regs[0]["created_at"])
    assert regs[0]["subscription"]["tier"]["slug"] == "professional"

    reg = ok(got)
    assert reg["name"] == REGISTRY
    assert reg["storage_usage_bytes"] == state["storage_usage_bytes"]
    assert table.code == 0
    header, *lines = [line.split() for line in table.stdout.splitlines()]  # piped: plain text
    assert header == ["Name", "Region", "StorageUsageBytes", "Tier", "CreatedAt"]
    assert lines == [
        [REGISTRY, state["region"], str(state["storage_usage_bytes"]), "professional", regs[0]["created_at"]]
    ]


def test_registries_create_and_delete(docr: Docr, fake: Fake) -> None:
    created = ok(docr("registries", "create", "second", "--region", "fra1", "-o", "json"))
    assert created["name"] == "second"
    assert created["region"] == "fra1"
    names = {r["name"] for r in fake.control("GET", "/_fake/state")["registries"]}
    assert names == {REGISTRY, "second"}

    refused = docr("registries", "delete", "second")
    assert refused.code == ExitCode.USAGE
    assert "--force" in one_error_line(refused)
    assert "second" in {r["name"] for r in fake.control("GET", "/_fake/state")["registries"]}

    deleted = ok(docr("registries", "delete", "second", "--force", "-o", "json"))
    assert deleted == {"registry": "second", "status": "deleted"}
    assert [r["name"] for r in fake.control("GET", "/_fake/state")["registries"]] == [REGISTRY]


def test_error_exit_codes_and_lines(docr: Docr, docr_many: DocrMany) -> None:
    wrong = "dop_v1_" + "ab" * 32
    not_found, auth, auth_bulk, bad_option, bad_name, taken = docr_many(
        ("registries", "get", "missing"),
        ("--token", wrong, "repos", "list", REGISTRY),
        ("-t", wrong, "tags", "delete", "v0.0.1", "v0.0.2", "--repository", "api", "-r", REGISTRY, "-f"),
        ("--max-concurrency", "0", "registries", "list"),
        ("registries", "get", "Not_A_Name"),
        ("registries", "create", REGISTRY),
    )
    assert not_found.code == ExitCode.NOT_FOUND
    line = one_error_line(not_found)
    assert "404 not_found" in line
    assert "request_id=" in line
    assert not_found.stdout == ""

    assert auth.code == ExitCode.AUTH  # the wrong token is never printed (checked by the fixture)
    assert "401 unauthorized" in one_error_line(auth)
    assert auth_bulk.code == ExitCode.AUTH, "every item failed with 401"
    no_token = docr("registries", "list", token="")
    assert no_token.code == ExitCode.USAGE
    assert "DIGITALOCEAN_TOKEN" in one_error_line(no_token)
    assert bad_option.code == ExitCode.USAGE
    assert bad_name.code == ExitCode.USAGE
    assert taken.code == ExitCode.CONFLICT
    assert "409" in one_error_line(taken)


def test_options_subscription_and_validate_name(docr: Docr, docr_many: DocrMany, fake: Fake) -> None:
    options, sub, fresh, taken, bad = docr_many(
        ("options", "-o", "json"),
        ("subscription", "get", "-o", "json"),
        ("validate-name", "fresh-name", "-o", "json"),
        ("validate-name", REGISTRY, "-o", "json"),
        ("validate-name", "9-bad-"),
    )
    assert "fra1" in ok(options)["available_regions"]
    assert {t["slug"] for t in options.json()["subscription_tiers"]} == {"starter", "basic", "professional"}
    assert ok(sub)["tier"]["slug"] == "professional"
    assert_iso(sub.json()["updated_at"])
    assert ok(fresh) == {"name": "fresh-name", "available": True}
    assert taken.code == ExitCode.CONFLICT
    assert taken.json() == {"name": REGISTRY, "available": False}
    assert bad.code == ExitCode.USAGE

    updated = ok(docr("subscription", "update", "basic", "-o", "json"))
    assert updated["tier"]["slug"] == "basic"
    assert fake.control("GET", "/_fake/state")["subscription_tier"] == "basic"
    assert docr("subscription", "update", "starter").code == ExitCode.CONFLICT  # 412: over the limits


def test_rate_limited_beyond_max_wait_exits_6(docr: Docr, fake: Fake) -> None:
    fake.control("PUT", "/_fake/rate-limits", {"hourly_limit": 1, "reset": True})
    assert docr("registries", "list").code == 0  # spends the whole hourly budget
    result = docr("--max-wait", "1", "registries", "list")
    assert result.code == ExitCode.RATE_LIMITED
    assert "429" in one_error_line(result)


def test_server_and_connection_errors_exit_7(docr_many: DocrMany, fake: Fake) -> None:
    fake.control("PUT", "/_fake/faults", {"error_rate": 1.0, "error_statuses": [500]})
    result, refused = docr_many(
        ("--retries", "0", "registries", "list"),
        ("--base-url", "http://127.0.0.1:9", "--retries", "0", "registries", "list"),
    )
    assert result.code == ExitCode.API_ERROR
    assert "500" in one_error_line(result)
    assert refused.code == ExitCode.API_ERROR
    assert "connect" in one_error_line(refused).lower()


# ---- repositories, tags, manifests --------------------------------------------------------------


def test_repos_list_matches_the_fake(docr_many: DocrMany, fake: Fake) -> None:
    listed, limited = docr_many(
        ("repos", "list", REGISTRY, "-o", "json"), ("repos", "list", REGISTRY, "--limit", "2", "-o", "json")
    )
    repos = ok(listed)
    state = fake.registry()
    assert len(repos) == state["repositories"]
    assert sum(r["tag_count"] for r in repos) == state["tags"]
    assert sum(r["manifest_count"] for r in repos) == state["manifests"]
    assert {"team/api", "tools/build/base"} <= {r["name"] for r in repos}
    assert_iso(repos[0]["latest_manifest"]["updated_at"])
    assert ok(limited) == repos[:2]


def test_repos_delete(docr: Docr, fake: Fake) -> None:
    before = fake.registry()["repositories"]
    refused = docr("repos", "delete", "tools/build/base", "--registry", REGISTRY)
    assert refused.code == ExitCode.USAGE
    assert fake.registry()["repositories"] == before
    result = ok(
        docr("repos", "delete", "registry.digitalocean.com/example/tools/build/base", "-f", "-o", "json")
    )
    assert result == {"registry": REGISTRY, "repository": "tools/build/base", "status": "deleted"}
    assert fake.registry()["repositories"] == before - 1
    again = docr("repos", "delete", "tools/build/base", "-r", REGISTRY, "-f")
    assert again.code == ExitCode.NOT_FOUND


def test_tags_list(docr_many: DocrMany) -> None:
    listed_repos, listed, limited_run, table = docr_many(
        ("repos", "list", REGISTRY, "-o", "json"),
        ("tags", "list", "team/api", "--registry", REGISTRY, "-o", "json"),
        ("tags", "list", "team/api", "-r", REGISTRY, "--limit", "3", "-o", "json"),
        ("tags", "list", "team/api", "-r", REGISTRY),
    )
    repos = {r["name"]: r for r in ok(listed_repos)}
    tags = ok(listed)
    assert len(tags) == repos["team/api"]["tag_count"]
    assert all(t["repository"] == "team/api" for t in tags)
    times = [datetime.fromisoformat(t["updated_at"]) for t in tags]
    assert times == sorted(times, reverse=True), "newest first"
    assert ok(limited_run) == tags[:3]
    header, *lines = [line.split() for line in table.stdout.splitlines()]  # piped: plain text
    assert header == ["Tag", "ManifestDigest", "CompressedSizeBytes", "UpdatedAt"]
    assert lines == [
        [t["tag"], t["manifest_digest"], str(t["compressed_size_bytes"]), t["updated_at"]] for t in tags
    ]


def test_tags_delete_many_concurrently(docr: Docr, fake: Fake) -> None:
    tags = [t["tag"] for t in ok(docr("tags", "list", "api", "-r", REGISTRY, "-o", "json"))][:4]
    before = fake.registry()["tags"]

    refused = docr("tags", "delete", *tags, "--repository", "api", "-r", REGISTRY)
    assert refused.code == ExitCode.USAGE
    assert fake.registry()["tags"] == before

    result = ok(
        docr(
            "tags",
            "delete",
            *tags,
            "no-such-tag",
            "--repository",
            "api",
            "-r",
            REGISTRY,
            "-f",
            "-c",
            "3",
            "--missing-ok",
            "-o",
            "json",
        )
    )
    assert result["repository"] == "api"
    assert [r["tag"] for r in result["results"]] == [*tags, "no-such-tag"]
    assert [r["status"] for r in result["results"]] == ["deleted"] * 4 + ["already_gone"]
    assert fake.registry()["tags"] == before - 4
    remaining = {t["tag"] for t in ok(docr("tags", "list", "api", "-r", REGISTRY, "-o", "json"))}
    assert not remaining & set(tags)

    again = docr("tags", "delete", *tags, "--repository", "api", "-r", REGISTRY, "-f", "-o", "json")
    assert again.code == ExitCode.NOT_FOUND, "a tag that does not exist is not reported deleted"
    assert again.stdout == ""
    ignored = ok(
        docr("tags", "delete", *tags, "--repo", "api", "-r", REGISTRY, "-f", "--missing-ok", "-o", "json")
    )
    assert {r["status"] for r in ignored["results"]} == {"already_gone"}

    sent = len(fake.requests())
    bad = docr("tags", "delete", "ok-tag", "bad tag", "--repository", "api", "-r", REGISTRY, "-f")
    assert bad.code == ExitCode.USAGE
    assert len(fake.requests()) == sent, "nothing is sent when a tag is invalid"


def test_manifests_list_and_untagged_only(docr_many: DocrMany, fake: Fake) -> None:
    listed_repos, listed, listed_untagged = docr_many(
        ("repos", "list", REGISTRY, "-o", "json"),
        ("manifests", "list", "api", "-r", REGISTRY, "-o", "json"),
        ("manifests", "list", "api", "-r", REGISTRY, "--untagged-only", "-o", "json"),
    )
    repos = {r["name"]: r for r in ok(listed_repos)}
    everything = ok(listed)
    assert len(everything) == repos["api"]["manifest_count"]
    assert all(m["digest"].startswith("sha256:") and m["repository"] == "api" for m in everything)
    assert_iso(everything[0]["updated_at"])
    untagged = ok(listed_untagged)
    assert untagged == [m for m in everything if not m["tags"]]
    assert 0 < len(untagged) < len(everything)
    assert len(untagged) <= fake.registry()["untagged_manifests"]


def test_manifests_delete(docr: Docr, docr_many: DocrMany, fake: Fake) -> None:
    manifests = ok(docr("manifests", "list", "api", "-r", REGISTRY, "-o", "json"))
    tagged = next(m for m in manifests if m["tags"])
    other = next(m for m in manifests if m["digest"] != tagged["digest"])
    before = fake.registry()
    digests = [tagged["digest"], other["digest"]]
    not_forced, bad_digest = docr_many(
        ("manifests", "delete", *digests, "--repository", "api", "-r", REGISTRY),
        ("manifests", "delete", "sha256:nothex", "--repo", "api", "-r", REGISTRY, "-f"),
    )
    assert not_forced.code == ExitCode.USAGE
    assert bad_digest.code == ExitCode.USAGE
    assert fake.registry() == before
    result = ok(
        docr("manifests", "delete", *digests, "--repository", "api", "-r", REGISTRY, "-f", "-o", "json")
    )
    assert [r["status"] for r in result["results"]] == ["deleted", "deleted"]
    after = fake.registry()
    assert after["manifests"] == before["manifests"] - 2
    assert after["tags"] == before["tags"] - len(tagged["tags"]) - len(other["tags"])


# ---- garbage collection -------------------------------------------------------------------------


def test_gc_lifecycle(docr: Docr, docr_many: DocrMany, fake: Fake) -> None:
    none_active, missing = docr_many(
        ("gc", "get-active", REGISTRY, "-o", "json"), ("gc", "get-active", "missing", "-o", "json")
    )
    assert ok(none_active) is None
    assert missing.code == ExitCode.NOT_FOUND
    # A GC step of an hour of the fake's time: it cannot finish while we look at it, however slow the
    # machine; the fake's clock is advanced explicitly (POST /_fake/clock) when a step must pass.
    fake.control("PUT", "/_fake/gc", {"step_seconds": 3600.0})

    started = ok(docr("gc", "start", REGISTRY, "--type", "unreferenced-blobs-only", "-o", "json"))
    uuid = started["uuid"]
    assert started["status"] == "requested"
    assert_iso(started["created_at"])
    active = ok(docr("gc", "get-active", REGISTRY, "-o", "json"))
    assert active["uuid"] == uuid
    assert fake.registry()["active_garbage_collection"]["uuid"] == uuid

    # While it runs: another GC, a deletion and a cleanup are conflicts (exit 5).
    before = fake.registry()
    second, read_only, refused, timed_out = docr_many(
        ("gc", "start", REGISTRY),
        ("tags", "delete", "v0.0.1", "--repository", "api", "-r", REGISTRY, "-f"),
        ("cleanup", REGISTRY, "--keep-last", "1", "--apply"),
        ("gc", "wait", uuid, "-r", REGISTRY, "--timeout", "0.3", "--poll-interval", "0.1"),
    )
    assert second.code == ExitCode.CONFLICT
    assert read_only.code == ExitCode.CONFLICT, "the registry is read-only during GC"
    assert refused.code == ExitCode.CONFLICT
    assert uuid in one_error_line(refused)
    assert fake.registry()["tags"] == before["tags"]
    assert timed_out.code == ExitCode.FAILED
    assert "still" in one_error_line(timed_out)

    cancelled = ok(docr("gc", "cancel", uuid, "--registry", REGISTRY, "-o", "json"))
    assert cancelled["status"] == "cancelling"
    fake.control("POST", "/_fake/clock", {"advance": 3600.0})
    waited = docr(
        "gc", "wait", uuid, "-r", REGISTRY, "--poll-interval", "0.1", "--timeout", "20", "-o", "json"
    )
    assert waited.code == ExitCode.FAILED, "a cancelled GC is not a success"
    assert waited.json()["status"] == "cancelled"
    assert ok(docr("gc", "get", uuid, "-r", REGISTRY, "-o", "json"))["status"] == "cancelled"

    fake.control("PUT", "/_fake/gc", {"step_seconds": 0.05})
    done = ok(docr("gc", "start", REGISTRY, "--wait", "--poll-interval", "0.05", "-o", "json"))
    assert done["status"] == "succeeded"
    listed, limited, unknown = docr_many(
        ("gc", "list", REGISTRY, "-o", "json"),
        ("gc", "list", REGISTRY, "--limit", "1", "-o", "json"),
        ("gc", "get", "0000-none", "-r", REGISTRY),
    )
    history = ok(listed)
    assert [g["uuid"] for g in history] == [done["uuid"], uuid]
    assert ok(limited) == history[:1]
    assert unknown.code == ExitCode.NOT_FOUND


# ---- docker credentials -------------------------------------------------------------------------


def test_docker_config_prints_expiring_credentials_by_default(
    docr: Docr, docr_many: DocrMany, fake: Fake
) -> None:
    doc = ok(docr("docker-config", REGISTRY))
    assert set(doc["auths"]) == {"registry.digitalocean.com"}
    query = fake.requests()[-1]["query"]
    assert "expiry_seconds=3600" in query
    assert "read_write=false" in query

    refused, unconfirmed = docr_many(
        ("docker-config", REGISTRY, "--expiry", "0"), ("docker-config", REGISTRY, "--never-expire")
    )
    assert refused.code == ExitCode.USAGE
    assert "--never-expire" in one_error_line(refused)
    assert unconfirmed.code == ExitCode.USAGE
    ok(docr("docker-config", REGISTRY, "--expiry", "0", "--never-expire", "--read-write"))
    query = fake.requests()[-1]["query"]
    assert "expiry_seconds=0" in query
    assert "read_write=true" in query


def test_docker_config_write_merges_with_mode_0600(docr: Docr, tmp_path: Path) -> None:
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {"ghcr.io": {"auth": "eA=="}}, "credsStore": "pass"}))
    run = docr("docker-config", REGISTRY, "--expiry", "30m", "--config", str(path), "-o", "json")
    result = ok(run)
    assert result == {
        "path": str(path),
        "hosts": ["registry.digitalocean.com"],
        "read_write": False,
        "expiry_seconds": 1800,
    }
    data = json.loads(path.read_text())
    assert set(data["auths"]) == {"ghcr.io", "registry.digitalocean.com"}
    assert data["credsStore"] == "pass"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "warning" in run.stderr
    assert "credsStore" in run.stderr

    home = tmp_path / "home"
    ok(docr("docker-config", REGISTRY, "--write", "-o", "json", env={"DOCKER_CONFIG": str(home)}))
    assert stat.S_IMODE((home / "config.json").stat().st_mode) == 0o600


def test_docker_config_kubernetes_secret(docr_many: DocrMany) -> None:
    result, bad_name, both = docr_many(
        ("docker-config", REGISTRY, "--k8s-secret", "docr-pull", "--namespace", "apps"),
        ("docker-config", REGISTRY, "--k8s-secret", "Bad_Name"),
        ("docker-config", REGISTRY, "--k8s-secret", "x", "--write"),
    )
    assert result.code == 0, str(result)
    manifest = yaml.safe_load(result.stdout)
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert manifest["metadata"] == {"name": "docr-pull", "namespace": "apps"}
    assert bad_name.code == ExitCode.USAGE
    assert both.code == ExitCode.USAGE


# ---- cleanup ------------------------------------------------------------------------------------

POLICY = ("--keep-last", "2", "--delete-untagged")


def test_cleanup_dry_run_deletes_nothing(docr_many: DocrMany, fake: Fake) -> None:
    before = fake.registry()
    result, table = docr_many(("cleanup", REGISTRY, *POLICY, "-o", "json"), ("cleanup", REGISTRY, *POLICY))
    doc = ok(result)
    assert "DRY RUN" in result.stderr
    assert doc["dry_run"] is True
    plan, report = doc["plan"], doc["report"]
    assert plan["summary"]["requests"] == len(plan["deletions"]) > 0
    assert report["counts"]["would_delete"] == len(plan["deletions"])
    assert report["counts"]["deleted"] == 0
    assert report["requests"]["attempts"] == 0
    assert fake.registry() == before
    assert not [r for r in fake.requests() if r["method"] == "DELETE"]
    assert table.code == 0
    assert "DRY RUN" in table.stdout + table.stderr
    assert "Cleanup plan" in table.stdout


def test_cleanup_apply_then_a_second_apply_is_a_no_op(docr: Docr, fake: Fake, tmp_path: Path) -> None:
    before = fake.registry()
    report_path = tmp_path / "report.json"
    doc = ok(docr("cleanup", REGISTRY, *POLICY, "--apply", "--report", str(report_path), "-o", "json"))
    plan, report = doc["plan"], doc["report"]
    assert doc["dry_run"] is False
    assert report["ok"] is True
    assert report["counts"]["deleted"] == len(plan["deletions"])
    after = fake.registry()
    assert after["tags"] == before["tags"] - plan["summary"]["tags_removed"]
    assert after["manifests"] == before["manifests"] - plan["summary"]["manifests_removed"]
    assert after["untagged_manifests"] == 0
    assert all(r["tag_count"] <= 2 for r in ok(docr("repos", "list", REGISTRY, "-o", "json")))
    saved = json.loads(report_path.read_text())
    assert saved["counts"] == report["counts"]
    assert saved["interrupted"] is False

    second = ok(docr("cleanup", REGISTRY, *POLICY, "--yes", "-o", "json"))
    assert second["plan"]["summary"]["requests"] == 0
    assert second["report"]["counts"]["deleted"] == 0
    assert fake.registry() == after


def test_cleanup_save_plan_then_execute_it(
    docr: Docr, docr_many: DocrMany, fake: Fake, tmp_path: Path
) -> None:
    plan_path = tmp_path / "plan.json"
    before = fake.registry()
    policy = ("--older-than", "30d", "--keep-last", "3")
    dry = ok(docr("cleanup", REGISTRY, *policy, "--save-plan", str(plan_path), "-o", "json"))
    saved = json.loads(plan_path.read_text())
    assert saved == dry["plan"]
    assert fake.registry() == before

    mixed, other = docr_many(
        ("cleanup", REGISTRY, "--plan-file", str(plan_path), "--keep-last", "1", "--apply"),
        ("cleanup", "other", "--plan-file", str(plan_path), "--apply"),
    )
    assert mixed.code == ExitCode.USAGE, "a saved plan is not combined with policy options"
    assert other.code == ExitCode.USAGE, "a plan only applies to its own registry"
    assert fake.registry() == before

    applied = ok(docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--yes", "-o", "json"))
    assert applied["plan"]["deletions"] == saved["deletions"]
    assert applied["report"]["counts"]["deleted"] == len(saved["deletions"])
    assert fake.registry()["tags"] == before["tags"] - saved["summary"]["tags_removed"]

    rerun = ok(docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply", "-o", "json"))
    assert rerun["report"]["counts"]["already_gone"] == len(saved["deletions"]), "a rerun converges"


def test_cleanup_bad_policy_exits_2(docr_many: DocrMany, fake: Fake) -> None:
    results = docr_many(
        ("cleanup", REGISTRY, "--apply"),  # a policy that deletes nothing
        ("cleanup", REGISTRY, "--older-than", "banana", "--apply"),
        ("cleanup", REGISTRY, "--include-tag", "re:(unclosed", "--apply"),
        ("cleanup", REGISTRY, "--keep-last", "1", "--untagged-older-than", "3d", "--apply"),
        ("cleanup", REGISTRY, "--keep-last", "-1", "--apply"),
    )
    for result in results:
        assert result.code == ExitCode.USAGE, str(result)
        assert result.stdout == ""
        assert "error" in result.stderr.lower()
    assert fake.requests() == [], "nothing is sent for a bad policy"


def test_cleanup_with_gc_frees_storage(docr: Docr, fake: Fake) -> None:
    before = fake.registry()["storage_usage_bytes"]
    doc = ok(
        docr("cleanup", REGISTRY, *POLICY, "--apply", "--gc", "--gc-poll-interval", "0.05", "-o", "json")
    )
    gc = doc["garbage_collection"]
    assert gc["status"] == "succeeded"
    assert gc["storage_before"] == before
    assert gc["storage_after"] < before
    assert fake.registry()["storage_usage_bytes"] == gc["storage_after"]


def test_ctrl_c_prints_the_partial_report_and_exits_130(fake: Fake, tmp_path: Path) -> None:
    fake.control("PUT", "/_fake/faults", {"latency": 0.2, "methods": ["DELETE"]})
    report_path = tmp_path / "report.json"
    argv = ["--base-url", fake.url, "cleanup", REGISTRY, *POLICY, "--apply", "-c", "1"]
    argv += ["--report", str(report_path), "-o", "json"]
    code, out, err = signal_after(fake, argv, b"deleting:", signal.SIGINT)
    assert code == ExitCode.INTERRUPTED, (out, err)
    doc = json.loads(out)
    assert doc["interrupted"] is True
    counts = doc["report"]["counts"]
    assert sum(counts.values()) == len(doc["plan"]["deletions"])
    assert counts["not_attempted"] > 0
    assert json.loads(report_path.read_text())["counts"] == counts
    assert b"interrupted" in err
    assert fake.token.encode() not in out + err


# ---- entry points -------------------------------------------------------------------------------


def test_version_and_module_entry_point() -> None:
    from docr_async import __version__

    done = subprocess.run(
        [sys.executable, "-m", "docr_async.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"docr {__version__}"


def test_missing_cli_extra_gives_a_friendly_error() -> None:
    code = "import sys; sys.modules['typer'] = None; from docr_async.cli import main; main(['--help'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == ExitCode.USAGE
    assert "pip install 'docr-async[cli]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_interactive_delete_asks_first(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    # A prompt needs a terminal on stdin, which a subprocess cannot cheaply fake: run in-process.
    from typer.testing import CliRunner

    from docr_async.cli import _common
    from docr_async.cli.app import app

    monkeypatch.setattr(_common, "stdin_is_interactive", lambda: True)
    runner = CliRunner()
    env = base_env(DIGITALOCEAN_TOKEN=fake.token)
    args = ["--base-url", fake.url, "repos", "delete", "web", "-r", REGISTRY]
    before = fake.registry()["repositories"]

    declined = runner.invoke(app, args, input="n\n", env=env)
    assert declined.exit_code == ExitCode.FAILED, declined.output
    assert "Delete repository example/web" in declined.stderr
    assert fake.registry()["repositories"] == before

    accepted = runner.invoke(app, args, input="y\n", env=env)
    assert accepted.exit_code == 0, accepted.output
    assert fake.registry()["repositories"] == before - 1
    assert fake.token not in accepted.output + declined.output


def test_every_command_has_help() -> None:
    # 23 help screens in-process instead of 23 interpreter start-ups.
    from typer.testing import CliRunner

    from docr_async.cli.app import app

    commands = [
        ["registries", "list"], ["registries", "get"], ["registries", "create"], ["registries", "delete"],
        ["repos", "list"], ["repos", "delete"], ["tags", "list"], ["tags", "delete"],
        ["manifests", "list"], ["manifests", "delete"],
        ["gc", "start"], ["gc", "get-active"], ["gc", "list"], ["gc", "get"],
        ["gc", "cancel"], ["gc", "wait"],
        ["docker-config"], ["options"], ["subscription", "get"], ["subscription", "update"],
        ["validate-name"], ["cleanup"], ["demo"],
    ]  # fmt: skip
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output
