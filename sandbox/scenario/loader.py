"""YAML -> Scenario; every problem carries file:line:column and a dotted field path."""

from __future__ import annotations

import difflib
import functools
import json
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sandbox.scenario.consistency import consistency_problems
from sandbox.scenario.model import Loc, Scenario, json_schema

_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
PACKAGE_SCENARIOS = "scenarios"
DEFAULT_NAME = "default.yaml"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# libyaml's parser when PyYAML has it: the pure-Python one takes ~30 ms on the default file.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that leaves dates as strings (pydantic parses them, with a line number).

    Booleans follow YAML 1.2 (only true/false), so a rule's ``on:`` key stays a string.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level registry
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


Mark = tuple[int, int]  # 1-based line and column


@dataclass(slots=True)
class _Positions:
    """Where each value (and each mapping key) of a document starts."""

    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)
    raw: dict[Loc, str] = field(default_factory=dict)
    duplicates: list[tuple[Loc, Mark]] = field(default_factory=list)


def _mark(node: yaml.Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(loader: _Loader, node: yaml.Node, loc: Loc, out: _Positions, seen: set[int]) -> None:
    """Record the position of ``node`` and everything below it."""
    out.values.setdefault(loc, _mark(node))
    if id(node) in seen:  # an alias to a node already walked (anchors may recurse)
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        out.raw[loc] = node.value
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(loader, item, (*loc, index), out, seen)
    elif isinstance(node, yaml.MappingNode):
        _walk_mapping(loader, node, loc, out, seen)


def _walk_mapping(
    loader: _Loader, node: yaml.MappingNode, loc: Loc, out: _Positions, seen: set[int]
) -> None:
    own: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, typing.Hashable):
            if key in own:
                out.duplicates.append(((*loc, str(key)), _mark(key_node)))
            own.add(key)
    loader.flatten_mapping(node)  # resolve `<<` merges the way the constructor will
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        child: Loc = (*loc, key if isinstance(key, str | int) else str(key))
        out.keys[child] = _mark(key_node)
        _walk(loader, value_node, child, out, seen)


def _parse(text: str, source: str) -> tuple[Any, _Positions]:
    """YAML text -> plain data and positions; raises ScenarioError on syntax errors."""
    loader = _Loader(text)
    loader.name = source
    try:
        node = loader.get_single_node()
        positions = _Positions()
        if node is None:
            return {}, positions
        _walk(loader, node, (), positions, set())
        return loader.construct_document(node), positions
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, source)]) from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    parts = [exc.context or "", exc.problem or ""]
    message = "YAML syntax error: " + "; ".join(p for p in parts if p)
    return Problem(source, line, column, "", message)


def load_scenario_text(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML; raise ScenarioError listing every problem."""
    data, positions = _parse(text, source)
    problems = [
        Problem(
            source, *mark, _dotted(loc), f"duplicate key {loc[-1]!r} (YAML keeps only the last)"
        )
        for loc, mark in positions.duplicates
    ]
    if not isinstance(data, dict):
        line, column = positions.values.get((), (1, 1))
        problems.append(Problem(source, line, column, "", "a scenario must be a YAML mapping"))
        raise ScenarioError(problems)
    if not data:
        problems.append(
            Problem(
                source,
                1,
                1,
                "",
                "the scenario is empty: give at least bank, clients and "
                "customers (or generate); see scenarios/default.yaml",
            )
        )
        raise ScenarioError(problems)
    for loc, message in consistency_problems(data):
        line, column = _position(loc, positions, key=False)
        problems.append(Problem(source, line, column, _dotted(loc), message))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc.errors(), data, positions, source)
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), 1, 1, "", f"cannot read file: {exc}")]) from None
    return load_scenario_text(text, source=str(path))


@functools.cache
def default_scenario() -> Scenario:
    """The scenario embedded in the package (sandbox/scenarios/default.yaml)."""
    return load_scenario_text(
        _package_dir().joinpath(DEFAULT_NAME).read_text(encoding="utf-8"),
        source=f"sandbox/{PACKAGE_SCENARIOS}/{DEFAULT_NAME}",
    )


def _package_dir() -> resources.abc.Traversable:
    """sandbox/scenarios when installed from a wheel, else the checkout's scenarios/ folder.

    The folder exists once, at the project root; pyproject installs it as sandbox/scenarios
    (a package-dir mapping). Editable installs and source checkouts import sandbox from the
    checkout, where no sandbox/scenarios exists, so the root folder is used there.
    """
    packaged = resources.files("sandbox").joinpath(PACKAGE_SCENARIOS)
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / PACKAGE_SCENARIOS


def bundled_scenarios() -> list[tuple[str, str]]:
    """Name and one-line description of every scenario shipped in the package."""
    out = []
    for entry in sorted(_package_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.append((entry.name.removesuffix(".yaml"), _description(entry.read_text("utf-8"))))
    return out


def bundled_scenario_text(name: str) -> str:
    """The YAML text of the bundled scenario ``name`` (without .yaml)."""
    entry = _package_dir().joinpath(f"{name}.yaml")
    if not entry.is_file():
        raise FileNotFoundError(name)
    return entry.read_text(encoding="utf-8")


def _description(text: str) -> str:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return "(invalid YAML)"
    description = data.get("description", "") if isinstance(data, dict) else ""
    return str(description).strip().splitlines()[0] if description else ""


# ---- pydantic errors -> problems ------------------------------------------------------------


def _pydantic_problems(
    errors: Iterable[ErrorDetails], data: Any, positions: _Positions, source: str
) -> list[Problem]:
    """One problem per field path (union branches that failed are merged into one message)."""
    merged: dict[Loc, tuple[Mark, list[str], str]] = {}
    for error in errors:
        loc = _data_loc(error["loc"], data, missing=error["type"] == "missing")
        mark = _position(loc, positions, key=error["type"] == "extra_forbidden")
        text, got = _message(error, loc, positions)
        entry = merged.setdefault(loc, (mark, [], got))
        if text not in entry[1]:
            entry[1].append(text)
    return [
        Problem(source, *mark, _dotted(loc), _join(texts) + got)
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


def _position(loc: Loc, positions: _Positions, *, key: bool) -> Mark:
    """The mark of ``loc`` (of its key if asked), else of its nearest recorded parent."""
    if key and loc in positions.keys:
        return positions.keys[loc]
    for end in range(len(loc), -1, -1):
        if loc[:end] in positions.values:
            return positions.values[loc[:end]]
    return 1, 1


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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


def _message(error: ErrorDetails, loc: Loc, positions: _Positions) -> tuple[str, str]:
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


def schema_text() -> str:
    """scenarios/schema.json as committed: the model's JSON Schema, 2-space indented."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
