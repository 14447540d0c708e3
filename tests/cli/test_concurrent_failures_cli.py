"""``docr du`` and ``docr cleanup`` when several repository listings fail at once.

The CLI must print every error of an exception group (status, id, request id) and exit with their
code: no traceback, no error dropped. ``Cli.run_plain`` is tested with a real group; the commands
run as real subprocesses behind a hostile proxy (tests/barrier_proxy.py) that fails two listings
in the same instant. Across processes the two failures may still reach the client's loop one
iteration apart, and the first then cancels the other listing, so the subprocess test accepts one
or both errors (the in-process SDK test, test_scan_failures.py, pins both).
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest
import typer
from barrier_proxy import proxy_thread

from docr_async import DOCRError, NotFoundError, ServerError
from docr_async.cli import ExitCode
from docr_async.cli._common import Cli, Settings
from docr_async.cli._output import OutputFormat

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
    fake.control("DELETE", "/_fake/requests")  # the module's fake: this test's requests only
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
    reported = {name for name in fail if f"listing of {name} failed (request_id=req-{name})" in done.stderr}
    assert reported, done.stderr
    assert ("2 requests failed at once" in done.stderr) == (reported == fail), done.stderr
    assert not [r for r in fake.requests() if r["method"] == "DELETE"]


def _error(status: int, name: str) -> DOCRError:
    kind = NotFoundError if status == 404 else ServerError
    return kind(status=status, error_id="e", message=f"listing of {name} failed", request_id=f"req-{name}")


@pytest.mark.parametrize(
    ("statuses", "code"),
    [((500, 503), ExitCode.API_ERROR), ((404, 404), ExitCode.NOT_FOUND), ((404, 500), ExitCode.API_ERROR)],
)
def test_run_plain_prints_every_error_of_a_group_and_their_code(
    capsys: pytest.CaptureFixture[str], statuses: tuple[int, int], code: ExitCode
) -> None:
    errors = [_error(status, f"r{i}") for i, status in enumerate(statuses)]

    async def fails() -> None:
        raise ExceptionGroup("2 concurrent tasks failed", [errors[0], ExceptionGroup("inner", [errors[1]])])

    c = Cli(Settings(), OutputFormat.TEXT)
    with pytest.raises(typer.Exit) as caught:
        c.run_plain(fails)
    assert caught.value.exit_code == code
    err = capsys.readouterr().err
    for i, status in enumerate(statuses):
        assert f"{status} e: listing of r{i} failed (request_id=req-r{i})" in err
    assert "2 requests failed at once" in err


def test_run_plain_lets_a_group_with_a_bug_in_it_propagate() -> None:
    async def fails() -> None:
        raise ExceptionGroup("g", [_error(500, "a"), KeyError("bug")])

    with pytest.raises(ExceptionGroup):
        Cli(Settings(), OutputFormat.TEXT).run_plain(fails)
