"""Screens rendered once per shape: each linkage's own strings are cut out and filled in.

Two customers on screen ① see the same page but for the form's action URL and its CSRF
token. A :class:`PageCache` renders a template once with markers in place of those
strings (its *holes*), keeps the text between them, and answers the next page with the
same everything-else by joining that text with the new strings, escaped as the template
escapes them. Rendering is a tenth of a linkage's instructions; joining is a few per cent
of rendering.

Which strings may be holes is read from the template's syntax tree (its own and the
templates it extends), not trusted to a list alone: a name in :data:`HOLES` is a hole of a
template only where the template does nothing with it but print it, as ``{{ name }}`` or
as the one argument of a function in :data:`PRINTERS`. Anywhere it is tested, sliced,
filtered, assigned or passed on, the whole value becomes part of the key instead. The key
is the value of every other name the template reads; of a dict the template reads only
through ``.get("literal")`` calls, just those entries. A page whose key cannot be hashed,
a hole that is not text, a template that names a template by a variable or calls a
function that reads the context: rendered as before, every time.

The markers carry a random nonce drawn when the process starts, so no text a client
sends can pose as one. What is kept is bounded: MAX_PAGES shapes, MAX_CHARACTERS of text
in all, none longer than MAX_PAGE_CHARACTERS (a screen is 1-8 K characters); past a bound
the oldest goes. Nothing here is state a client could observe: the same
context gives the same bytes, cached or not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

# Context strings that differ per linkage or per customer and are usually only printed.
HOLES = frozenset(
    {"csrf_token", "action", "phone_tail", "account_label", "back_url", "detail", "client_name"}
)
# Screen functions that print their one argument, escaped, and nothing else of it.
PRINTERS = frozenset({"csrf"})
MAX_PAGES = 1024  # shapes kept at most (a shape: a template and everything but its holes)
MAX_CHARACTERS = 2_000_000  # of all the shapes' text (at most 2 bytes each: about 4 MB)
MAX_PAGE_CHARACTERS = 32 * 1024  # a longer page is rendered each time

_ABSENT = object()  # a name the context does not have (the template raises as before)
_DICT = object()  # in a key: the items of a dict follow


@dataclass(frozen=True, slots=True)
class Shape:
    """What of a context one template's output depends on."""

    whole: tuple[str, ...]  # names whose whole value is part of the key
    entries: tuple[tuple[str, tuple[str, ...]], ...]  # dicts read through .get(literal)
    holes: tuple[str, ...]  # names only printed: filled in


@dataclass(frozen=True, slots=True)
class _Page:
    pieces: tuple[str, ...]  # the text around the holes: one more than ``order``
    order: tuple[int, ...]  # which hole (an index into Shape.holes) goes after each piece

    @property
    def size(self) -> int:
        """Characters of text kept."""
        return sum(map(len, self.pieces))


