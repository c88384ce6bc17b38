"""The bundled scenarios that each demonstrate one documented error."""

from __future__ import annotations

ERROR_SCENARIOS = (
    "wrong_account",
    "wrong_identity",
    "lockout",
    "locked_retry",
    "off_hours",
    "congestion",
    "system_error",
    "service_unavailable",
    "phone_timeout",
    "pin_lockout",
)
