"""Fixtures for the tests of examples/: a small seeded FakeDOCR and ways to point the examples at it.

The examples import each other's helper as a top-level module (``_target``), exactly as
``python examples/<name>.py`` does, so the examples directory goes on ``sys.path`` here.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from virtual_gc import gc_in_virtual_time

from docr_async.testing import FakeDOCR, SeedSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

from _target import TOKEN_ENV_VARS, open_client, open_target  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from docr_async import DOCRClient

REGISTRY = "example"
SMALL = SeedSpec(repos=4, tags=40, untagged=6, days=90, tier="starter")
"""40 tags in 4 repositories, about 120% of the Starter tier's 500 MiB."""


@pytest.fixture
def seed_spec() -> SeedSpec:
    """The fake's data; override in a module or with ``@pytest.mark.parametrize(..., indirect)``."""
    return SMALL


@pytest.fixture
async def fake(seed_spec: SeedSpec) -> AsyncIterator[FakeDOCR]:
    async with FakeDOCR(seed=3, seed_spec=seed_spec) as fake:
        gc_in_virtual_time(fake)  # a GC moves one step per read, never by itself
        yield fake


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API token in the environment: the examples would start their embedded fake."""
    for name in TOKEN_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def connect(fake: FakeDOCR) -> Callable[..., AbstractAsyncContextManager[tuple[DOCRClient, str]]]:
    """``open_target`` pointed at the fake (what ``--base-url`` plus a token in the env do)."""
    return partial(open_target, base_url=fake.url, token=fake.token)


def client_factory(fake: FakeDOCR, **options: Any) -> Callable[[], AbstractAsyncContextManager[DOCRClient]]:
    """``open_client`` pointed at the fake, with more ``DOCRClient`` options."""
    return partial(open_client, base_url=fake.url, token=fake.token, **options)


def tag_counts(fake: FakeDOCR) -> dict[str, int]:
    """Tags per repository, read from the fake's state."""
    return {name: len(repo.tags) for name, repo in fake.state.registries[REGISTRY].repositories.items()}


def example_env() -> dict[str, str]:
    """The environment for running an example as a subprocess: no token, unbuffered output."""
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    return env
