"""The refusals of the authorisation server, as typed errors that carry their status."""

from __future__ import annotations


class AuthorizeError(Exception):
    """An authorization request the server refuses (RFC 6749 4.1.2.1)."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirectable: bool,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirectable = redirectable and redirect_uri is not None
        self.redirect_uri = redirect_uri if self.redirectable else None
        self.state = state

    def query(self) -> dict[str, str]:
        """The parameters to append to ``redirect_uri`` when redirectable."""
        params = {"error": self.error, "error_description": self.description}
        if self.state is not None:
            params["state"] = self.state
        return params


class TokenError(Exception):
    """A token/revoke/introspect request the server refuses (RFC 6749 5.2)."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int | None = None,
        *,
        basic: bool = False,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        # What the client did wrong, as a stable word the conformance report reads.
        self.reason = reason
        self.status = status if status is not None else (401 if error == "invalid_client" else 400)
        # HTTP Basic was tried: the answer carries a Basic challenge (RFC 6749 5.2).
        self.basic = basic


class BearerError(Exception):
    """An access token the data API must refuse; ``code`` is a catalog code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
