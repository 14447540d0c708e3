"""``docr tags delete`` / ``docr manifests delete`` run through the cleanup executor.

They inherit its circuit breaker (repeated 401/403/409 responses stop the run) and its
rate-limit budget stop; items left out are reported as ``not_attempted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from docr_async.cli import ExitCode

from .conftest import REGISTRY, Fake, Result

if TYPE_CHECKING:
    from collections.abc import Callable

    Docr = Callable[..., Result]


@pytest.fixture(autouse=True)
def _fresh_state(fake: Fake) -> None:
    fake.reset()


def _tags(docr: Docr, count: int) -> list[str]:
    listed = docr("tags", "list", "api", "-r", REGISTRY, "-o", "json")
    assert listed.code == 0, str(listed)
    tags = [t["tag"] for t in listed.json()][:count]
    assert len(tags) == count
    return tags


def _delete_one_by_one(docr: Docr, tags: list[str], *before: str, token: str | None = None) -> Result:
    """``docr [before...] tags delete TAGS --repo api -f -c 1 -o json`` (one deletion in flight)."""
    args = ("tags", "delete", *tags, "--repo", "api", "-r", REGISTRY, "-f", "-c", "1", "-o", "json")
    return docr(*before, *args, token=token)


def _deletes(fake: Fake) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["method"] == "DELETE"]


def test_circuit_breaker_stops_after_three_consecutive_401s(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 5)
    before = fake.registry()["tags"]
    fake.control("DELETE", "/_fake/requests")
    wrong = "dop_v1_" + "cd" * 32

    result = _delete_one_by_one(docr, tags, token=wrong)

    assert result.code == ExitCode.AUTH, "every request sent failed with 401"
    rows = result.json()["results"]
    assert [r["tag"] for r in rows] == tags
    assert [r["status"] for r in rows] == ["failed"] * 3 + ["not_attempted"] * 2
    assert {r["status_code"] for r in rows[:3]} == {401}
    assert {r["exit_code"] for r in rows[:3]} == {int(ExitCode.AUTH)}
    assert all("401" in r["error"] for r in rows[3:]), "the stop reason is shown"
    assert len(_deletes(fake)) == 3, "the remaining two were never sent"
    assert fake.registry()["tags"] == before
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert "3 of 5 deletions failed, 2 not attempted (stopped: 3 consecutive 401" in error[0]


def test_mixed_outcomes_exit_1_with_per_item_status(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 3)
    before = fake.registry()["tags"]
    fake.control(
        "PUT",
        "/_fake/faults",
        {"error_rate": 1.0, "error_statuses": [500], "methods": ["DELETE"], "skip_first": 2},
    )

    result = _delete_one_by_one(docr, tags, "--retries", "0")

    assert result.code == ExitCode.FAILED
    rows = result.json()["results"]
    assert [r["status"] for r in rows] == ["deleted", "deleted", "failed"]
    assert rows[2]["status_code"] == 500
    assert rows[2]["exit_code"] == int(ExitCode.API_ERROR)
    assert rows[2]["request_id"]
    assert fake.registry()["tags"] == before - 2
    assert "1 of 3 deletions failed" in result.stderr


def test_manifest_delete_removes_the_manifest_with_its_tags(docr: Docr, fake: Fake) -> None:
    listed = docr("manifests", "list", "api", "-r", REGISTRY, "-o", "json")
    tagged = next(m for m in listed.json() if len(m["tags"]) >= 1)
    before = fake.registry()
    missing = "sha256:" + "0" * 64

    result = docr("manifests", "delete", tagged["digest"], missing, "--repo", "api", "-r", REGISTRY, "-f")

    assert result.code == 0, str(result)
    assert "deleted" in result.stdout
    assert "already_gone" in result.stdout
    after = fake.registry()
    assert after["manifests"] == before["manifests"] - 1
    assert after["tags"] == before["tags"] - len(tagged["tags"])
    remaining = docr("tags", "list", "api", "-r", REGISTRY, "-o", "json").json()
    assert not {t["tag"] for t in remaining} & set(tagged["tags"])


def test_an_exhausted_budget_stops_the_run_and_exits_6(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 3)
    before = fake.registry()["tags"]
    fake.control("PUT", "/_fake/rate-limits", {"hourly_limit": 1, "reset": True})
    assert docr("registries", "list").code == 0  # spends the whole hourly budget
    fake.control("DELETE", "/_fake/requests")

    result = _delete_one_by_one(docr, tags, "--max-wait", "1")

    assert result.code == ExitCode.RATE_LIMITED
    rows = result.json()["results"]
    assert [r["status"] for r in rows] == ["failed", "not_attempted", "not_attempted"]
    assert rows[0]["status_code"] == 429
    assert all("max_wait" in r["error"] for r in rows[1:])
    assert [(r["method"], r["status"]) for r in fake.requests()] == [("DELETE", 429)], (
        "one request, not three"
    )
    assert fake.registry()["tags"] == before


def test_during_a_gc_the_breaker_stops_after_three_409s(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 4)
    before = fake.registry()["tags"]
    fake.control("PUT", "/_fake/gc", {"step_seconds": 600.0})  # still running when the deletes arrive
    assert docr("gc", "start", REGISTRY).code == 0
    fake.control("DELETE", "/_fake/requests")

    result = _delete_one_by_one(docr, tags)

    assert result.code == ExitCode.CONFLICT, "the registry is read-only during GC"
    rows = result.json()["results"]
    assert [r["status"] for r in rows] == ["failed"] * 3 + ["not_attempted"]
    assert {r["status_code"] for r in rows[:3]} == {409}
    assert len(_deletes(fake)) == 3
    assert fake.registry()["tags"] == before
