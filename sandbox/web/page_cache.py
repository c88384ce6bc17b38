"""Screens rendered once per shape: each linkage's own strings are cut out and filled in.

Two customers on screen ① see the same page but for the form's action URL and its CSRF
token. A :class:`PageCache` renders a template once with markers in place of those
strings (its *holes*), keeps the text between them, and answers the next page with the
same everything-else by joining that text with the new strings, escaped with markupsafe as
Jinja2's autoescaping escapes a printed value. Rendering was a tenth of a linkage's
instructions; joining is a few per cent of rendering. The text is kept as UTF-8, the bytes
the response sends, so a page is never encoded again: encoding a screen (Japanese text,
two bytes a character in Python) was another 2% of a linkage.

Which strings may be holes is read from the template's syntax tree (its own and the
templates it extends or includes), not trusted to a list alone: a name in :data:`HOLES` is
a hole of a template only where the template does nothing with it but print it, as
``{{ name }}`` or as the one argument of a function in :data:`PRINTERS`. Anywhere it is
tested, sliced, filtered, assigned or passed on, the whole value becomes part of the key
instead. The key is the value of every other name the template reads, with its type; of a
dict the template reads only through ``.get("literal")`` calls, just those entries. The
check covers the constructs the screens use; a template with anything that could take a
printed value apart (a filter, set, macro or call block, an autoescape block, ``self``,
``super``, ``caller``, a call of a function the environment does not define, or one handed
the context), an environment with ``finalize`` or autoescaping by file name, a template
named by a variable: not cached. So is a page whose key holds a value of another type than
text, numbers, booleans, None, and tuples and dicts of them, or whose hole is not text.

And each shape is checked once more when it is learnt: the pieces filled with the page's
own strings must give the bytes Jinja2 gave that page, or the shape is kept as one never to
cache. A shape is learnt the second time it is seen, so a page shown once (a form re-shown
with one customer's typed errors) costs a key and Jinja2's render, as before, and never
pushes out a page that comes back.

The markers carry a random nonce drawn when the process starts, so no text a client sends
can pose as one (and one that did would fail the check above). What is kept is bounded:
MAX_PAGES shapes, MAX_BYTES of their text in all, none longer than MAX_PAGE_BYTES (a
screen is 2-20 KB), the oldest going first; the keys,
which hold what a customer typed (256 characters a field at most), come on top, bounded by
the number of shapes. Nothing here is state a client could observe: the same context gives
the same bytes, cached or not.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.web.render import Choices

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
MAX_BYTES = 4_000_000  # of all the kept shapes' UTF-8 text
MAX_PAGE_BYTES = 64 * 1024  # a longer page is rendered each time
MAX_SEEN = 4096  # keys seen once, remembered by their hash until the shape comes back

_ABSENT = object()  # a name the context does not have (the template raises as before)
_DICT = object()  # in a key: the items of a dict follow
_ENTRIES = object()  # in a key: the entries of a dict read through .get follow
_LEAVES = frozenset({int, float, bool})  # (text and None stand for themselves)


def _typed(value: Any) -> Any:
    """``value`` as a key part that equals another only for the same text: ``True``, ``1``
    and ``1.0`` print differently, so do ``Markup`` and ``str``. TypeError for a value
    whose type is not plain data (an object could change after its page was learnt)."""
    kind = value.__class__
    if kind is str or value is None or value is _ABSENT:
        return value
    if kind in _LEAVES:
        return kind, value
    if kind is tuple:
        return tuple, *map(_typed, value)
    if kind is Choices:  # text only, by construction
        return value
    if kind is dict:
        return _DICT, *((_typed(k), _typed(v)) for k, v in value.items())
    raise TypeError(f"{kind.__name__} is not kept in a page's key")


@dataclass(frozen=True, slots=True)
class Shape:
    """What of a context one template's output depends on."""

    whole: tuple[str, ...]  # names whose whole value is part of the key
    entries: tuple[tuple[str, tuple[str, ...]], ...]  # dicts read through .get(literal)
    holes: tuple[str, ...]  # names only printed: filled in


