"""Client authentication (RFC 6749 2.3): id and secret, never echoed back."""

from __future__ import annotations

import pytest

from sandbox.domain.oauth.clients import Client, authenticate_client
from sandbox.domain.oauth.errors import TokenError

APP = Client("app", "app-secret-1", "App", ("https://app.example/cb",), False, ("accounts",))
CLIENTS = {APP.client_id: APP}


def test_authenticate_client() -> None:
    assert authenticate_client(CLIENTS, "app", "app-secret-1") is APP
    for client_id, secret in [("app", "wrong"), ("app", None), ("nobody", "x"), (None, None)]:
        with pytest.raises(TokenError) as exc:
            authenticate_client(CLIENTS, client_id, secret)
        assert (exc.value.error, exc.value.status) == ("invalid_client", 401)
        assert "app-secret-1" not in str(exc.value)
