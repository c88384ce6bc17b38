"""What the sandbox did, as records: journal entries, mails, 移管 and rule counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.errors import CATALOG


@dataclass(slots=True)
class JournalEntry:
    """One handled request, secrets already redacted; ``seq`` is given by the store.

    Not frozen: one is made for every request, and the store numbers the very entry it
    keeps (a frozen copy would cost three times as much); nothing changes it after that.
    """

    at: datetime
    method: str
    path: str
    status: int
    client_id: str | None
    step: str | None
    error_code: str | None
    rule: int | None
    params: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0
    # Real time (seconds since the epoch): a frozen virtual clock still shows how long a
    # client waited, e.g. before retrying after Retry-After.
    wall: float = 0.0
    # What the request showed about the client (PKCE method, state length, grant type,
    # what it did wrong, Retry-After given): read by the conformance report.
    facts: Mapping[str, str | int | bool] = field(default_factory=dict)
    # The JSON body of an error answer (at most 2 KB, secrets masked): what the client read.
    response: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "client_id": self.client_id,
            "step": self.step,
            "error_code": self.error_code,
            "rule": self.rule,
            "params": dict(self.params),
            "facts": dict(self.facts),
            "response": self.response,
        }


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail as the customer would receive it; ``mail_id`` is given by the store."""

    sent_at: datetime
    sender: str
    to: str
    subject: str
    body: str
    client_id: str
    mail_id: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.mail_id,
            "sent_at": self.sent_at.isoformat(),
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "client_id": self.client_id,
        }


@dataclass(frozen=True, slots=True)
class Transfer:
    """One 移管: the account ``ref`` moved to ``new_branch``/``new_number``."""

    ref: str
    new_branch: str
    new_number: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How often a rule matched and fired since reset."""

    matched: int = 0
    fired: int = 0


def coverage_report(counts: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """Served and not-yet-served documented errors, with per-client counts."""
    per_code: dict[str, dict[str, int]] = {}
    for (code, client), n in counts.items():
        per_code.setdefault(code, {})[client or "-"] = n
    documented = [e.code for e in CATALOG.values() if e.documented]
    return {
        "served": {
            code: {"total": sum(by_client.values()), "by_client": by_client}
            for code, by_client in sorted(per_code.items())
        },
        "documented_total": len(documented),
        "documented_served": sorted(c for c in documented if c in per_code),
        "documented_missing": [c for c in documented if c not in per_code],
    }
