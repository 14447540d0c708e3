"""``docr du`` and ``docr cleanup`` when several repository listings fail at once.

A hostile proxy (tests/barrier_proxy.py, on its own thread) fails two listings in the
same instant, so the SDK raises an exception group. The CLI must print every error (status, id,
request id) and exit with their code: no traceback, no error dropped.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest
from barrier_proxy import proxy_thread

from docr_async.cli import ExitCode

from .conftest import COMMAND_TIMEOUT, DOCR, REGISTRY, Fake, base_env

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Result


@pytest.mark.parametrize(
    "command",
    [
        ("du", REGISTRY),
        ("cleanup", REGISTRY, "--keep-last", "1"),
        ("cleanup", REGISTRY, "--keep-last", "1", "--explain"),
    ],
)
def test_two_listings_failing_at_once_are_both_reported_without_a_traceback(
    fake: Fake, docr: Callable[..., Result], command: tuple[str, ...]
) -> None:
    names = sorted(r["name"] for r in docr("repos", "list", REGISTRY, "-o", "json").json())
    fail = set(names[:2])
    with proxy_thread(fake.url, fail) as proxy:
        done = subprocess.run(
            [*DOCR, "--base-url", proxy.url, "--retries", "0", *command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=base_env(DIGITALOCEAN_TOKEN=fake.token),
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    assert sorted(proxy.failed) == sorted(fail)
    assert "Traceback" not in done.stderr, done.stderr
    assert fake.token not in done.stderr + done.stdout
    assert done.returncode == ExitCode.API_ERROR, done.stderr
    for name in fail:
        assert f"listing of {name} failed" in done.stderr
        assert f"request_id=req-{name}" in done.stderr
    assert "2 requests failed at once" in done.stderr
    assert not [r for r in fake.requests() if r["method"] == "DELETE"]
