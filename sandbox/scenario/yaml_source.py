"""Scenario YAML -> plain data, with the position of every value and every duplicate key."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from sandbox.scenario.model import Loc
from sandbox.scenario.problems import Problem, ScenarioError

_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}

# libyaml's parser when PyYAML has it: the pure-Python one takes ~30 ms on the default file.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLoader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that leaves dates as strings (pydantic parses them, with a line number).

    Booleans follow YAML 1.2 (only true/false), so a rule's ``on:`` key stays a string.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level registry
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


Mark = tuple[int, int]  # 1-based line and column


@dataclass(slots=True)
class Positions:
    """Where each value (and each mapping key) of a document starts."""

    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)
    raw: dict[Loc, str] = field(default_factory=dict)
    duplicates: list[tuple[Loc, Mark]] = field(default_factory=list)

    def mark_of(self, loc: Loc, *, key: bool) -> Mark:
        """The mark of ``loc`` (of its key if asked), else of its nearest recorded parent."""
        if key and loc in self.keys:
            return self.keys[loc]
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return 1, 1


def parse(text: str, source: str) -> tuple[Any, Positions]:
    """YAML text -> plain data and positions; raises ScenarioError on syntax errors."""
    loader = YamlLoader(text)
    loader.name = source
    try:
        node = loader.get_single_node()
        positions = Positions()
        if node is None:
            return {}, positions
        _walk(loader, node, (), positions, set())
        return loader.construct_document(node), positions
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, source)]) from None
    finally:
        loader.dispose()


def _mark(node: yaml.Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(loader: YamlLoader, node: yaml.Node, loc: Loc, out: Positions, seen: set[int]) -> None:
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
    loader: YamlLoader, node: yaml.MappingNode, loc: Loc, out: Positions, seen: set[int]
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


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    parts = [exc.context or "", exc.problem or ""]
    message = "YAML syntax error: " + "; ".join(p for p in parts if p)
    return Problem(source, line, column, "", message)
