"""Shared test configuration.

aioresponses 0.7.9 builds ``ClientResponse`` objects without the ``stream_writer`` argument that
aiohttp 3.14 requires. The shim below gives it a finished stream writer so unit tests can keep using
aioresponses without pinning aiohttp below its security release.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import aioresponses.core
from aiohttp import ClientResponse


class _CompatClientResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", mock.Mock(output_size=0))
        super().__init__(method, url, **kwargs)


aioresponses.core.ClientResponse = _CompatClientResponse  # type: ignore[misc]
