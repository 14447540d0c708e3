"""``docr tags delete`` / ``docr manifests delete`` run through the cleanup executor.

They check the registry and the repository first (a wrong token, an exhausted budget or a running
GC exit before any DELETE), and inherit the executor's circuit breaker (repeated 401/403/409
responses stop the run) and its rate-limit budget stop; items left out are ``not_attempted``.
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


def test_a_wrong_token_exits_3_before_any_delete(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 5)
    fake.control("DELETE", "/_fake/requests")
    wrong = "dop_v1_" + "cd" * 32

    result = _delete_one_by_one(docr, tags, token=wrong)

    assert result.code == ExitCode.AUTH
    assert result.stdout == "", "nothing is reported: the registry check failed first"
    assert _deletes(fake) == []
    # The circuit breaker itself (401s on DELETEs after the checks passed) is tested against the
    # executor: tests/e2e/test_cleanup_e2e.py::test_revoked_token_trips_the_circuit_breaker.


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

    typo = docr("manifests", "delete", tagged["digest"], missing, "--repo", "api", "-r", REGISTRY, "-f")
    assert typo.code == ExitCode.NOT_FOUND, "a digest that does not exist is not a success"
    assert fake.registry() == before, "all or nothing"

    result = docr(
        "manifests",
        "delete",
        tagged["digest"],
        missing,
        "--repo",
        "api",
        "-r",
        REGISTRY,
        "-f",
        "--missing-ok",
    )

    assert result.code == 0, str(result)
    assert "deleted" in result.stdout
    assert "already_gone" in result.stdout
    after = fake.registry()
    assert after["manifests"] == before["manifests"] - 1
    assert after["tags"] == before["tags"] - len(tagged["tags"])
    remaining = docr("tags", "list", "api", "-r", REGISTRY, "-o", "json").json()
    assert not {t["tag"] for t in remaining} & set(tagged["tags"])


def test_an_exhausted_budget_exits_6_before_any_delete(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 3)
    before = fake.registry()["tags"]
    fake.control("PUT", "/_fake/rate-limits", {"hourly_limit": 1, "reset": True})
    assert docr("registries", "list").code == 0  # spends the whole hourly budget
    fake.control("DELETE", "/_fake/requests")

    result = _delete_one_by_one(docr, tags, "--max-wait", "1")

    assert result.code == ExitCode.RATE_LIMITED
    assert [(r["method"], r["status"]) for r in fake.requests()] == [("GET", 429)], (
        "the registry check meets the 429; no DELETE is sent"
    )
    assert fake.registry()["tags"] == before


def test_an_exhausted_budget_mid_run_stops_it_and_exits_1(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 3)
    before = fake.registry()["tags"]
    # Lookups (registry, tags), the executor's checks (registry, GC, tags) and one DELETE pass;
    # the budget is gone after that.
    fake.control("PUT", "/_fake/rate-limits", {"hourly_limit": 6, "reset": True})
    fake.control("DELETE", "/_fake/requests")

    result = _delete_one_by_one(docr, tags, "--max-wait", "1")

    assert result.code == ExitCode.FAILED, str(result)  # some done, some not: 1
    rows = result.json()["results"]
    assert [r["status"] for r in rows] == ["deleted", "not_attempted", "not_attempted"]
    assert all("budget" in r["error"] for r in rows[1:])
    assert fake.registry()["tags"] == before - 1


def test_during_a_gc_nothing_is_sent_and_it_exits_5(docr: Docr, fake: Fake) -> None:
    tags = _tags(docr, 4)
    before = fake.registry()["tags"]
    fake.control("PUT", "/_fake/gc", {"step_seconds": 3600.0})  # still running when the deletes arrive
    assert docr("gc", "start", REGISTRY).code == 0
    fake.control("DELETE", "/_fake/requests")

    result = _delete_one_by_one(docr, tags)

    assert result.code == ExitCode.CONFLICT, "the registry is read-only during GC"
    uuid = fake.registry()["active_garbage_collection"]["uuid"]
    assert uuid in result.stderr
    assert _deletes(fake) == []
    assert fake.registry()["tags"] == before
