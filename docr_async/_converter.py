"""The one cattrs converter: every (de)serialisation rule lives here, none on the models.

- Timestamps: RFC 3339 with any fractional precision and ``Z`` become timezone-aware datetimes
  (a naive timestamp is taken as UTC).
- Missing and ``null`` fields take the model default (the spec marks no response field required).
- Unknown keys are kept in the model's ``extra`` dict (forward compatibility), or rejected when the
  converter is strict (used by the contract tests so the models track the spec exactly).
- Open enums (GC status, eligibility reasons, regions) are plain strings, so unknown values survive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

__all__ = ["make_converter", "parse_datetime", "structure", "to_dict"]

T = TypeVar("T")


def parse_datetime(value: object, _: object = None) -> datetime:
    """Parse an RFC 3339 timestamp (any fractional precision, ``Z`` or offset) to an aware datetime.

    Raises:
        ValueError: If the value is not a timestamp.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _primitive_hook(kind: type) -> Callable[[Any, Any], Any]:
    def structure_primitive(value: Any, _: Any) -> Any:
        if type(value) is kind or value is None:  # None only reaches here inside containers
            return value
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}: {value!r:.40}")

    return structure_primitive


def _has_extra(cls: type) -> bool:
    return attrs.has(cls) and "extra" in attrs.fields_dict(cls)


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Build a converter for the models.

    Args:
        strict: Reject unknown keys instead of keeping them in ``extra``.
    """
    converter = cattrs.Converter(detailed_validation=False)
    # JSON primitives need a type check, not a conversion: exact-type hooks are several times
    # faster than cattrs' generic Optional dispatch, and they refuse "12" for an int or 1 for a bool.
    for primitive in (int, str, bool):
        hook = _primitive_hook(primitive)
        converter.register_structure_hook(primitive, hook)
        converter.register_structure_hook(primitive | None, hook)
    converter.register_structure_hook(datetime, parse_datetime)
    converter.register_structure_hook(datetime | None, parse_datetime)  # None values never get here

    def str_tuple(value: Any, _: Any) -> tuple[str, ...]:
        # cattrs would iterate a string: "latest" -> ("l", "a", "t", "e", "s", "t").
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list of strings, got {type(value).__name__}")
        return tuple(converter.structure(item, str) for item in value)

    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], str_tuple)
    converter.register_unstructure_hook(datetime, lambda dt: dt.isoformat().replace("+00:00", "Z"))

    def factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        known = frozenset(a.name for a in attrs.fields(cls) if a.name != "extra")
        base = make_dict_structure_fn(cls, converter, extra=override(omit=True))

        def hook(data: Any, _: Any) -> Any:
            if type(data) is not dict and not isinstance(data, Mapping):
                raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
            if None in data.values():
                data = {k: v for k, v in data.items() if v is not None}
            if data.keys() <= known:
                return base(data, cls)
            unknown = {k: v for k, v in data.items() if k not in known}
            if strict:
                raise cattrs.ForbiddenExtraKeysError(
                    f"unknown keys for {cls.__name__}: {sorted(unknown)}", cls, set(unknown)
                )
            return _with_extra(base(data, cls), unknown)

        return hook

    converter.register_structure_hook_factory(_has_extra, factory)
    return converter


def _with_extra(obj: Any, extra: dict[str, Any]) -> Any:
    # The base hook omits ``extra``, so the instance holds a fresh empty dict: fill it in place.
    obj.extra.update(extra)
    return obj


_LENIENT = make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Structure JSON data into a model with the default (lenient) converter."""
    return _LENIENT.structure(data, cls)


def to_dict(model: Any) -> Any:
    """A model (or a list of models) as JSON-ready data, unknown fields (``extra``) merged back in.

    Timestamps become RFC 3339 strings; the result round-trips through :func:`structure`.
    """
    return _merge_extra(_LENIENT.unstructure(model))


def _merge_extra(value: Any) -> Any:
    if isinstance(value, dict):
        extra = value.pop("extra", None) if isinstance(value.get("extra"), dict) else None
        merged = {k: _merge_extra(v) for k, v in value.items()}
        if extra:
            merged.update(extra)
        return merged
    if isinstance(value, list | tuple):
        return [_merge_extra(v) for v in value]
    return value
