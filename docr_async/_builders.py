"""Cheap constructors for the small frozen attrs classes built on every request.

A frozen attrs ``__init__`` stores each field with ``object.__setattr__`` (it must get past the
class's own ``__setattr__``, which refuses). For a slotted class whose ``__init__`` does nothing
else (no validators, converters, ``__attrs_pre_init__`` or ``__attrs_post_init__``) the same
object is made by ``object.__new__`` and one slot store per field, at about half the cost. The
transport builds an ``APIResponse`` and a ``RateLimitInfo`` per response and the pager a ``Page``
per page, so :func:`frozen_builder` gives them such a constructor. A class that does more in its
``__init__`` gets its own ``__init__`` back: nothing is ever skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["frozen_builder", "stores_only"]

T = TypeVar("T")

_INIT_HOOKS = ("__attrs_pre_init__", "__attrs_post_init__", "__attrs_init__")
"""A class with any of these does more in ``__init__`` than store its fields (or has its own)."""


def stores_only(cls: type[Any]) -> bool:
    """Whether ``cls`` is a slotted attrs class whose ``__init__`` only stores its arguments.

    Every field must be an ``__init__`` argument with no validator or converter, stored in a slot
    of ``cls`` itself (so no inherited attrs fields), and the class must have no pre- or post-init
    and its ``__init__`` must be attrs' own (``init=False`` gives ``__attrs_init__``).
    """
    if not attrs.has(cls):
        return False
    fields = attrs.fields(cls)
    own = cls.__dict__.get("__slots__", ())
    return (
        all(a.name in own and a.init and a.validator is None and a.converter is None for a in fields)
        and not any(attrs.has(base) for base in cls.__mro__[1:])
        and not any(hasattr(cls, hook) for hook in _INIT_HOOKS)
    )


def frozen_builder(cls: type[T]) -> Callable[..., T]:
    """A keyword-only constructor of ``cls`` taking every field (defaults are not filled in).

    For a class :func:`stores_only` accepts, the result makes the same object as ``cls(**fields)``
    without the per-field ``object.__setattr__``; for any other class it is ``cls`` itself.
    """
    if not stores_only(cls):
        return cls
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", cls))
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__}
    for index, field in enumerate(fields):
        namespace[f"s{index}"] = cls.__dict__[field.name].__set__
    lines = [
        f"def build(*, {', '.join(field.alias for field in fields)}):",
        "    obj = new(cls)",
        *(f"    s{index}(obj, {field.alias})" for index, field in enumerate(fields)),
        "    return obj",
    ]
    exec(compile("\n".join(lines), f"<docr_async build {cls.__name__}>", "exec"), namespace)  # noqa: S102
    build: Callable[..., T] = namespace["build"]
    return build
