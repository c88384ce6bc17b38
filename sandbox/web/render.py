"""HTML templates: a Jinja2 environment built on the first page, not at start-up.

aiohttp-jinja2 would import and configure Jinja2 while the app is created; building the
environment lazily keeps ~45 ms out of the sandbox's start-up (bench/startup.py).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox import ui_text

if TYPE_CHECKING:
    import jinja2

    from sandbox.web.page_cache import PageCache

TEMPLATES = Path(__file__).with_name("templates")


class Choices(tuple[str, ...]):
    """Option values as text, made once (select_options takes them as they are)."""

    __slots__ = ()

    def __new__(cls, values: Iterable[object]) -> Choices:
        return super().__new__(cls, (str(v) for v in values))


MONTHS = Choices(f"{m:02d}" for m in range(1, 13))
DAYS = Choices(f"{d:02d}" for d in range(1, 32))


@functools.lru_cache(maxsize=8)
def year_choices(this_year: int) -> Choices:
    """Screen ②'s birth years, this year back to 1900 (made once a year, not per render)."""
    return Choices(range(this_year, 1899, -1))


@functools.lru_cache(maxsize=512)
def _options(choices: tuple[str, ...], selected: str | None) -> str:
    from markupsafe import Markup, escape

    return Markup("").join(
        Markup('<option value="{0}"{1}>{0}</option>').format(
            escape(c), Markup(" selected") if c == selected else ""
        )
        for c in choices
    )


def select_options(choices: Iterable[object], selected: object = None) -> str:
    """``<option>`` elements for ``choices``, the one equal to ``selected`` selected.

    Screen ② has 170 options; built once per (choices, selection) instead of per render.
    """
    values = choices if isinstance(choices, Choices) else Choices(choices)
    return _options(values, None if selected is None else str(selected))


def field_error(name: str, errors: dict[str, str]) -> str:
    """The message under field ``name``, if ``errors`` has one for it."""
    message = errors.get(name) if errors else None
    if not message:
        return ""
    from markupsafe import Markup, escape

    return Markup(f'<p class="field-error" id="{escape(name)}-error">{escape(message)}</p>')


def csrf(token: str) -> str:
    """The form's hidden CSRF token field."""
    from markupsafe import Markup, escape

    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')


def missing_dialog(missing: bool) -> str:
    """The dialog saying a required field was left empty (ui_text.MISSING_FIELDS)."""
    if not missing:
        return ""
    from markupsafe import Markup

    return Markup(_MISSING_DIALOG)


# (The UI texts are plain text: no character in them needs escaping.)
_MISSING_DIALOG = f"""
<dialog open class="dialog" role="alertdialog" aria-labelledby="missing-title">
  <p id="missing-title" class="dialog-title">{ui_text.ERROR_TITLE}</p>
  <p>{ui_text.MISSING_FIELDS}</p>
  <form method="dialog"><button type="submit" class="ok">OK</button></form>
</dialog>
"""

# The screens' shared pieces, environment globals written in Python: a Jinja2 macro call
# binds its arguments in Python on every call (identity.html makes ten); as functions they
# render the same bytes for less (with the screens' one route, 2.7% of a linkage's
# instructions, counted side by side).
SCREEN_MACROS = {"field_error": field_error, "csrf": csrf, "missing_dialog": missing_dialog}


# What ScreenContext calls directly: the screens' functions and a dict's bound get.
_PLAIN = frozenset({select_options, *SCREEN_MACROS.values()})


def _called_directly(obj: Any) -> bool:
    kind = obj.__class__
    if kind is types.FunctionType:
        return obj in _PLAIN
    return kind is types.BuiltinMethodType and obj.__self__.__class__ is dict


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: autoescaped, strict about undefined names."""
    import jinja2

    class ScreenContext(jinja2.runtime.Context):
        @jinja2.utils.internalcode  # kept out of template tracebacks, as Jinja2's own is
        def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            # The screens call only the functions above and a dict's get (values.get):
            # none takes a context, so they are called as they are. Jinja2's own call
            # asks each callable four questions first (a third of screen ②'s render).
            if _called_directly(__obj):
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
                return __obj(*args, **kwargs)
            return super().call(__obj, *args, **kwargs)

    class Environment(jinja2.Environment):
        context_class = ScreenContext

        def make_globals(self, d: Any = None) -> Any:
            # A template's globals as a plain dict, not a ChainMap over the environment's:
            # every render copies them into its context, and copying a ChainMap runs in
            # Python, key by key. (Taken as a template loads: every global is set before
            # the first screen loads.)
            return {**self.globals, **(d or {})}

    env = Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.globals.update(select_options=select_options, MONTHS=MONTHS, DAYS=DAYS, text=ui_text)
    env.globals.update(SCREEN_MACROS)
    return env


@functools.cache
def template(name: str) -> jinja2.Template:
    """The template ``name``, loaded once."""
    return environment().get_template(name)


def render_page(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """An HTML response from template ``name``."""
    return _html(template(name).render(context).encode(), status)


def render_screen(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A linkage screen or error page from template ``name``: the same bytes as
    :func:`render_page`, through the page cache (each page's own strings filled in)."""
    return _html(screen_pages().render(name, context), status)


def _html(body: bytes, status: int) -> web.Response:
    """A UTF-8 page as an HTML response (the page cache keeps its pages encoded)."""
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8")


@functools.cache
def screen_pages() -> PageCache:
    """The screens' page cache (one per process, made with the first page, like the
    environment)."""
    from sandbox.web.page_cache import PageCache

    return PageCache(environment(), template)
