"""docs/api.md cannot rot: every public name, method and option of the SDK must appear in it."""

from __future__ import annotations

import enum
import functools
import inspect
import re
import typing
from pathlib import Path
from typing import Any

import pytest

import docr_async
import docr_async.cleanup
import docr_async.testing
from docr_async import APIStatusError, DOCRClient
from docr_async.resources._base import Resource

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TEXT = API_MD.read_text()

PACKAGES = [docr_async, docr_async.cleanup, docr_async.testing]


def mentioned(name: str) -> bool:
    """``name`` appears at the start of a code span: `Name`, `Name(...)`, `Name.attr`."""
    return re.search(rf"`(?:await )?{re.escape(name)}(?![\w])", TEXT) is not None


def public_members(cls: type, *, stop: type = object) -> list[str]:
    """Public methods and properties that ``cls`` (or a base below ``stop``) defines itself."""
    names: list[str] = []
    for klass in cls.__mro__:
        if klass is stop or klass is object:
            break
        for name, value in vars(klass).items():
            is_member = isinstance(value, property | functools.cached_property | classmethod | staticmethod)
            if not name.startswith("_") and (is_member or inspect.isfunction(value)) and name not in names:
                names.append(name)
    return names


def namespaces(cls: type, prefix: str) -> list[tuple[str, type]]:
    """``(path, resource class)`` for every resource namespace reachable from ``cls``."""
    found: list[tuple[str, type]] = []
    for name, value in vars(cls).items():
        if isinstance(value, functools.cached_property):
            kind = typing.get_type_hints(value.func).get("return")
            if inspect.isclass(kind) and issubclass(kind, Resource):
                found.append((f"{prefix}.{name}", kind))
                found += namespaces(kind, f"{prefix}.{name}")
    return found


PUBLIC_NAMES = [(package.__name__, name) for package in PACKAGES for name in package.__all__]
DOCUMENTED_CLASSES = [
    getattr(package, name)
    for package in (docr_async, docr_async.cleanup)
    for name in package.__all__
    if inspect.isclass(getattr(package, name))
    and not issubclass(getattr(package, name), BaseException | enum.Enum)
]
RESOURCE_METHODS = [
    f"{path}.{member}"
    for path, kind in namespaces(DOCRClient, "client")
    for member in public_members(kind, stop=Resource)
    if not isinstance(vars(kind).get(member), functools.cached_property)  # a nested namespace
]


@pytest.mark.parametrize(("package", "name"), PUBLIC_NAMES)
def test_every_public_name_is_documented(package: str, name: str) -> None:
    assert mentioned(name), f"{package}.{name} is missing from docs/api.md"


@pytest.mark.parametrize("cls", DOCUMENTED_CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_method_is_documented(cls: type) -> None:
    missing = [m for m in public_members(cls) if not mentioned(f"{cls.__name__}.{m}")]
    assert not missing, f"docs/api.md lacks {', '.join(f'{cls.__name__}.{m}' for m in missing)}"


@pytest.mark.parametrize("call", RESOURCE_METHODS)
def test_every_resource_method_is_documented(call: str) -> None:
    assert mentioned(call), f"{call} is missing from docs/api.md"


def test_the_resource_walk_found_every_namespace() -> None:
    paths = {path for path, _ in namespaces(DOCRClient, "client")}
    assert {"client.registries", "client.tags", "client.legacy", "client.legacy.tags"} <= paths
    assert len(RESOURCE_METHODS) >= 40


@pytest.mark.parametrize("option", list(inspect.signature(DOCRClient).parameters))
def test_every_client_option_is_in_the_configuration_table(option: str) -> None:
    assert re.search(rf"^\| `{option}` \| ", TEXT, re.MULTILINE), f"option {option!r} has no row"


def status_classes() -> list[type[APIStatusError]]:
    def walk(cls: type[APIStatusError]) -> list[type[APIStatusError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in walk(sub))]

    return [cls for cls in walk(APIStatusError) if cls.status_code is not None]


@pytest.mark.parametrize("cls", status_classes(), ids=lambda cls: cls.__name__)
def test_every_status_error_is_in_the_error_table(cls: type[APIStatusError]) -> None:
    assert re.search(rf"^\| {cls.status_code} \| `{cls.__name__}`", TEXT, re.MULTILINE)


def test_documented_defaults_match_the_code() -> None:
    defaults: dict[str, Any] = {
        name: p.default for name, p in inspect.signature(DOCRClient).parameters.items()
    }
    for option in ("max_concurrency", "prefetch", "max_pages"):
        shown = f"{defaults[option]:_}" if defaults[option] >= 10_000 else str(defaults[option])
        assert re.search(rf"^\| `{option}` \| `{shown}` \|", TEXT, re.MULTILINE), option
    retry, timeout = defaults["retry"], defaults["timeout"]
    assert f"`Timeout(connect={timeout.connect}, total={timeout.total})`" in TEXT
    assert f"{retry.max_attempts} attempts" in TEXT
    assert f"{retry.deadline:g} s deadline" in TEXT
    assert f"`RetryPolicy(*, max_attempts={retry.max_attempts}, backoff_base={retry.backoff_base:g}," in TEXT
    assert defaults["max_response_bytes"] == 64 * 1024 * 1024
