"""The screens' page cache: the bytes Jinja2 renders, each page's own strings filled in."""

from __future__ import annotations

import itertools
from typing import Any

import jinja2
import pytest

from sandbox.web import page_cache, render
from sandbox.web.page_cache import PageCache, shape_of

SCREENS = [
    "account.html",
    "identity.html",
    "phone.html",
    "confirm.html",
    "pin.html",
    "consent.html",
    "terminal.html",
    "error_page.html",
]
HOSTILE = "<&\"'>本人\x00"
FIELDS = ["branch_code", "account_number", "name_kana", "birth_year", "birth_month", "phone"]


def _contexts(round_: int) -> list[dict[str, Any]]:
    """Every combination of entered values, errors and flags, the per-linkage strings
    different in each round."""
    entered = {f: HOSTILE + f for f in FIELDS} | {"birth_year": "1980", "birth_month": "2"}
    out = []
    for n, (values, error, problems, flag) in enumerate(
        itertools.product([{}, entered], [None, HOSTILE], [{}, {"phone": HOSTILE}], [0, 1])
    ):
        out.append(
            {
                "bank_name": HOSTILE,
                "bank_code": "2011",
                "title": HOSTILE,
                "screen": "x",
                "error_message": error,
                "error_code": "wrong_pin" if error else None,
                "field_errors": problems,
                "missing": bool(flag),
                "values": values,
                "csrf_token": f'tok"<&{round_}-{n}',
                "action": f"/parasol/v1/banks/2011/linkage/{round_}&<{n}/account",
                "branches": (("001", "本店"), ("002", HOSTILE)),
                "years": render.year_choices(2026),
                "auth_number": "0120-000-000",
                "auth_number_digits": "0120000000",
                "phone_tail": f"<{round_}>",
                "window_seconds": 120,
                "waiting": bool(flag),
                "call_button": bool(flag),
                "call_message": HOSTILE if flag else None,
                "client_name": f"{HOSTILE}{round_}",
                "account_label": f"本店 普通 {round_}{n}",
                "restart": bool(flag),
                "back_url": "/b?<&" if n % 3 else "",  # tested by terminal.html: a key
                "detail": f"{HOSTILE}{round_}",
            }
        )
    return out


def _counting(env: jinja2.Environment) -> tuple[PageCache, list[str]]:
    rendered: list[str] = []

    class Counted:
        def __init__(self, template: jinja2.Template) -> None:
            self.template = template

        def render(self, context: dict[str, Any]) -> str:
            rendered.append(self.template.name or "")
            return self.template.render(context)

    return PageCache(env, lambda name: Counted(env.get_template(name))), rendered  # type: ignore[arg-type,return-value]


def test_every_screen_is_the_bytes_jinja2_renders_with_other_strings_filled_in() -> None:
    cache, rendered = _counting(render.environment())
    for round_ in range(3):
        for name, context in itertools.product(SCREENS, _contexts(round_)):
            assert cache.render(name, context) == render.template(name).render(context)
        if round_ == 0:
            learned = len(rendered)
            assert len(cache) == learned  # one render per shape, with markers
    assert len(rendered) == learned  # later rounds differ only in the holes: no render


def test_the_first_screen_shapes_are_known() -> None:
    shape = shape_of(render.environment(), "account.html")
    assert shape is not None
    assert shape.holes == ("action", "csrf_token")
    assert shape.entries == (("values", ("account_number", "account_type", "branch_code")),)
    assert "field_errors" in shape.whole
    assert "branches" in shape.whole


def _env(**templates: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader(templates), autoescape=True, undefined=jinja2.StrictUndefined
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% if csrf_token %}<b>{{ csrf_token }}</b>{% endif %}",  # tested: part of the key
        "{{ csrf_token[:3] }}|{{ csrf_token }}",  # sliced
        "{{ csrf_token|upper }}",  # filtered
        "{% for action in xs %}{{ action }}{% endfor %}{{ action }}",  # shadowed by a loop
        "{% set action = 'fixed' %}{{ action }}",  # assigned
        "{{ values.get(key) }}{{ values.get('a') }}",  # a .get with a variable
    ],
)
def test_a_string_the_template_does_more_with_than_print_is_in_the_key(source: str) -> None:
    cache, _ = _counting(_env(page=source))
    for token, action, key in [("", "a", "a"), ("xyz", "<b>", "b"), ("", "c&", "a")]:
        context = {
            "csrf_token": token,
            "action": action,
            "xs": ["1", "<2>"],
            "values": {"a": "A", "b": "<B>"},
            "key": key,
        }
        assert cache.render("page", context) == _env(page=source).get_template("page").render(
            context
        )


