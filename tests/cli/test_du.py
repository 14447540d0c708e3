"""``docr du`` in subprocesses against a standalone FakeDOCR, with two repositories sharing layers."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.cli import ExitCode

from .conftest import COMMAND_TIMEOUT, DOCR, REGISTRY, Fake, Result, base_env

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Docr = Callable[..., Result]

BASE: tuple[str, int] = ("sha256:" + "a1" * 32, 31_457_280)
RUNTIME: tuple[str, int] = ("sha256:" + "b2" * 32, 12_582_912)
SHARED = BASE[1] + RUNTIME[1]
POLICY = ("--keep-last", "2")


FULL_GC = ("--gc-type", "untagged-manifests-and-unreferenced-blobs")
"""A GC that removes untagged manifests too (the default removes unreferenced blobs only)."""


def own(n: int, size: int) -> list[Any]:
    return [f"sha256:{n:064x}", size]


@pytest.fixture(autouse=True)
def _shared_layers(fake: Fake) -> None:
    """Fresh seeded data plus shop/api and shop/web, whose images share two base layers."""
    fake.reset()
    now = time.time()
    for i, days in enumerate((80, 50, 20, 3)):
        for repo, n, size in (("shop/api", 1000, 3_000_000), ("shop/web", 2000, 1_000_000)):
            body = {
                "registry": REGISTRY,
                "repository": repo,
                "tag": f"v{i}",
                "blobs": [BASE, RUNTIME, own(n + i, size * (i + 1))],
                "updated_at": now - days * 86400,
            }
            fake.control("POST", "/_fake/push", body)
    fake.control("DELETE", "/_fake/requests")


def ok(result: Result) -> Any:
    assert result.code == 0, str(result)
    return result.json()


def test_json_reports_shared_layers_once_and_reconciles_with_storage(docr: Docr, fake: Fake) -> None:
    doc = ok(docr("du", REGISTRY, "-o", "json"))
    rows = {r["repository"]: r for r in doc["repositories"]}
    assert rows["shop/api"]["shared_bytes"] == SHARED
    assert rows["shop/web"]["shared_bytes"] == SHARED
    assert rows["shop/api"]["unique_bytes"] == 3_000_000 * (1 + 2 + 3 + 4)
    assert rows["shop/web"]["unique_bytes"] == 1_000_000 * (1 + 2 + 3 + 4)
    assert (rows["shop/api"]["tags"], rows["shop/api"]["manifests"]) == (4, 4)
    totals = doc["totals"]
    assert totals["shared_blob_bytes"] == SHARED  # the seeded repositories share nothing
    assert totals["storage_usage_bytes"] == fake.registry()["storage_usage_bytes"]
    assert totals["unique_bytes"] + totals["shared_blob_bytes"] == totals["referenced_bytes"]
    assert totals["referenced_bytes"] + totals["unreferenced_bytes"] == totals["storage_usage_bytes"]
    assert totals["manifests"] == fake.registry()["manifests"]
    assert totals["untagged_manifests"] == fake.registry()["untagged_manifests"]
    sizes = [r["total_bytes"] for r in doc["repositories"]]
    assert sizes == sorted(sizes, reverse=True)
    assert doc["prediction"] is None
    assert not [r for r in fake.requests() if r["method"] != "GET"], "du deletes nothing"


def test_prediction_equals_what_cleanup_and_gc_free(docr: Docr, fake: Fake) -> None:
    # The GC that also removes untagged manifests: with doctl's default (blobs only) a cleanup that
    # deletes tags but not their manifests frees nothing.
    doc = ok(docr("du", REGISTRY, *POLICY, *FULL_GC, "-o", "json"))
    predicted = doc["prediction"]["freed_bytes"]
    assert predicted > 0
    assert "untagged manifests and unreferenced blobs" in doc["prediction"]["assumes"]
    before = fake.registry()["storage_usage_bytes"]
    cleanup = ok(
        docr(
            "cleanup",
            REGISTRY,
            *POLICY,
            *FULL_GC,
            "--apply",
            "--gc",
            "--gc-poll-interval",
            "0.05",
            "-o",
            "json",
        )
    )
    gc = cleanup["garbage_collection"]
    assert gc["status"] == "succeeded"
    assert gc["freed_bytes"] == predicted
    assert fake.registry()["storage_usage_bytes"] == before - predicted
    after = ok(docr("du", REGISTRY, "-o", "json"))
    assert after["totals"]["storage_usage_bytes"] == before - predicted
    assert after["totals"]["unreferenced_bytes"] == 0


def test_plain_text_when_not_a_terminal(docr: Docr) -> None:
    doc = ok(docr("du", REGISTRY, *POLICY, "-o", "json"))
    result = docr("du", REGISTRY, *POLICY)
    assert result.code == 0, str(result)
    table, _, notes = result.stdout.partition("\n\n")
    header, *lines = table.splitlines()
    assert header.split("\t") == [
        "REPOSITORY",
        "UNIQUE",
        "SHARED",
        "TAGS",
        "MANIFESTS",
        "UNTAGGED",
        "UNTAGGED_BYTES",
        "OLDEST",
        "NEWEST",
        "FREED",
    ]
    parsed = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    assert [p["REPOSITORY"] for p in parsed] == [r["repository"] for r in doc["repositories"]]
    for p, r in zip(parsed, doc["repositories"], strict=True):
        assert int(p["UNIQUE"]) == r["unique_bytes"]
        assert int(p["SHARED"]) == r["shared_bytes"]
        assert int(p["FREED"]) == r["freed_bytes"]
        assert int(p["UNTAGGED"]) == r["untagged_manifests"]
    assert "█" not in result.stdout
    assert all(line.startswith("# ") for line in notes.strip().splitlines())
    assert "awaits garbage collection" in notes or "awaiting garbage collection" in notes
    assert "assumes" in notes


def test_policy_file_predicts_like_the_options(docr: Docr, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nrepositories = ["*"]\nkeep_last = 2\n')
    by_options = ok(docr("du", REGISTRY, *POLICY, *FULL_GC, "-o", "json"))
    by_file = ok(docr("du", REGISTRY, "--policy", str(path), *FULL_GC, "-o", "json"))
    assert by_file["prediction"]["freed_bytes"] == by_options["prediction"]["freed_bytes"]
    only_shop = ok(
        docr("du", REGISTRY, "--policy", str(path), "--include-repo", "shop/*", *FULL_GC, "-o", "json")
    )
    freed = {r["repository"]: r["freed_bytes"] for r in only_shop["repositories"]}
    assert freed["shop/api"] == 3_000_000 * (1 + 2)  # v0 and v1 go; the shared base layers stay
    assert freed["shop/web"] == 1_000_000 * (1 + 2)


def test_the_default_registry_is_discovered(docr: Docr) -> None:
    assert ok(docr("du", "-o", "json"))["registry"] == REGISTRY
    assert ok(docr("du", "-o", "json", env={"DIGITALOCEAN_REGISTRY": REGISTRY}))["registry"] == REGISTRY


@pytest.mark.parametrize(
    "args",
    [
        ("du", "Not_A_Registry"),
        ("du", REGISTRY, "--untagged-older-than", "7d"),
        ("du", REGISTRY, "--policy", "rules.toml", "--keep-last", "1"),
        ("du", REGISTRY, "--older-than", "soon"),
        ("du", REGISTRY, "--keep-last", "1", "--protect", "re:("),
        ("du", REGISTRY, "--protect", "v1"),  # a policy that deletes nothing
        ("du", REGISTRY, "--policy", "does-not-exist.toml"),
    ],
)
def test_bad_usage_exits_2_before_any_request(docr: Docr, fake: Fake, args: tuple[str, ...]) -> None:
    result = docr(*args)
    assert result.code == ExitCode.USAGE, str(result)
    assert result.stdout == ""
    assert "error" in result.stderr.lower()
    assert fake.requests() == []


def test_a_missing_registry_exits_4(docr: Docr) -> None:
    result = docr("du", "nope", "-o", "json")
    assert result.code == ExitCode.NOT_FOUND, str(result)


def run_on_a_terminal(fake: Fake, args: list[str], stream: str) -> tuple[int, str, str]:
    """Run ``docr`` with ``stream`` (stdout or stderr) on a pseudo-terminal, the other on a pipe."""
    primary, secondary = pty.openpty()
    on_tty = {"stdout": secondary} if stream == "stdout" else {"stderr": secondary}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **on_tty}
    env = base_env(DIGITALOCEAN_TOKEN=fake.token, COLUMNS="160")
    with subprocess.Popen(
        [*DOCR, "--base-url", fake.url, *args],
        stdin=subprocess.DEVNULL,
        env=env,
        stdout=pipes["stdout"],
        stderr=pipes["stderr"],
    ) as proc:
        os.close(secondary)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        other = proc.stderr if stream == "stdout" else proc.stdout
        assert other is not None
        piped = other.read().decode()
        proc.wait(timeout=COMMAND_TIMEOUT)
    os.close(primary)
    terminal = b"".join(chunks).decode()
    out, err = (terminal, piped) if stream == "stdout" else (piped, terminal)
    assert fake.token not in out + err
    assert "Traceback" not in err
    return proc.returncode, out, err


def test_a_terminal_gets_a_table_with_bars(fake: Fake) -> None:
    code, out, err = run_on_a_terminal(fake, ["du", REGISTRY, *POLICY], "stdout")
    assert code == 0, out + err
    assert "Storage of example" in out
    assert "█" in out  # proportional bars
    assert "░" in out  # shop/* share their base layers
    assert "FREED" in out
    assert "\t" not in out
    for name in ("shop/api", "shop/web"):
        assert name in out


def test_a_terminal_on_stderr_gets_the_progress_bar_and_a_pipe_gets_text(fake: Fake) -> None:
    code, out, err = run_on_a_terminal(fake, ["du", REGISTRY], "stderr")
    assert code == 0, out + err
    assert "listing complete" in err
    assert out.splitlines()[0].startswith("REPOSITORY\tUNIQUE\tSHARED")
