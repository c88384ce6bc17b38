"""pydantic validation errors -> problems: each at its line and column, in plain words."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from sandbox.scenario.model import Loc, Scenario
from sandbox.scenario.problems import Problem, dotted
from sandbox.scenario.yaml_source import Mark, Positions


def pydantic_problems(
    errors: Iterable[ErrorDetails], data: Any, positions: Positions, source: str
) -> list[Problem]:
    """One problem per field path (union branches that failed are merged into one message)."""
    merged: dict[Loc, tuple[Mark, list[str], str]] = {}
    for error in errors:
        loc = _data_loc(error["loc"], data, missing=error["type"] == "missing")
        mark = positions.mark_of(loc, key=error["type"] == "extra_forbidden")
        text, got = _message(error, loc, positions)
        entry = merged.setdefault(loc, (mark, [], got))
        if text not in entry[1]:
            entry[1].append(text)
    return [
        Problem(source, *mark, dotted(loc), _join(texts) + got)
        for loc, (mark, texts, got) in merged.items()
    ]


def _join(texts: list[str]) -> str:
    """``expected a`` + ``expected b`` -> ``expected a or b``."""
    rest = [t.removeprefix("expected ") if texts[0].startswith("expected ") else t for t in texts]
    return " or ".join([texts[0], *rest[1:]])


def _data_loc(loc: tuple[int | str, ...], data: Any, *, missing: bool) -> Loc:
    """The part of a pydantic ``loc`` that names data in the file (drops union branch tags)."""
    out: list[int | str] = []
    current = data
    for part in loc:
        if _has_child(current, part):
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and missing:
            out.append(part)
            break
        else:
            break
        out.append(part)
    return tuple(out)


def _has_child(data: Any, part: int | str) -> bool:
    if isinstance(data, dict):
        return part in data
    return isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)


_DATE_TYPES = {"date_parsing", "date_from_datetime_parsing", "date_type", "date_future"}
_DATETIME_TYPES = {"datetime_parsing", "datetime_from_date_parsing", "datetime_type"}
_EXPECTED = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (- item lines)",
    "string_type": "expected a string",
}


def _message(error: ErrorDetails, loc: Loc, positions: Positions) -> tuple[str, str]:
    """A human message saying what was expected, and a ``, got ...`` suffix (may be empty)."""
    kind, value = error["type"], error.get("input")
    name = str(loc[-1]) if loc and isinstance(loc[-1], str) else "value"
    raw = positions.raw.get(loc)
    got = f", got {_shown(raw, value)}"
    if kind == "string_type" and isinstance(value, int | float | bool) and raw is not None:
        return f'must be a quoted string, e.g. {name}: "{raw}"', ""
    if kind == "extra_forbidden":
        return _unknown_field(name, loc[:-1]), ""
    if kind == "missing":
        return f"missing required field '{name}'", ""
    if kind in _DATE_TYPES:
        return f"expected a date YYYY-MM-DD{got} ({_reason(error)})", ""
    if kind in _DATETIME_TYPES:
        example = "2025-01-06T09:00:00+09:00"
        return f"expected a date-time like {example}{got} ({_reason(error)})", ""
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(error.get("ctx", {}).get("pattern", ""))), got
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), ""
    if kind == "assertion_error":
        return str(error["msg"]).removeprefix("Assertion failed, "), ""
    return _EXPECTED.get(kind) or _lower_first(error["msg"]), got


def _reason(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    return str(ctx.get("error", error["msg"]))


def _shown(raw: str | None, value: Any) -> str:
    if raw is not None:
        return repr(raw)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _lower_first(text: str) -> str:
    text = text.replace("Input should be", "expected")
    return text[:1].lower() + text[1:]


def _pattern_message(pattern: str) -> str:
    digits = {r"^\d{3}$": 3, r"^\d{4}$": 4, r"^\d{7}$": 7}
    if pattern in digits:
        return f"expected exactly {digits[pattern]} digits"
    if pattern == r"^\d{1,10}$":
        return "expected 1 to 10 digits"
    if pattern == r"^\d{3}-\d{7}$":
        return "expected branch-number like '001-1234567'"
    if r"\uff66" in pattern:
        return "expected half-width katakana like 'ﾃﾞｰﾀ ﾀﾛｳ'"
    if "@" in pattern:
        return "expected an ASCII e-mail address like 'taro@example.jp'"
    return f"expected text matching {pattern}"


def _unknown_field(name: str, parent: Loc) -> str:
    allowed = sorted(_model_at(parent).model_fields)
    hint = difflib.get_close_matches(name, allowed, n=1)
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"unknown field '{name}'{suggestion}; allowed: {', '.join(allowed)}"


def _model_at(loc: Loc) -> type[BaseModel]:
    """The pydantic model class that validates the mapping at ``loc``."""
    current: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            current = _item_type(current)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            current = _model_of(current.model_fields[part].annotation)
    model = _model_of(current)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else Scenario


def _model_of(annotation: Any) -> Any:
    """Unwrap Optional/Union/Annotated down to a BaseModel (or list) type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not type(None):
                return found
    return annotation


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(_model_of(annotation))
    return _model_of(args[0]) if args else annotation