def test_a_name_read_through_get_counts_by_its_entries_only() -> None:
    env = _env(page="{{ values.get('a', '-') }}{{ csrf_token }}")
    cache, rendered = _counting(env)
    assert cache.render("page", {"values": {"a": "1", "z": "x"}, "csrf_token": "t<"}) == "1t&lt;"
    assert cache.render("page", {"values": {"a": "1", "z": "y"}, "csrf_token": "u"}) == "1u"
    assert cache.render("page", {"values": {}, "csrf_token": "v"}) == "-v"
    assert len(rendered) == 2  # "z" is never read: the second page reused the first's shape


def test_a_page_it_cannot_key_is_rendered_as_before_every_time() -> None:
    env = _env(page="{{ items|join(',') }}{{ csrf_token }}", include="{% include which %}", x="x")
    cache, rendered = _counting(env)
    for token in ("a", "b"):
        assert cache.render("page", {"items": ["1", "2"], "csrf_token": token}) == f"1,2{token}"
        assert cache.render("page", {"items": ("1",), "csrf_token": 7}) == "17"  # hole not text
        assert cache.render("include", {"which": "x"}) == "x"  # a template named by a variable
    assert len(cache) == 0
    assert rendered.count("page") == 4
    assert rendered.count("include") == 2
    assert cache.render("page", {"items": ("1",), "csrf_token": "c"}) == "1c"  # this one can
    assert len(cache) == 1


def test_a_function_that_reads_the_context_turns_the_cache_off_for_its_template() -> None:
    env = _env(page="{{ peek() }}{{ csrf_token }}")
    env.globals["peek"] = jinja2.pass_context(lambda context: context["secret"])
    cache, rendered = _counting(env)
    assert cache.render("page", {"secret": "1", "csrf_token": "a"}) == "1a"
    assert cache.render("page", {"secret": "2", "csrf_token": "a"}) == "2a"
    assert len(rendered) == 2
    assert len(cache) == 0


def test_text_that_looks_like_a_marker_is_only_text() -> None:
    env = _env(page="{{ title }}|{{ csrf_token }}")
    cache, _ = _counting(env)
    for title in ("\x000\x00", "\x00" + "0" * 16 + "0\x00", "a"):
        assert cache.render("page", {"title": title, "csrf_token": "<t>"}) == f"{title}|&lt;t&gt;"


def test_an_undefined_name_raises_as_jinja2_does() -> None:
    cache, _ = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    with pytest.raises(jinja2.UndefinedError):
        cache.render("page", {"title": "x"})
    with pytest.raises(jinja2.UndefinedError):
        cache.render("page", {"csrf_token": "x"})


def test_the_cache_keeps_a_bounded_number_of_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_cache, "MAX_PAGES", 5)
    monkeypatch.setattr(page_cache, "MAX_PAGE_CHARACTERS", 40)
    cache, rendered = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    for n in range(20):
        assert cache.render("page", {"title": str(n), "csrf_token": "t"}) == f"{n}t"
    assert len(cache) == 5
    long = "x" * 50
    assert cache.render("page", {"title": long, "csrf_token": "1"}) == long + "1"
    assert cache.render("page", {"title": long, "csrf_token": "2"}) == long + "2"
    assert rendered.count("page") == 22  # the long page is not kept: rendered each time


def test_the_cache_keeps_a_bounded_amount_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_cache, "MAX_CHARACTERS", 100)
    cache, _ = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    for n in range(10):
        title = f"{n:02d}" + "x" * 28  # 30 characters of text around one hole
        assert cache.render("page", {"title": title, "csrf_token": "t"}) == title + "t"
        assert cache._characters <= 100
    assert len(cache) == 3  # the newest three
    assert cache._characters == 90
