"""The screens' page cache: the bytes Jinja2 renders, each page's own strings filled in."""

from __future__ import annotations

import itertools
from typing import Any

import jinja2
import pytest
from markupsafe import Markup

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


class TextCache(PageCache):
    def text(self, name: str, context: dict[str, Any]) -> str:
        """The page as text (the cache answers UTF-8 bytes)."""
        return self.render(name, context).decode()


def _counting(env: jinja2.Environment) -> tuple[TextCache, list[str]]:
    rendered: list[str] = []

    class Counted:
        def __init__(self, template: jinja2.Template) -> None:
            self.template = template

        def render(self, context: dict[str, Any]) -> str:
            rendered.append(self.template.name or "")
            return self.template.render(context)

    return TextCache(env, lambda name: Counted(env.get_template(name))), rendered  # type: ignore[arg-type,return-value]


def test_every_screen_is_the_bytes_jinja2_renders_with_other_strings_filled_in() -> None:
    cache, rendered = _counting(render.environment())
    counts = []
    for round_ in range(4):
        for name, context in itertools.product(SCREENS, _contexts(round_)):
            page = render.template(name).render(context)
            assert cache.render(name, context) == page.encode("utf-8")
        counts.append(len(rendered))
    shapes = len(cache)
    assert shapes > 0
    # Each shape is learnt the second time it is seen (by the end of round 2, two renders
    # each); the rounds after differ only in the holes: nothing is rendered.
    assert counts[1] <= len(SCREENS) * 16 + 2 * shapes
    assert counts[3] == counts[2] == counts[1]


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


def _same_as_jinja2(cache: TextCache, env: jinja2.Environment, context: dict[str, Any]) -> str:
    out = cache.text("page", context)
    assert out == env.get_template("page").render(context)
    return out


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
    env = _env(page=source)
    cache, _ = _counting(env)
    for token, action, key in [("", "a", "a"), ("xyz", "<b>", "b"), ("", "c&", "a")] * 3:
        context = {
            "csrf_token": token,
            "action": action,
            "xs": ["1", "<2>"],
            "values": {"a": "A", "b": "<B>"},
            "key": key,
        }
        _same_as_jinja2(cache, env, context)


@pytest.mark.parametrize(
    "source",
    [
        "{% filter upper %}{{ action }}{% endfilter %}",
        "{% set x %}{{ action }}{% endset %}{{ x|length }}",
        "{% macro m() %}{{ action }}{% endmacro %}{{ m()|upper }}",
        "{% macro m() %}{{ caller()|length }}{% endmacro %}{% call m() %}{{ action }}{% endcall %}",
        "{% block b %}{{ action }}{% endblock %}{{ self.b()|length }}",
        "{% autoescape false %}{{ action }}{% endautoescape %}",
        "{% macro csrf(t) %}{{ t|upper }}{% endmacro %}{{ csrf(csrf_token) }}",
        "{{ peek() }}{{ action }}",  # a function the context brings
    ],
)
def test_a_template_that_could_take_a_printed_hole_apart_is_never_cached(source: str) -> None:
    env = _env(page=source)
    env.globals["csrf"] = render.csrf
    cache, rendered = _counting(env)
    for action in ("<a>", "bb", "c", "<a>"):
        _same_as_jinja2(cache, env, {"action": action, "csrf_token": action, "peek": lambda: "p"})
    assert len(cache) == 0
    assert len(rendered) == 4


@pytest.mark.parametrize(
    "environment",
    [
        {"finalize": lambda value: "-" if value is None else value},
        {"autoescape": jinja2.select_autoescape(default=True)},
        {"autoescape": False},
    ],
)
def test_an_environment_that_changes_printing_is_never_cached(environment: Any) -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"page": "{{ title }}{{ action }}"}),
        **{"autoescape": True, **environment},
    )
    cache, _ = _counting(env)
    for action in ("<a>", "b", "<a>", "b"):
        _same_as_jinja2(cache, env, {"title": None, "action": action})
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("first", "then"),
    [(1, True), (True, 1), (1, 1.0), (Markup("<b>"), "<b>"), ("<b>", Markup("<b>")), (0, False)],
)
def test_values_that_compare_equal_but_print_differently_have_pages_of_their_own(
    first: Any, then: Any
) -> None:
    env = _env(page="{{ window }}|{{ values.get('a') }}|{{ action }}")
    cache, _ = _counting(env)
    for value in (first, first, first, then, then, then):
        _same_as_jinja2(cache, env, {"window": value, "values": {"a": value}, "action": "x"})


