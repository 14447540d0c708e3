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

from ._builders import stores_only

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
    converter.register_structure_hook(datetime, parse_datetime)

    def str_tuple(value: Any, _: Any) -> tuple[str, ...]:
        # cattrs would iterate a string: "latest" -> ("l", "a", "t", "e", "s", "t").
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list of strings, got {type(value).__name__}")
        return tuple(converter.structure(item, str) for item in value)

    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], str_tuple)
    converter.register_unstructure_hook(datetime, lambda dt: dt.isoformat().replace("+00:00", "Z"))

    def factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        return _model_hook(cls, converter, strict=strict)

    converter.register_structure_hook_factory(_has_extra, factory)
    converter.register_structure_hook_factory(_is_model_tuple, lambda t: _tuple_hook(t, converter))
    return converter


def _is_model_tuple(t: Any) -> bool:
    """``tuple[Model, ...]`` of a model with ``extra`` (what a listing structures)."""
    args: tuple[Any, ...] = getattr(t, "__args__", ())
    if getattr(t, "__origin__", None) is not tuple or len(args) != 2:
        return False
    return args[1] is ... and _has_extra(args[0])


def _tuple_hook(t: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A listing's items: the model hook's own loop (``many``), else one comprehension over the hook."""
    item = t.__args__[0]
    hook = converter.get_structure_hook(item)
    many: Callable[[Any], tuple[Any, ...]] | None = getattr(hook, "many", None)

    def structure_items(value: Any, _: Any) -> tuple[Any, ...]:
        if type(value) is not list and not isinstance(value, list | tuple):
            raise TypeError(f"expected a list of {item.__name__}, got {type(value).__name__}")
        if many is not None:
            return many(value)
        return tuple([hook(v, item) for v in value])

    return structure_items


_INLINE_TYPES: dict[Any, type] = {t: t for t in (int, str, bool, datetime)}
_INLINE_TYPES.update({t | None: t for t in (int, str, bool, datetime)})


def _wrong_type(cls_name: str, field: str, value: Any, expected: type) -> TypeError:
    return TypeError(f"{cls_name}.{field}: expected {expected.__name__}, got {type(value).__name__}")


def _plain_slots(cls: type[Any]) -> bool:
    """Whether ``cls`` only stores its arguments (:func:`._builders.stores_only`), ``extra`` a fresh dict."""
    extra = attrs.fields_dict(cls).get("extra")
    return stores_only(cls) and extra is not None and getattr(extra.default, "factory", None) is dict


def _model_hook(cls: type[Any], converter: cattrs.Converter, *, strict: bool) -> Callable[[Any, Any], Any]:
    """Generate the structuring function of one model (a cattrs hook factory's product).

    One straight-line function per class: primitives and timestamps are type-checked inline (no
    call per field), nested models, tuples and dicts go through the converter's own hooks.
    Missing and ``null`` fields keep the model default; unknown keys go to ``extra`` (or are
    refused when ``strict``). It is about twice as fast as cattrs' generic generated code.
    """
    attrs.resolve_types(cls)  # the models use postponed annotations: make field.type real types
    fields = [a for a in attrs.fields(cls) if a.name != "extra"]
    known = frozenset(a.name for a in fields)
    namespace: dict[str, Any] = {
        "cls": cls,
        "Mapping": Mapping,
        "known": known,
        "wrong": _wrong_type,
        "parse_datetime": parse_datetime,
        "fromiso": datetime.fromisoformat,
        "UTC": UTC,
        "forbid": cattrs.ForbiddenExtraKeysError,
    }
    args = [f"{field.name}=a{index}" for index, field in enumerate(fields)]

    def field_code(read: str, indent: str) -> list[str]:
        """Check and convert every field; ``read`` formats the expression fetching one by name."""
        code: list[str] = []
        for index, field in enumerate(fields):
            name, arg = field.name, f"a{index}"
            source = read.format(name=repr(name), index=index)
            v = source if source.isidentifier() else "v"  # a value already in a local is used as is
            if v != source:
                code.append(f"v = {source}")
            # The expected type is tested first (the common case); missing and null both mean
            # the model default.
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                namespace[f"f{index}"] = default.factory
                if_none = [f"if {v} is None:", f"    {arg} = f{index}()"]
            elif default is attrs.NOTHING:
                message = f"{cls.__name__}.{name} is required"
                if_none = [f"if {v} is None:", f"    raise TypeError({message!r})"]
            else:
                namespace[f"d{index}"] = default
                if_none = [f"if {v} is None:", f"    {arg} = d{index}"]
            inline = _INLINE_TYPES.get(field.type)
            if inline is datetime:
                code += [
                    f"if type({v}) is str:",
                    f"    {arg} = fromiso({v})",
                    f"    if {arg}.tzinfo is None:",
                    f"        {arg} = {arg}.replace(tzinfo=UTC)",
                    "el" + if_none[0],
                    if_none[1],
                    "else:",
                    f"    {arg} = parse_datetime({v})",
                ]
            elif inline is not None:
                namespace[f"t{index}"] = inline
                code += [
                    f"if type({v}) is t{index}:",
                    f"    {arg} = {v}",
                    "el" + if_none[0],
                    if_none[1],
                    "else:",
                    f"    raise wrong({cls.__name__!r}, {name!r}, {v}, t{index})",
                ]
            else:
                namespace[f"h{index}"] = converter.get_structure_hook(field.type)
                namespace[f"ft{index}"] = field.type
                code += [*if_none, "else:", f"    {arg} = h{index}({v}, ft{index})"]
        return [indent + line for line in code]

    if _plain_slots(cls):
        # What the frozen __init__ would do, without its per-field object.__setattr__ calls (half
        # the cost of a Tag): the class has no validators, converters or post-init to skip.
        namespace["new"] = object.__new__
        for index, field in enumerate(fields):
            namespace[f"s{index}"] = cls.__dict__[field.name].__set__
        namespace["sx"] = cls.__dict__["extra"].__set__
        construct = ["obj = new(cls)", *(f"s{i}(obj, a{i})" for i in range(len(fields))), "sx(obj, {})"]
    else:
        construct = [f"obj = cls({', '.join(args)})"]
    # A plain dict of as many keys as the model has fields, all of them known, is what the API
    # sends: its values are read by subscript first (a missing key raises KeyError before any
    # check ran) and it has no unknown keys to collect. Anything else (missing or unknown keys,
    # another Mapping) goes through ``o.get`` and the unknown-key check. The checks are the same.
    reads = [f"v{index} = o[{field.name!r}]" for index, field in enumerate(fields)] or ["pass"]
    exact_code = field_code("v{index}", "")
    lines = [
        "def structure(o, _):",
        f"    if type(o) is dict and len(o) == {len(fields)}:",
        "        try:",
        *("            " + line for line in reads),
        "        except KeyError:",
        "            pass",
        "        else:",
        *("            " + line for line in exact_code + construct),
        "            return obj",
        "    if type(o) is not dict and not isinstance(o, Mapping):",
        f"        raise TypeError('expected an object for {cls.__name__}, got ' + type(o).__name__)",
        "    get = o.get",
        *field_code("get({name})", "    "),
        *("    " + line for line in construct),
        "    if not known.issuperset(o):",
        "        unknown = {k: v for k, v in o.items() if k not in known and v is not None}",
    ]
    if strict:
        message = f"unknown keys for {cls.__name__}: "
        lines += [
            "        if unknown:",
            f"            raise forbid({message!r} + str(sorted(unknown)), cls, set(unknown))",
        ]
    else:
        lines.append("        obj.extra.update(unknown)  # the instance's own fresh dict")
    lines.append("    return obj")
    # A listing's items: the exact-keys code inlined in one loop (no call per item); any other
    # item goes through `structure` above.
    lines += [
        "def structure_many(items):",
        "    out = []",
        "    append = out.append",
        "    for o in items:",
        f"        if type(o) is not dict or len(o) != {len(fields)}:",
        "            append(structure(o, cls))",
        "            continue",
        "        try:",
        *("            " + line for line in reads),
        "        except KeyError:",
        "            append(structure(o, cls))",
        "            continue",
        *("        " + line for line in exact_code + construct),
        "        append(obj)",
        "    return tuple(out)",
        "structure.many = structure_many",
    ]
    exec(compile("\n".join(lines), f"<docr_async structure {cls.__name__}>", "exec"), namespace)  # noqa: S102
    hook: Callable[[Any, Any], Any] = namespace["structure"]
    return hook


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
