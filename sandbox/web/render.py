"""HTML templates: a Jinja2 environment built on the first page, not at start-up.

aiohttp-jinja2 would import and configure Jinja2 while the app is created; building the
environment lazily keeps ~45 ms out of the sandbox's start-up (bench/startup.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox import ui_text

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")


SCREEN_MACROS = ("field_error", "csrf", "missing_dialog")  # defined in _macros.html
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
DAYS = tuple(f"{d:02d}" for d in range(1, 32))


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
    return _options(tuple(str(c) for c in choices), None if selected is None else str(selected))


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: autoescaped, strict about undefined names."""
    import jinja2

    class Environment(jinja2.Environment):
        def make_globals(self, d: Any = None) -> Any:
            # A template's globals as a plain dict, not a ChainMap over the environment's:
            # every render copies them into its context, and copying a ChainMap runs in
            # Python, key by key. (Taken as a template loads: every global is set before
            # the first screen loads; the macros' own template needs none of the macros.)
            return {**self.globals, **(d or {})}

    env = Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.globals.update(select_options=select_options, MONTHS=MONTHS, DAYS=DAYS, text=ui_text)
    # The screens' macros, built once as globals: a ``{% from %}`` import costs each render.
    macros = env.get_template("_macros.html").module
    env.globals.update({name: getattr(macros, name) for name in SCREEN_MACROS})
    return env


@functools.cache
def template(name: str) -> jinja2.Template:
    """The template ``name``, loaded once."""
    return environment().get_template(name)


def render_page(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """An HTML response from template ``name``."""
    html = template(name).render(context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