@dataclass(frozen=True, slots=True)
class _Page:
    pieces: tuple[bytes, ...]  # the UTF-8 text around the holes: one more than ``order``
    order: tuple[int, ...]  # which hole (an index into Shape.holes) goes after each piece

    @property
    def size(self) -> int:
        """Bytes of text kept."""
        return sum(map(len, self.pieces))

    def filled(self, filling: list[str], escape: Callable[[str], str]) -> bytes:
        """The page in UTF-8, each hole's string escaped in its place."""
        pieces = self.pieces
        out = [pieces[0]]
        for at, index in enumerate(self.order, 1):
            out.append(escape(filling[index]).encode())
            out.append(pieces[at])
        return b"".join(out)


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
        self._pages: dict[tuple[Any, ...], _Page | None] = {}  # None: never cached
        self._bytes = 0  # of the kept pages' pieces
        self._seen: set[int] = set()  # hashes of keys seen once
        nonce = secrets.token_hex(8)
        self._marker = "\x00" + nonce + "{}\x00"
        self._split = re.compile("\x00" + nonce + r"(\d+)\x00")

    def render(self, name: str, context: dict[str, Any]) -> bytes:
        """Template ``name`` rendered with ``context``: the text Jinja2 gives, in UTF-8."""
        shape = self._shapes.get(name, _ABSENT)
        if shape is _ABSENT:
            shape = self._shapes[name] = shape_of(self._environment, name)
        if shape is None:
            return self._plain(name, context)
        assert isinstance(shape, Shape)
        filling = []
        for hole in shape.holes:
            value = context.get(hole, _ABSENT)
            if value.__class__ is not str:
                return self._plain(name, context)  # absent, or not plain text: as before
            filling.append(value)
        try:
            key = self._key(name, shape, context)
            page = self._pages.get(key, _ABSENT)
        except TypeError:  # a value that is not plain data
            return self._plain(name, context)
        if page is _ABSENT:
            seen = hash(key)
            if seen not in self._seen:  # the first time: as before, and remembered
                if len(self._seen) >= MAX_SEEN:
                    self._seen.clear()
                self._seen.add(seen)
                return self._plain(name, context)
            self._seen.discard(seen)
            return self._learn(name, shape, context, key)
        if page is None:
            return self._plain(name, context)
        assert isinstance(page, _Page)
        return page.filled(filling, self._escape)

    def __len__(self) -> int:
        return len(self._pages)

    def _plain(self, name: str, context: dict[str, Any]) -> bytes:
        return self._text(name, context).encode()

    def _text(self, name: str, context: dict[str, Any]) -> str:
        return self._template(name).render(context)

    @staticmethod
    def _key(name: str, shape: Shape, context: dict[str, Any]) -> tuple[Any, ...]:
        get = context.get
        parts: list[Any] = [name]
        for whole in shape.whole:
            value = get(whole, _ABSENT)
            # (Text and None stand for themselves: most values, so _typed is not called.)
            parts.append(value if value.__class__ is str or value is None else _typed(value))
        for mapping_name, keys in shape.entries:
            mapping = get(mapping_name, _ABSENT)
            if mapping.__class__ is dict:
                parts.append((_ENTRIES, *(_typed(mapping.get(k, _ABSENT)) for k in keys)))
            else:  # not a plain dict: its .get might be anything, so all of it counts
                parts.append(_typed(mapping))
        return tuple(parts)

    def _learn(
        self, name: str, shape: Shape, context: dict[str, Any], key: tuple[Any, ...]
    ) -> bytes:
        """Render with markers for the holes, keep the text between them if it gives back
        this page's own bytes, and answer the page."""
        text = self._plain(name, context)
        marked = dict(context)
        for index, hole in enumerate(shape.holes):
            marked[hole] = self._marker.format(index)
        parts = self._split.split(self._text(name, marked))
        pieces = tuple(piece.encode() for piece in parts[0::2])
        learnt = _Page(pieces, tuple(int(i) for i in parts[1::2]))
        filling = [context[hole] for hole in shape.holes]
        fits = len(text) <= MAX_PAGE_BYTES
        # Too long to keep, or not this page's bytes: a shape never cached.
        page = learnt if fits and _fills(learnt, filling, self._escape, text) else None
        size = page.size if page is not None else 0
        while self._pages and (len(self._pages) >= MAX_PAGES or self._bytes + size > MAX_BYTES):
            oldest = self._pages.pop(next(iter(self._pages)))
            self._bytes -= oldest.size if oldest is not None else 0
        self._pages[key] = page
        self._bytes += size
        return text


def _fills(page: _Page, filling: list[str], escape: Callable[[str], str], text: bytes) -> bool:
    try:
        return page.filled(filling, escape) == text
    except IndexError:  # a marker number beyond the holes (text that posed as one)
        return False


# The template's syntax tree ------------------------------------------------------------


@functools.cache
def _takes_apart() -> tuple[type, ...]:
    from jinja2 import nodes

    # Blocks whose output becomes a value (filtered, assigned, a macro's or a call's
    # result) and autoescape blocks: inside them, a printed hole is not what the page shows.
    return (
        nodes.FilterBlock,
        nodes.AssignBlock,
        nodes.Macro,
        nodes.CallBlock,
        nodes.EvalContextModifier,
    )


# (ScopedEvalContextModifier, {% autoescape %}, is an EvalContextModifier.)
# Names that hand a block's output to the template as a value.
_OUTPUT_AS_VALUE = frozenset({"self", "super", "caller"})


def shape_of(environment: jinja2.Environment, name: str) -> Shape | None:
    """What template ``name`` (with the templates it extends or includes) reads, or None
    when that cannot be known from its tree."""
    from jinja2 import meta, nodes

    if environment.finalize is not None or environment.autoescape is not True:
        return None  # printed values pass through more than markupsafe's escape
    takes_apart = _takes_apart()
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
            if isinstance(node, takes_apart) or _reads_context(environment, node):
                return None
            if not isinstance(node, nodes.Name):
                continue
            if node.name in _OUTPUT_AS_VALUE:
                return None
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
    name, so no key would be complete), or of a function the environment does not define
    (one the context brings could be such a function)."""
    from jinja2 import nodes

    found: Any = None
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        found = environment.globals.get(node.node.name)
        if found is None:
            return True
    elif isinstance(node, nodes.Filter):
        found = environment.filters.get(node.name)
    elif isinstance(node, nodes.Test):
        found = environment.tests.get(node.name)
    from jinja2.utils import _PassArg

    return _PassArg.from_obj(found) is _PassArg.context if found is not None else False
