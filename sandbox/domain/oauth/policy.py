"""The lifetimes the authorisation server works with (from the scenario's bank policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class OAuthPolicy:
    """Code and token lifetimes, and the periodic re-authentication period."""

    code_ttl_seconds: int = 60
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 90 * 86400
    reauth_period_days: int = 90

    @property
    def code_ttl(self) -> timedelta:
        return timedelta(seconds=self.code_ttl_seconds)
