"""Journal entries as the stores keep them."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime

from sandbox.domain.records import JournalEntry


def test_a_numbered_entry_keeps_every_field_and_takes_its_seq() -> None:
    entry = JournalEntry(
        at=datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC),
        method="GET",
        path="/parasol/v1/banks/2011/accounts",
        status=403,
        client_id="app",
        step="api",
        error_code="account_transferred",
        rule=2,
        params={"limit": "50"},
        wall=1.5,
        facts={"token_in_query": True},
        response='{"error_code": "account_transferred"}',
    )
    numbered = entry.numbered(7)
    assert numbered == replace(entry, seq=7)
    assert [getattr(numbered, f.name) for f in fields(entry) if f.name != "seq"] == [
        getattr(entry, f.name) for f in fields(entry) if f.name != "seq"
    ]
