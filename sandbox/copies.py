"""``replace``: :func:`dataclasses.replace` for the records a request copies, without the
cost of going through ``__init__``.

``dataclasses.replace`` walks the class's fields in Python, builds a keyword dict and calls
``__init__``, which for a frozen class sets each field with ``object.__setattr__``: 4.3 µs
for a linkage (18 fields), copied nine to thirteen times per linkage. For a class whose
``__init__`` does nothing but set its fields, the copy it makes is the old object's fields
with the changes put in; this module writes, once per class, a function that does exactly
that (1.3 µs). Any other class (its own ``__init__``, a ``__post_init__``, an ``InitVar``,
a field outside ``__init__``, a ``ClassVar``, its own ``__new__`` or metaclass call, a
field that is a data descriptor) goes to ``dataclasses.replace`` itself, as does a change
naming no field, so every error is the one it raises. Whether a class is copied directly is
decided when it is first copied (a class patched after that keeps its copier).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Copier = Callable[[Any, dict[str, Any]], Any]
# Per class: its field names and copier, or None (dataclasses.replace copies it).
_COPIERS: dict[type, tuple[frozenset[str], _Copier] | None] = {}


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of dataclass instance ``obj`` with ``changes``, as ``dataclasses.replace``."""
    cls = type(obj)
    try:
        known = _COPIERS[cls]
    except KeyError:
        known = _COPIERS[cls] = _copier(cls)
    if known is None or not changes.keys() <= known[0]:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    return known[1](obj, changes)  # type: ignore[no-any-return]


def _copier(cls: type) -> tuple[frozenset[str], _Copier] | None:
    """The copier of ``cls``, or None when ``__init__`` may do more than set the fields."""
    if not dataclasses.is_dataclass(cls) or "__post_init__" in dir(cls):
        return None
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls)
    # Pseudo-fields (ClassVar, InitVar) are in __dataclass_fields__ but not in fields().
    if params is None or not params.init or len(fields) != len(cls.__dataclass_fields__):
        return None
    if any(not f.init for f in fields) or cls.__init__ is not _dataclass_init(cls):
        return None
    if not params.frozen and cls.__setattr__ is not object.__setattr__:
        return None  # __init__ would set each field through the class's own __setattr__
    if cls.__new__ is not object.__new__ or type(cls).__call__ is not type.__call__:
        return None  # making an instance runs more than __init__
    names = [f.name for f in fields]
    if any(_descriptor(cls, name) for name in names):
        return None  # a field set through a descriptor's __set__ (once by __init__)
    lines = [
        "def copy(old, changes):",
        "    new = _new(_cls)",
        *(f"    _set(new, {name!r}, old.{name})" for name in names),
        "    for name, value in changes.items():",
        "        _set(new, name, value)",
        "    return new",
    ]
    scope: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    exec("\n".join(lines), scope)  # names are identifiers: a dataclass field is one
    return frozenset(names), scope["copy"]


def _descriptor(cls: type, name: str) -> bool:
    """Whether setting field ``name`` goes through a data descriptor of the class's own (a
    slot's member descriptor only stores the value)."""
    found = inspect.getattr_static(cls, name, None)
    if isinstance(found, types.MemberDescriptorType):
        return False
    kind = type(found)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def _dataclass_init(cls: type) -> object:
    """The ``__init__`` the dataclass decorator wrote for ``cls`` (None if it wrote none):
    its code is named ``__init__`` and was made from text, as the decorator's is."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None or code.co_filename != "<string>" or code.co_name != "__init__":
        return None
    return init
