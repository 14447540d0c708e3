"""README examples are code: every Python block compiles, and the main-job example runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from virtual_gc import gc_in_virtual_time

import docr_async
import docr_async.cleanup
from docr_async.testing import FakeDOCR, SeedSpec

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_compiles(index: int) -> None:
    compile(BLOCKS[index], f"README block {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def test_the_main_job_example_runs_against_a_fake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    block = next(b for b in BLOCKS if "build_plan" in b and "collect_garbage(client" in b)
    spec = SeedSpec(repos=4, tags=120, untagged=8, days=90)
    async with FakeDOCR(seed=5, seed_spec=spec) as fake:
        gc_in_virtual_time(fake)
        real_client = docr_async.DOCRClient

        class PointedAtFake(real_client):  # type: ignore[misc,valid-type]
            def __init__(self, token: str | None = None, **kwargs: Any) -> None:
                kwargs.setdefault("base_url", fake.url)
                super().__init__(token or fake.token, **kwargs)

        monkeypatch.setattr(docr_async, "DOCRClient", PointedAtFake)
        monkeypatch.chdir(tmp_path)
        # The GC wait polls every 5 s by default; the example is run as written, only faster.
        original_collect = docr_async.cleanup.collect_garbage

        async def fast_collect(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("poll_interval", 0.01)
            return await original_collect(*args, **kwargs)

        monkeypatch.setattr(docr_async.cleanup, "collect_garbage", fast_collect)
        before = fake.state.registry("example").storage_usage_bytes
        code = compile(block, "README main job", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, {"print": lambda *a: None})
        if result is not None:
            await result
        assert (tmp_path / "plan.json").exists()
        assert fake.state.registry("example").storage_usage_bytes < before
