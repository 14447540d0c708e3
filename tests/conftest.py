"""Shared test configuration.

aioresponses 0.7.9 builds ``ClientResponse`` objects without the ``stream_writer`` argument that
aiohttp 3.14 requires. The shim below gives it a finished stream writer so unit tests can keep using
aioresponses without pinning aiohttp below its security release.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import aioresponses.core
import pytest
from aiohttp import ClientResponse
from hypothesis import settings

from docr_async.testing import DEFAULT_RESPONSE_HOOKS
from docr_async.testing.pytest_plugin import docr_client, fake_docr  # noqa: F401 - see FakeDOCR below
from docr_async.testing.pytest_plugin import pytest_configure as _docr_fake_configure

if TYPE_CHECKING:
    from collections.abc import Iterator


class _CompatClientResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", mock.Mock(output_size=0))
        super().__init__(method, url, **kwargs)


aioresponses.core.ClientResponse = _CompatClientResponse  # type: ignore[attr-defined]  # not re-exported


# Hypothesis: no per-example deadline (CI machines are shared and timing is not what these tests
# check), and under CI=true a derandomized run, so a red CI reproduces exactly.
settings.register_profile("docr", deadline=None, print_blob=True)
settings.register_profile("docr-ci", parent=settings.get_profile("docr"), derandomize=True)
settings.load_profile("docr-ci" if os.environ.get("CI") else "docr")


# --------------------------------------------------------------------------------------------------
# FakeDOCR (docr_async.testing): fixtures and OpenAPI validation of everything the fake says.
#
# The `fake_docr` and `docr_client` fixtures come from docr_async.testing.pytest_plugin. Once the
# package is installed, the `docr_fake` pytest11 entry point loads that plugin as well; re-exporting
# the fixtures here (instead of `pytest_plugins = [...]` or `-p`) keeps them available before the
# install without registering the plugin module twice, which pluggy refuses.


def pytest_configure(config: pytest.Config) -> None:
    _docr_fake_configure(config)  # registers the `fake_docr` marker


def _load_spec_validation() -> Any:
    # Loaded by file path so it works whether or not `tests` is a package.
    path = Path(__file__).parent / "testing" / "spec_validation.py"
    spec = importlib.util.spec_from_file_location("_docr_fake_spec_validation", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_spec_validation = _load_spec_validation()


@pytest.fixture(scope="session", autouse=True)
def docr_spec_validator() -> Iterator[Any]:
    """Validate every response of every FakeDOCR in the session against tests/data/docr-openapi.yaml."""
    validator = _spec_validation.SpecValidator()
    DEFAULT_RESPONSE_HOOKS.append(validator)
    try:
        yield validator
    finally:
        DEFAULT_RESPONSE_HOOKS.remove(validator)


@pytest.fixture(autouse=True)
def _docr_spec_violations(docr_spec_validator: Any) -> Iterator[None]:
    """Fail the test (at teardown) whose FakeDOCR answered outside the OpenAPI contract."""
    start = len(docr_spec_validator.violations)
    yield
    new = docr_spec_validator.violations[start:]
    if new:
        pytest.fail(
            "FakeDOCR sent responses that violate tests/data/docr-openapi.yaml:\n  " + "\n  ".join(new),
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------------
# Secrets: every log record the SDK (and the fake) emits during the whole suite is captured at DEBUG
# and scanned for anything token-shaped. A leak fails the test that caused it.

_SECRET_RE = re.compile(r"do[por]_v1_[A-Za-z0-9]{6,}|Bearer\s+(?!<redacted>)\S+", re.IGNORECASE)


class _SecretScanner(logging.Handler):
    """Collects every ``docr_async`` log record and remembers those that contain a credential."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if _SECRET_RE.search(text):
            self.leaks.append(f"{record.name}:{record.levelname}: {text[:300]}")


@pytest.fixture(scope="session", autouse=True)
def docr_log_scanner() -> Iterator[_SecretScanner]:
    """Capture all docr_async logging at DEBUG for the session (so every debug line is produced)."""
    scanner = _SecretScanner()
    logger = logging.getLogger("docr_async")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(scanner)
    try:
        yield scanner
    finally:
        logger.removeHandler(scanner)
        logger.setLevel(previous)


@pytest.fixture(autouse=True)
def _docr_no_secret_in_logs(docr_log_scanner: _SecretScanner) -> Iterator[None]:
    """Fail the test (at teardown) during which a log record carried a token."""
    start = len(docr_log_scanner.leaks)
    yield
    new = docr_log_scanner.leaks[start:]
    if new:
        pytest.fail("a log record contained a credential:\n  " + "\n  ".join(new), pytrace=False)
