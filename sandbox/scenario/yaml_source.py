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


# A scenario is a few thousand values; an "alias bomb" (anchors of anchors) expands a few
# kilobytes into billions. The document is measured as it would expand, before it does.
MAX_NODES = 100_000
MAX_ALIASES = 1_000


def parse(text: str, source: str, max_nodes: int = MAX_NODES) -> tuple[Any, Positions]:
    """YAML text -> plain data and positions; raises ScenarioError on any bad input.

    ``max_nodes`` bounds the values of the document as it would expand (aliases included).
    """
    loader = YamlLoader(text)
    loader.name = source
    try:
        node = loader.get_single_node()
        positions = Positions()
        if node is None:
            return {}, positions
        _check_size(node, source, max_nodes)
        _walk(loader, node, (), positions, set())
        return loader.construct_document(node), positions
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, source)]) from None
    except yaml.reader.ReaderError as exc:  # a control character, an unreadable byte
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        message = f"YAML cannot contain the character U+{code:04X} (a control character)"
        raise ScenarioError([Problem(source, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(source, 1, 1, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError(
            [Problem(source, 1, 1, "", "the document is nested too deeply")]
        ) from None
    finally:
        loader.dispose()


def _line_column(text: str, position: int) -> Mark:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _check_size(root: yaml.Node, source: str, limit: int) -> None:
    """ScenarioError if the document, aliases expanded, holds more than ``limit`` values."""
    sizes: dict[int, int] = {}
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > limit:
                break
            continue
        if key in sizes:
            continue
        if key in on_path:
            line, column = _mark(node)
            raise ScenarioError(
                [Problem(source, line, column, "", "a YAML anchor refers to itself")]
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in sizes or id(child) in on_path:
                aliases += 1
            stack.append((child, False))
    total = sizes.get(id(root), limit + 1)
    if total > limit or aliases > MAX_ALIASES:
        raise ScenarioError(
            [
                Problem(
                    source,
                    1,
                    1,
                    "",
                    f"the document expands to more than {limit:,} values or uses more "
                    f"than {MAX_ALIASES:,} aliases (YAML anchors and aliases are for small "
                    "repeats, not for multiplying data)",
                )
            ]
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


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
