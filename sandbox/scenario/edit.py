"""Changes made to a scenario after it was read: a client added or replaced."""

from __future__ import annotations

from pydantic import ValidationError

from sandbox.scenario.model import ClientModel, Scenario


def with_client(scenario: Scenario, client: ClientModel) -> tuple[Scenario, bool]:
    """``scenario`` with ``client`` added, or replacing the one of the same id (True)."""
    kept = [c for c in scenario.clients if c.client_id != client.client_id]
    replaced = len(kept) != len(scenario.clients)
    return scenario.model_copy(update={"clients": [*kept, client]}), replaced


def client_spec(spec: str) -> ClientModel:
    """``ID:SECRET:REDIRECT_URI`` (``sandbox serve --client``) as a client; ValueError if bad.

    The id and the secret hold no colon; the redirect URI is the rest.
    """
    client_id, sep1, rest = spec.partition(":")
    secret, sep2, redirect_uri = rest.partition(":")
    if not (sep1 and sep2 and client_id and secret and redirect_uri):
        raise ValueError(
            f"--client {spec[:80]!r}: give ID:SECRET:REDIRECT_URI, "
            "e.g. my-app:my-secret-123:http://127.0.0.1:3000/callback"
        )
    try:
        return ClientModel.model_validate(
            {"client_id": client_id, "client_secret": secret, "redirect_uris": [redirect_uri]}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"--client {client_id!r}: {field}: {first['msg']}") from None