def test_a_name_read_through_get_counts_by_its_entries_only() -> None:
    env = _env(page="{{ values.get('a', '-') }}{{ csrf_token }}")
    cache, rendered = _counting(env)
    for _ in range(2):  # seen, then learnt
        assert cache.text("page", {"values": {"a": "1", "z": "x"}, "csrf_token": "t<"}) == (
            "1t&lt;"
        )
    before = len(rendered)
    assert cache.text("page", {"values": {"a": "1", "z": "y"}, "csrf_token": "u"}) == "1u"
    assert len(rendered) == before  # "z" is never read: the shape is the first one's
    assert cache.text("page", {"values": {}, "csrf_token": "v"}) == "-v"
    assert len(rendered) == before + 1


def test_a_page_shown_once_is_rendered_as_before_and_never_kept() -> None:
    env = _env(page="{{ values.get('name') }}{{ csrf_token }}")
    cache, rendered = _counting(env)
    for n in range(50):  # fifty customers' typed names, each re-shown once
        assert cache.text("page", {"values": {"name": f"n{n}"}, "csrf_token": "t"}) == f"n{n}t"
    assert len(rendered) == 50
    assert len(cache) == 0


def test_a_page_it_cannot_key_is_rendered_as_before_every_time() -> None:
    env = _env(page="{{ items|join(',') }}{{ csrf_token }}", include="{% include which %}", x="x")
    cache, rendered = _counting(env)
    for token in ("a", "b", "c"):
        assert cache.text("page", {"items": ["1", "2"], "csrf_token": token}) == f"1,2{token}"
        assert cache.text("page", {"items": ("1",), "csrf_token": 7}) == "17"  # hole not text
        assert cache.text("page", {"items": (object(),), "csrf_token": "o"}).endswith("o")
        assert cache.text("include", {"which": "x"}) == "x"  # a template named by a variable
    assert len(cache) == 0
    assert rendered.count("page") == 9
    assert rendered.count("include") == 3
    for token in ("c", "d"):
        assert cache.text("page", {"items": ("1",), "csrf_token": token}) == f"1{token}"
    assert len(cache) == 1  # tuples of text can be keyed


def test_text_that_poses_as_a_marker_only_turns_the_cache_off_for_its_page() -> None:
    env = _env(page="{{ title }}|{{ csrf_token }}")
    cache, _ = _counting(env)
    posing = cache._marker.format(0) + cache._marker.format(5)  # as if the nonce had leaked
    for title in (posing, posing, posing, "\x000\x00", "a"):
        for token in ("<t>", "u"):
            escaped = "&lt;t&gt;" if token == "<t>" else token
            assert cache.text("page", {"title": title, "csrf_token": token}) == (
                f"{title}|{escaped}"
            )
    assert cache._pages[next(iter(cache._pages))] is None  # the posing page: never cached


def test_an_undefined_name_raises_as_jinja2_does() -> None:
    cache, _ = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    for _ in range(3):
        with pytest.raises(jinja2.UndefinedError):
            cache.text("page", {"title": "x"})
        with pytest.raises(jinja2.UndefinedError):
            cache.text("page", {"csrf_token": "x"})


def _learn_each(cache: TextCache, titles: list[str]) -> None:
    for title in titles:
        for token in ("t", "u"):
            assert cache.text("page", {"title": title, "csrf_token": token}) == title + token


def test_the_cache_keeps_a_bounded_number_of_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_cache, "MAX_PAGES", 5)
    monkeypatch.setattr(page_cache, "MAX_PAGE_BYTES", 40)
    cache, rendered = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    _learn_each(cache, [str(n) for n in range(20)])
    assert len(cache) == 5
    before = len(rendered)
    _learn_each(cache, ["x" * 50])  # too long to keep: seen, then marked as not kept
    assert cache.text("page", {"title": "x" * 50, "csrf_token": "v"}) == "x" * 50 + "v"
    assert len(rendered) == before + 4  # once, twice when learnt, once more after


def test_the_cache_keeps_a_bounded_amount_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_cache, "MAX_BYTES", 100)
    cache, _ = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    for n in range(10):
        _learn_each(cache, [f"{n:02d}" + "x" * 28])  # 30 bytes of text around one hole
        assert cache._bytes <= 100
    assert len(cache) == 3  # the newest three
    assert cache._bytes == 90


def test_the_keys_seen_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_cache, "MAX_SEEN", 10)
    cache, _ = _counting(_env(page="{{ title }}{{ csrf_token }}"))
    for n in range(25):
        assert cache.text("page", {"title": str(n), "csrf_token": "t"}) == f"{n}t"
        assert len(cache._seen) <= 10
