"""The redirect back to the app keeps the registered URI byte for byte."""

from __future__ import annotations

from sandbox.domain.linkage import redirect_url


def test_registered_query_is_kept_as_is() -> None:
    url = redirect_url("https://app.example/cb?flag&sp=a%20b", {"code": "c1", "state": "s 1"})
    assert url == "https://app.example/cb?flag&sp=a%20b&code=c1&state=s+1"


def test_plain_uri_gets_a_query() -> None:
    assert redirect_url("http://127.0.0.1:8765/cb", {"error": "access_denied", "state": None}) == (
        "http://127.0.0.1:8765/cb?error=access_denied"
    )


def test_app_scheme() -> None:
    assert redirect_url("com.example.app:/cb", {"code": "x"}) == "com.example.app:/cb?code=x"
