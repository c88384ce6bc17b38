"""Domain records to JSON and back, driven by their dataclass type hints (for SQL stores)."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import orjson

from sandbox.clock import to_jst

T = TypeVar("T")


def encode(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses as objects, times as ISO 8601 strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    return orjson.dumps(encode(value)).decode()


def loads(kind: type[T], text: str | bytes) -> T:
    value: T = decode(kind, orjson.loads(text))
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` that ``encode`` turned into ``data``."""
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if data is None:
            return None
        return decode(args[0], data) if len(args) == 1 else data
    if origin is typing.Literal:
        return data
    if origin is tuple:
        items = typing.get_args(kind)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(decode(items[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(items, data, strict=True))
    if origin is list:
        return [decode(typing.get_args(kind)[0], v) for v in data]
    if origin in (dict, Mapping):
        value_type = typing.get_args(kind)[1]
        return {k: decode(value_type, v) for k, v in data.items()}
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            hints = _hints(kind)
            return kind(**{name: decode(hints[name], v) for name, v in data.items()})
        if issubclass(kind, datetime):
            return to_jst(datetime.fromisoformat(data))
        if issubclass(kind, date):
            return date.fromisoformat(data)
        if issubclass(kind, Enum):
            return kind(data)
    return data
