"""pytest plugin providing the ``fake_docr`` and ``docr_client`` fixtures.

Registered as the ``docr_fake`` pytest11 entry point, or load it explicitly with
``-p docr_async.testing.pytest_plugin``. It only defines fixtures and a marker: nothing runs unless
a test asks for a fixture. Customise the fake with a marker or with indirect parametrisation::

    @pytest.mark.fake_docr(seed=7, seed_spec=SeedSpec(repos=3))
    async def test_something(fake_docr): ...


    @pytest.mark.parametrize("fake_docr", [{"seed": 1}, {"seed": 2}], indirect=True)
    async def test_other(fake_docr): ...
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import pytest

from ._server import FakeDOCR

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - fall back to plain fixtures (pytest-asyncio absent)
    _async_fixture = pytest.fixture  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["docr_client", "fake_docr", "pytest_addoption", "pytest_configure"]

ENTRY_POINT_NAME = "docr_fake"
"""Name of this plugin's ``pytest11`` entry point."""


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Adds no option. Runs as soon as this module is registered: when that happened through
    ``-p docr_async.testing.pytest_plugin`` (under the module name), block the ``docr_fake`` entry
    point, which would otherwise register the same module a second time and make pluggy fail."""
    name = pluginmanager.get_name(sys.modules[__name__])
    if name is not None and name != ENTRY_POINT_NAME and not pluginmanager.has_plugin(ENTRY_POINT_NAME):
        pluginmanager.set_blocked(ENTRY_POINT_NAME)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_docr`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", "fake_docr(**kwargs): keyword arguments for the FakeDOCR(...) of the fake_docr fixture"
    )


def fake_docr_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Merge ``fake_docr`` markers (closest wins) and an indirect ``request.param`` dict."""
    kwargs: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("fake_docr"))):
        kwargs.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise TypeError("indirect parameters of fake_docr must be dicts of FakeDOCR keyword arguments")
        kwargs.update(param)
    return kwargs


@_async_fixture
async def fake_docr(request: pytest.FixtureRequest) -> AsyncIterator[FakeDOCR]:
    """A running, seeded :class:`~docr_async.testing.FakeDOCR` (default seed 0, default data)."""
    async with FakeDOCR(**fake_docr_kwargs(request)) as fake:
        yield fake


@_async_fixture
async def docr_client(fake_docr: FakeDOCR) -> AsyncIterator[Any]:
    """A ``docr_async.DOCRClient`` pointed at ``fake_docr`` (imported lazily, when requested)."""
    client_cls = importlib.import_module("docr_async").DOCRClient
    async with client_cls(token=fake_docr.token, base_url=fake_docr.url) as client:
        yield client
