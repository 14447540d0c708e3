"""How FakeDOCR is put together: one FakeConfig passed through, a FakeApp composed, not inherited."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import attrs
import pytest

import docr_async.testing
from docr_async.testing import FakeApp, FakeConfig, FakeDOCR, FaultConfig, GCConfig, ManualClock, SeedSpec
from docr_async.testing._configs import FakeOptions


def public_members(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls) if not name.startswith("_")}


def test_the_constructor_keywords_are_the_config_fields() -> None:
    fields = {f.name for f in attrs.fields(FakeConfig)}
    assert set(FakeOptions.__annotations__) == fields - {"token"}


def test_keywords_build_one_config_that_the_app_shares() -> None:
    clock = ManualClock()
    fake = FakeDOCR("dop_v1_mine", seed=4, clock=clock, seed_spec=SeedSpec(repos=2), shutdown_timeout=2.0)
    assert fake.config == FakeConfig(
        token="dop_v1_mine", seed=4, clock=clock, seed_spec=SeedSpec(repos=2), shutdown_timeout=2.0
    )
    assert fake.app.config is fake.config
    assert fake.token == fake.app.token == "dop_v1_mine"
    assert fake.seed == 4
    assert len(fake.state.registries["example"].repositories) == 2


def test_keywords_next_to_a_config_replace_its_fields() -> None:
    base = FakeConfig(seed=3, token="dop_v1_base", port=0, faults=FaultConfig(error_rate=0.5))
    fake = FakeDOCR(config=base, seed=9)
    assert fake.config == attrs.evolve(base, seed=9)
    assert FakeDOCR("dop_v1_other", config=base).token == "dop_v1_other"
    assert FakeDOCR(config=base).faults == FaultConfig(error_rate=0.5)


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="colour"):
        FakeDOCR(colour="blue")  # type: ignore[call-arg]


def test_fakedocr_composes_the_app_and_exposes_all_of_it() -> None:
    assert not issubclass(FakeDOCR, FakeApp)
    fake = FakeDOCR(seed=1)
    missing = {name for name in public_members(FakeApp) if not hasattr(fake, name)}
    assert not missing, missing
    # Settable attributes reach the application.
    clock = ManualClock(now=5.0)
    fake.clock = clock
    fake.gc_config = GCConfig(step_seconds=9)
    fake.faults = FaultConfig(drop_rate=1.0)
    fake.use_default_hooks = False
    assert fake.app.clock is clock
    assert fake.app.gc_config == GCConfig(step_seconds=9)
    assert fake.app.faults == FaultConfig(drop_rate=1.0)
    assert fake.app.use_default_hooks is False
    # Methods act on the same application.
    token = fake.add_token()
    assert token in fake.app.tokens
    manifest = fake.push("example", "fresh/app", "v1")
    assert fake.app.state.registries["example"].repositories["fresh/app"].tags["v1"].manifest is manifest


def test_no_exported_name_collides_with_the_sdk() -> None:
    import docr_async
    import docr_async.testing

    assert set(docr_async.testing.__all__).isdisjoint(docr_async.__all__)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("GarbageCollection", "FakeGarbageCollection"),
        ("Manifest", "FakeManifest"),
        ("Registry", "FakeRegistry"),
        ("Repository", "FakeRepository"),
        ("Subscription", "FakeSubscription"),
        ("Tag", "FakeTag"),
    ],
)
def test_old_model_names_still_import_with_a_deprecation_warning(old: str, new: str) -> None:
    import docr_async.testing

    with pytest.warns(DeprecationWarning, match=rf"docr_async\.testing\.{old} is deprecated; use .*\.{new}"):
        alias = getattr(docr_async.testing, old)
    assert alias is getattr(docr_async.testing, new)
    assert old not in docr_async.testing.__all__
    with pytest.warns(DeprecationWarning, match=rf"use docr_async\.testing\.{new}"):
        exec(f"from docr_async.testing import {old}", {})  # the `from ... import` form warns too


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import docr_async.testing

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        docr_async.testing.Nope  # noqa: B018


PACKAGE_DIR = Path(docr_async.testing.__file__).parent


def intra_package_imports(path: Path) -> set[str]:
    """Modules of docr_async.testing that ``path`` imports, TYPE_CHECKING imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module)
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycle_inside_the_fake() -> None:
    graph = {p.stem: intra_package_imports(p) for p in PACKAGE_DIR.glob("*.py")}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            assert state.get(dep) != "open", f"import cycle: {' -> '.join([*path, dep])}"
            if dep not in state:
                visit(dep, [*path, dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_every_module_of_the_fake_stays_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 500
