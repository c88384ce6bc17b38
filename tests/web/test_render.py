"""HTML rendering: the one Jinja2 environment, its globals and its templates."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import ui_text
from sandbox.web import render


def _pin_page(**extra: Any) -> str:
    context = {
        "title": "暗証番号入力",
        "screen": "pin",
        "bank_code": "2011",
        "bank_name": "テスト信用組合",
        "error_message": None,
        "error_code": None,
        "action": "/next",
        "csrf_token": 'tok"<&',
        "field_errors": {},
        **extra,
    }
    response = render.render_page("pin.html", context)
    assert response.content_type == "text/html"
    assert response.text is not None
    return response.text


def test_a_screen_uses_the_global_macros_with_its_own_values_escaped() -> None:
    page = _pin_page(field_errors={"pin": "暗証番号を入力して下さい。"})
    assert '<input type="hidden" name="csrf_token" value="tok&#34;&lt;&amp;">' in page
    assert '<p class="field-error" id="pin-error">暗証番号を入力して下さい。</p>' in page
    assert "テスト信用組合" in page


def test_each_render_sees_only_its_own_context() -> None:
    first = _pin_page(csrf_token="first", field_errors={"pin": "x"})
    second = _pin_page(csrf_token="second")
    assert 'value="first"' in first
    assert 'value="first"' not in second
    assert 'id="pin-error"' not in second


def test_templates_carry_the_macros_and_ui_text_among_their_globals() -> None:
    pin = render.template("pin.html")
    for name in (*render.SCREEN_MACROS, "text", "select_options", "MONTHS", "DAYS"):
        assert name in pin.globals, name
    assert pin.globals["text"] is ui_text
    # The missing-fields dialog shows the UI text.
    dialog = render.template("pin.html").globals["missing_dialog"](True)
    assert ui_text.MISSING_FIELDS in dialog


def test_calls_from_a_template_keep_jinja2s_rules() -> None:
    """The screens' functions and values.get are called directly; anything else still goes
    through Jinja2: an undefined name fails, a context function gets its context."""
    import jinja2

    env = render.environment()
    page = env.from_string("{{ values.get('a', '-') }}|{{ csrf('t') }}|{{ field_error('x', e) }}")
    assert page.render(values={"a": "<b>"}, e={}) == '&lt;b&gt;|<input type="hidden" ' + (
        'name="csrf_token" value="t">|'
    )

    @jinja2.pass_context
    def seen(context: Any, name: str) -> Any:
        return context[name]

    assert env.from_string("{{ seen('who') }}").render(seen=seen, who="本人") == "本人"
    with pytest.raises(jinja2.UndefinedError, match="nowhere"):
        env.from_string("{{ nowhere('x') }}").render()


def test_screen_2_lists_this_year_back_to_1900_with_the_one_entered_selected() -> None:
    years = render.year_choices(2026)
    assert (years[0], years[-1], len(years)) == ("2026", "1900", 127)
    options = render.select_options(years, 1980)
    assert options.count("<option") == 127
    assert '<option value="1980" selected>1980</option>' in options
    assert options == render.select_options(list(range(2026, 1899, -1)), "1980")
