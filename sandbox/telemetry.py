"""What the sandbox did: a journal of requests and the coverage of catalog errors served."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.errors import CATALOG


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One handled request, secrets already redacted."""

    seq: int
    at: datetime
    method: str
    path: str
    status: int
    client_id: str | None
    step: str | None
    error_code: str | None
    rule: int | None
    params: dict[str, str] = field(default_factory=dict)

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
            "params": self.params,
        }


class Journal:
    """The last ``limit`` requests, oldest first."""

    def __init__(self, limit: int = 5000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = 0

    def record(self, **fields: Any) -> JournalEntry:
        with self._lock:
            self._seq += 1
            entry = JournalEntry(seq=self._seq, **fields)
            self._entries.append(entry)
            return entry

    def entries(self, since: int = 0) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self._entries if e.seq > since]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._seq = 0


class Coverage:
    """Which catalog errors were served since reset, overall and per client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def served(self, code: str, client_id: str | None) -> None:
        with self._lock:
            self._counts[(code, client_id or "")] += 1

    def report(self) -> dict[str, Any]:
        """Served and not-yet-served documented errors, with per-client counts."""
        with self._lock:
            counts = dict(self._counts)
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

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
