"""Pure parts of the CLI: exit codes, error lines, JSON conversion, output streams."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from docr_async import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    GarbageCollectionError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitBudgetError,
    ServerError,
    Tag,
    TooManyRequestsError,
    UnprocessableEntityError,
    ValidationError,
    WaitTimeoutError,
)
from docr_async.cli import ExitCode, describe_error, exit_code_for
from docr_async.cli._output import Output, OutputFormat, human_bytes, short_digest, to_jsonable
from docr_async.exceptions import GarbageCollectionActiveError


def status(cls: type[APIStatusError], code: int) -> APIStatusError:
    return cls(status=code, message="boom", error_id="some_id", request_id="req-1")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (status(AuthenticationError, 401), ExitCode.AUTH),
        (status(PermissionDeniedError, 403), ExitCode.AUTH),
        (status(NotFoundError, 404), ExitCode.NOT_FOUND),
        (status(ConflictError, 409), ExitCode.CONFLICT),
        (status(PreconditionFailedError, 412), ExitCode.CONFLICT),
        (GarbageCollectionActiveError("active", garbage_collection=None), ExitCode.CONFLICT),
        (status(TooManyRequestsError, 429), ExitCode.RATE_LIMITED),
        (RateLimitBudgetError(wait=60, max_wait=1, reset_at=None, reason="budget"), ExitCode.RATE_LIMITED),
        (status(UnprocessableEntityError, 422), ExitCode.USAGE),
        (ValidationError("tag", "x y", "bad"), ExitCode.USAGE),
        (ConfigurationError("no token"), ExitCode.USAGE),
        (status(ServerError, 503), ExitCode.API_ERROR),
        (APIConnectionError("refused", method="GET", url="http://x"), ExitCode.API_ERROR),
        (GarbageCollectionError("failed", uuid="u", status="failed"), ExitCode.FAILED),
        (WaitTimeoutError("still running"), ExitCode.FAILED),
    ],
)
def test_exit_codes(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) is code


def test_exit_code_values_are_stable() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 6, 7, 130]


def test_error_line_has_status_id_message_and_request_id() -> None:
    error = NotFoundError(status=404, error_id="not_found", message="repository\nnot found", request_id="r-9")
    assert describe_error(error) == "404 not_found: repository not found (request_id=r-9)"
    assert "hint" in describe_error(status(PreconditionFailedError, 412))


def test_output_redacts_secrets_everywhere() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(OutputFormat.JSON, secrets=["dop_v1_secret"], stdout=out, stderr=err)
    output.error("401 for dop_v1_secret")
    output.info("token dop_v1_secret")
    output.emit_json({"echo": "dop_v1_secret"})
    assert "dop_v1_secret" not in out.getvalue() + err.getvalue()
    assert json.loads(out.getvalue()) == {"echo": "<redacted>"}
    assert err.getvalue().count("\n") == 2, "one line per message"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    assert Output(stdout=io.StringIO(), stderr=io.StringIO()).progress().disable
    assert not Output(stdout=io.StringIO(), stderr=_Tty()).progress().disable


def test_to_jsonable_models() -> None:
    tag = Tag(tag="v1", updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), extra={"new_field": 1})
    data = to_jsonable([tag])
    assert data[0]["tag"] == "v1"
    assert data[0]["updated_at"] == "2026-01-02T03:04:05Z"
    assert data[0]["new_field"] == 1, "unknown fields are kept"
    assert "extra" not in data[0]
    json.dumps(data)


def test_formatting_helpers() -> None:
    assert human_bytes(None) == "-"
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"
    assert short_digest("sha256:" + "a" * 64) == "sha256:" + "a" * 12
