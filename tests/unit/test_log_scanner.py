"""The session-wide log scanner (tests/conftest.py) really sees SDK logs and really spots tokens."""

from __future__ import annotations

import logging
from typing import Any

from aioresponses import aioresponses

from docr_async import NO_RETRY, DOCRClient, RateLimiter

TOKEN = "dop_v1_" + "7" * 64


async def test_debug_logs_of_a_real_request_are_captured_and_clean(docr_log_scanner: Any) -> None:
    before_records, before_leaks = docr_log_scanner.records, len(docr_log_scanner.leaks)
    with aioresponses() as mocked:
        mocked.get(
            "https://api.digitalocean.com/v2/registries/example", payload={"registry": {"name": "example"}}
        )
        async with DOCRClient(TOKEN, retry=NO_RETRY, rate_limiter=RateLimiter(enabled=False)) as client:
            await client.registries.get("example")
    assert docr_log_scanner.records > before_records
    assert len(docr_log_scanner.leaks) == before_leaks


def test_scanner_detects_a_token_in_a_record(docr_log_scanner: Any) -> None:
    record = logging.LogRecord("docr_async", logging.DEBUG, __file__, 1, "sent %s", (TOKEN,), None)
    before = len(docr_log_scanner.leaks)
    docr_log_scanner.emit(record)
    assert len(docr_log_scanner.leaks) == before + 1
    del docr_log_scanner.leaks[before:]  # this leak was planted on purpose
