"""Redaction before anything is logged or journaled: by name and by value."""

from __future__ import annotations

import secrets

from sandbox.redact import REDACTED, redact_text, redacted_query


def test_secrets_are_redacted_by_name() -> None:
    out = redacted_query([("code", "abc"), ("client_secret", "s"), ("date_from", "2026-11-01")])
    assert out == {"code": REDACTED, "client_secret": REDACTED, "date_from": "2026-11-01"}


def test_issued_values_are_redacted_under_any_name() -> None:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    out = redacted_query([("refresh", token), ("csrf", csrf), ("p", "1234"), ("x", "hello")])
    assert out == {"refresh": REDACTED, "csrf": REDACTED, "p": REDACTED, "x": "hello"}


def test_held_values_such_as_client_secrets_are_redacted_under_any_name() -> None:
    out = redacted_query([("s", "secret-one-123"), ("t", "other")], held={"secret-one-123"})
    assert out == {"s": REDACTED, "t": "other"}


def test_plain_parameters_stay_readable() -> None:
    state = secrets.token_urlsafe(32)
    params = [("state", state), ("limit", "1000"), ("client_id", "app-1")]
    assert redacted_query(params) == dict(params)


def test_free_text_masks_credentials() -> None:
    text = "GET /x?access_token=abc Authorization: Bearer xyz.123"
    assert redact_text(text) == f"GET /x?access_token={REDACTED} Authorization: Bearer {REDACTED}"
