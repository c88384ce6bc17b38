"""HTML templates: a Jinja2 environment built on the first page, not at start-up.

aiohttp-jinja2 would import and configure Jinja2 while the app is created; building the
environment lazily keeps ~45 ms out of the sandbox's start-up (bench/startup.py).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: autoescaped, strict about undefined names."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )


def render_page(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """An HTML response from template ``name``."""
    html = environment().get_template(name).render(context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