class PageCache:
    """Pages of one Jinja2 environment, by template and shape."""

    def __init__(
        self, environment: jinja2.Environment, template: Callable[[str], jinja2.Template]
    ) -> None:
        self._environment = environment
        self._template = template  # a loaded template by name
        from markupsafe import escape  # (made with the first page, as Jinja2 is)

        self._escape = escape
        self._shapes: dict[str, Shape | None] = {}
        self._pages: dict[tuple[Any, ...], _Page | None] = {}
        self._characters = 0  # of the kept pages' pieces
        nonce = secrets.token_hex(8)
        self._marker = "\x00" + nonce + "{}\x00"
        self._split = re.compile("\x00" + nonce + r"(\d+)\x00")

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Template ``name`` rendered with ``context``: the same text as Jinja2 gives."""
        shape = self._shapes.get(name, _ABSENT)
        if shape is _ABSENT:
            shape = self._shapes[name] = shape_of(self._environment, name)
        if shape is None:
            return self._plain(name, context)
        assert isinstance(shape, Shape)
        filling = []
        for hole in shape.holes:
            value = context.get(hole, _ABSENT)
            if not isinstance(value, str):
                return self._plain(name, context)  # absent, or not text: as before
            filling.append(value)
        key = self._key(name, shape, context)
        try:
            page = self._pages.get(key, _ABSENT)
        except TypeError:  # a value without a hash (a list, a dict read as a whole)
            return self._plain(name, context)
        if page is _ABSENT:
            page = self._learn(name, shape, context, key)
        if page is None:
            return self._plain(name, context)
        assert isinstance(page, _Page)
        pieces, escape = page.pieces, self._escape
        out = [pieces[0]]
        for at, index in enumerate(page.order, 1):
            out.append(escape(filling[index]))
            out.append(pieces[at])
        return "".join(out)

    def __len__(self) -> int:
        return len(self._pages)

    def _plain(self, name: str, context: dict[str, Any]) -> str:
        return self._template(name).render(context)

    @staticmethod
    def _key(name: str, shape: Shape, context: dict[str, Any]) -> tuple[Any, ...]:
        get = context.get
        parts: list[Any] = [name]
        for n in shape.whole:
            value = get(n, _ABSENT)
            # A plain dict (field_errors) counts by its items, in order, marked as a dict's.
            parts.append(value if value.__class__ is not dict else (_DICT, *value.items()))
        for mapping_name, keys in shape.entries:
            mapping = get(mapping_name, _ABSENT)
            if mapping.__class__ is dict:
                parts.extend(mapping.get(k, _ABSENT) for k in keys)
            else:  # not a plain dict: its .get might be anything, so all of it counts
                parts.append(mapping)
        return tuple(parts)

    def _learn(
        self, name: str, shape: Shape, context: dict[str, Any], key: tuple[Any, ...]
    ) -> _Page:
        """Render with markers for the holes and keep the text between them (a page too
        long to keep is remembered as such, and serves this one request)."""
        marked = dict(context)
        for index, hole in enumerate(shape.holes):
            marked[hole] = self._marker.format(index)
        text = self._plain(name, marked)
        parts = self._split.split(text)
        page = _Page(tuple(parts[0::2]), tuple(int(i) for i in parts[1::2]))
        kept = len(text) <= MAX_PAGE_CHARACTERS
        size = page.size if kept else 0
        while self._pages and (
            len(self._pages) >= MAX_PAGES or self._characters + size > MAX_CHARACTERS
        ):
            oldest = self._pages.pop(next(iter(self._pages)))
            self._characters -= oldest.size if oldest is not None else 0
        self._pages[key] = page if kept else None
        self._characters += size
        return page


# The template's syntax tree ------------------------------------------------------------


def shape_of(environment: jinja2.Environment, name: str) -> Shape | None:
    """What template ``name`` (with the templates it extends or includes) reads, or None
    when that cannot be known from its tree."""
    from jinja2 import meta, nodes

    whole: set[str] = set()
    entries: dict[str, set[str]] = {}
    printed: set[str] = set()
    assigned: set[str] = set()
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = environment.loader.get_source(environment, current)[0]  # type: ignore[union-attr]
        tree = environment.parse(source)
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:
                return None  # a template named by a variable: cannot be followed
            todo.append(referenced)
        for node, parent, grandparent in _walk(tree):
            if isinstance(node, (nodes.Call, nodes.Filter, nodes.Test)) and _reads_context(
                environment, node
            ):
                return None
            if not isinstance(node, nodes.Name):
                continue
            if node.ctx != "load":
                assigned.add(node.name)
            elif _printed(node, parent):
                printed.add(node.name)
            elif (literal := _entry_read(node, parent, grandparent)) is not None:
                entries.setdefault(node.name, set()).add(literal)
            else:
                whole.add(node.name)
    # (A name the template also assigns stays in the key: harmless where it is the
    # template's own, and right where another scope reads it from the context.)
    holes = {n for n in printed if n in HOLES and n not in whole | assigned | set(entries)}
    whole |= printed - holes
    whole |= {n for n in entries if n in assigned}
    dicts = {n: keys for n, keys in entries.items() if n not in whole}
    return Shape(
        whole=tuple(sorted(whole)),
        entries=tuple((n, tuple(sorted(keys))) for n, keys in sorted(dicts.items())),
        holes=tuple(sorted(holes)),
    )


def _walk(
    node: nodes.Node, parent: nodes.Node | None = None, grandparent: nodes.Node | None = None
) -> Iterator[tuple[nodes.Node, nodes.Node | None, nodes.Node | None]]:
    yield node, parent, grandparent
    for child in node.iter_child_nodes():
        yield from _walk(child, node, parent)


def _printed(node: nodes.Name, parent: nodes.Node | None) -> bool:
    """``{{ name }}``, or ``{{ printer(name) }}`` for a function of PRINTERS."""
    from jinja2 import nodes

    if isinstance(parent, nodes.Output):
        return True
    return (
        isinstance(parent, nodes.Call)
        and isinstance(parent.node, nodes.Name)
        and parent.node.name in PRINTERS
        and parent.args == [node]
        and not parent.kwargs
        and parent.dyn_args is None
        and parent.dyn_kwargs is None
    )


def _entry_read(
    node: nodes.Name, parent: nodes.Node | None, grandparent: nodes.Node | None
) -> str | None:
    """The literal of ``name.get("literal")`` or ``name.get("literal", default)``."""
    from jinja2 import nodes

    if not (isinstance(parent, nodes.Getattr) and parent.attr == "get" and parent.node is node):
        return None
    if not (isinstance(grandparent, nodes.Call) and grandparent.node is parent):
        return None
    args = grandparent.args
    if grandparent.kwargs or grandparent.dyn_args or grandparent.dyn_kwargs or not args:
        return None
    first = args[0]
    if len(args) > 2 or not (isinstance(first, nodes.Const) and isinstance(first.value, str)):
        return None
    return first.value


def _reads_context(environment: jinja2.Environment, node: nodes.Node) -> bool:
    """A call of a global, filter or test that is handed the context (it could read any
    name, so no key would be complete)."""
    from jinja2 import nodes

    found: Any = None
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        found = environment.globals.get(node.node.name)
    elif isinstance(node, nodes.Filter):
        found = environment.filters.get(node.name)
    elif isinstance(node, nodes.Test):
        found = environment.tests.get(node.name)
    from jinja2.utils import _PassArg

    return _PassArg.from_obj(found) is _PassArg.context if found is not None else False
