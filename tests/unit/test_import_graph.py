"""The package's import graph has no cycle, ``TYPE_CHECKING`` imports included.

A cycle that only exists under ``TYPE_CHECKING`` still shows an inverted layering (a low module that
knows about a high one), so every ``import`` statement anywhere in a module counts: top level,
inside ``if TYPE_CHECKING:``, inside functions. Importing a submodule runs its package's
``__init__`` first, but that implicit edge is not counted (it would make every package a cycle);
only the modules an ``import`` statement names are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import docr_async

PACKAGE = "docr_async"
ROOT = Path(docr_async.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Every module of the package mapped to the package modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, is_package, node)
                # ``from .pkg import sub`` imports the submodule ``pkg.sub`` when there is one.
                subs = [f"{source}.{alias.name}" for alias in node.names]
                targets = [sub for sub in subs if sub in modules] or [source]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that ends where it starts), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_type_checking_and_relative_imports() -> None:
    graph = import_graph()
    # A TYPE_CHECKING-only import of exceptions in the transport, and relative imports two levels up.
    assert "docr_async.exceptions" in graph["docr_async._transport"]
    assert "docr_async.pagination" in graph["docr_async.resources._base"]
    assert "docr_async.resources.tags" in graph["docr_async.resources"]


def test_find_cycle_reports_a_type_checking_only_cycle(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    ("leaf", "allowed"),
    [
        ("docr_async.exceptions", {"docr_async._ratelimit_headers"}),
        ("docr_async._builders", set()),  # constructors of frozen attrs classes: imports only attrs
        ("docr_async._ratelimit_headers", {"docr_async._constants", "docr_async._builders"}),
        (
            "docr_async._protocol",  # pure: no transport, limiter, client or resource
            {
                "docr_async._builders",
                "docr_async._constants",
                "docr_async._ratelimit_headers",
                "docr_async._version",
                "docr_async.exceptions",
            },
        ),
        ("docr_async._limiter", {"docr_async._ratelimit_headers"}),  # the protocol: a leaf
        ("docr_async._token_usage", set()),  # pure arithmetic on reported budgets
        ("docr_async._adaptive", {"docr_async._token_usage"}),  # pure: no clock, limiter or I/O
        (
            "docr_async._core",
            {
                "docr_async._transport",
                "docr_async._limiter",
                "docr_async._retry",
                "docr_async._default_registry",
            },
        ),
        # The default registry is handed its discovery request: it never sends one itself.
        (
            "docr_async._default_registry",
            {"docr_async._constants", "docr_async.exceptions", "docr_async.names"},
        ),
    ],
)
def test_the_lowest_modules_import_nothing_above_them(leaf: str, allowed: set[str]) -> None:
    assert import_graph()[leaf] <= allowed
