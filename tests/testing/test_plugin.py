"""The pytest plugin: fixtures, marker, indirect parameters, and how it is loaded."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.testing import FakeDOCR, SeedSpec

if TYPE_CHECKING:
    import aiohttp

ROOT = Path(__file__).resolve().parents[2]


async def test_fake_docr_fixture(fake_docr: FakeDOCR, http: aiohttp.ClientSession) -> None:
    assert fake_docr.running
    assert fake_docr.seed == 0
    assert fake_docr.url.startswith("http://127.0.0.1:")
    async with http.get(
        f"{fake_docr.url}/v2/registries", headers={"Authorization": f"Bearer {fake_docr.token}"}
    ) as r:
        assert r.status == 200
        assert (await r.json())["registries"][0]["name"] == "example"


@pytest.mark.fake_docr(seed=7, seed_spec=SeedSpec(registries=2, repos=1, tags=2))
async def test_marker_customises_the_fake(fake_docr: FakeDOCR) -> None:
    assert fake_docr.seed == 7
    assert sorted(fake_docr.state.registries) == ["example", "staging"]


@pytest.mark.fake_docr(seed=1)
@pytest.mark.parametrize("fake_docr", [{"seed": 2}, {"seed": 3, "token": "dop_v1_param"}], indirect=True)
async def test_request_param_wins_over_marker(fake_docr: FakeDOCR) -> None:
    assert fake_docr.seed in (2, 3)
    if fake_docr.seed == 3:
        assert fake_docr.token == "dop_v1_param"


def _docr_client_available() -> bool:
    try:
        return hasattr(importlib.import_module("docr_async"), "DOCRClient")
    except Exception:
        return False


@pytest.mark.skipif(not _docr_client_available(), reason="docr_async.DOCRClient does not exist yet")
async def test_docr_client_fixture(docr_client: Any, fake_docr: FakeDOCR) -> None:
    assert type(docr_client).__name__ == "DOCRClient"


PLUGIN_TEST = textwrap.dedent(
    """
    import pytest
    from docr_async.testing import SeedSpec

    @pytest.mark.fake_docr(seed=5, seed_spec=SeedSpec(repos=1, tags=1))
    async def test_fixture(fake_docr):
        assert fake_docr.seed == 5
        assert len(fake_docr.state.registries["example"].repositories) == 1

    def test_no_side_effects_without_the_fixture():
        from docr_async.testing import DEFAULT_RESPONSE_HOOKS
        assert DEFAULT_RESPONSE_HOOKS == []
    """
)


async def run_pytest(tmp_path: Path, *args: str, autoload: bool = True) -> tuple[int, str]:
    (tmp_path / "test_plugin_user.py").write_text(PLUGIN_TEST)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = ("-p", "asyncio", *args)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        "-W",
        "error",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.parametrize(
    ("args", "autoload"),
    [
        ((), True),  # the installed `docr_fake` entry point
        (("-p", "docr_async.testing.pytest_plugin"), True),  # explicit -p on top of the entry point
        (("-p", "docr_async.testing.pytest_plugin"), False),  # explicit -p alone
    ],
)
async def test_plugin_loading(tmp_path: Path, args: tuple[str, ...], autoload: bool) -> None:
    code, output = await run_pytest(tmp_path, *args, autoload=autoload)
    assert code == 0, output
    assert "2 passed" in output
