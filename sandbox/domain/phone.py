"""Phone-call verification of screens ③/④: a call from the registered phone within the window.

Timing rule (shared/DOMAIN.md: "A call made after 120 seconds, or confirm pressed after
120 seconds, is invalid"): with ``deadline = started_at + window_seconds``, a call or a
status check at ``now <= deadline`` is in time (exactly 120.000 s is still valid) and anything
later (120.001 s) is too late. A late call invalidates the challenge for good; a call in time
followed by a confirm after the deadline is also ``"expired"``. Either way the customer starts
the linkage again. Phone numbers are compared by their digits only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sandbox.clock import to_jst
from sandbox.domain.bank import normalize_phone

Status = Literal["waiting", "verified", "expired", "unknown"]
CallOutcome = Literal["verified", "expired", "wrong_number", "no_pending_challenge"]
# How long a finished or abandoned challenge is remembered after its deadline.
RETENTION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PhoneChallenge:
    """One wait for a call: from ``registered_phone`` to ``auth_number`` before ``deadline``."""

    challenge_id: str
    registered_phone: str
    auth_number: str
    started_at: datetime
    deadline: datetime
    verified_at: datetime | None = None
    invalidated: bool = False

    def in_time(self, moment: datetime) -> bool:
        """True if ``moment`` is not after the deadline."""
        return moment <= self.deadline


@dataclass(frozen=True, slots=True)
class CallResult:
    """What an inbound call did, and to which challenges."""

    outcome: CallOutcome
    challenge_ids: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"


class PhoneVerifier:
    """Pending phone challenges and the inbound calls that settle them (thread-safe)."""

    def __init__(self, window_seconds: int) -> None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self.window = timedelta(seconds=window_seconds)
        self._challenges: dict[str, PhoneChallenge] = {}
        self._lock = threading.Lock()

    def start(
        self, challenge_id: str, registered_phone: str, auth_number: str, now: datetime
    ) -> PhoneChallenge:
        """Open (or restart) a challenge: screen ③ shows ``auth_number`` at ``now``."""
        moment = to_jst(now)
        challenge = PhoneChallenge(
            challenge_id=challenge_id,
            registered_phone=normalize_phone(registered_phone),
            auth_number=normalize_phone(auth_number),
            started_at=moment,
            deadline=moment + self.window,
        )
        with self._lock:
            self._forget_stale(moment)
            self._challenges.pop(challenge_id, None)
            self._challenges[challenge_id] = challenge
        return challenge

    def _forget_stale(self, moment: datetime) -> None:
        """Drop the oldest challenges once they are well past their deadline."""
        while self._challenges:
            oldest = next(iter(self._challenges.values()))
            if oldest.deadline + RETENTION >= moment:
                return
            del self._challenges[oldest.challenge_id]

    def _pending(self, phone: str) -> list[PhoneChallenge]:
        """Challenges still waiting for a call from ``phone`` (caller holds the lock)."""
        return [
            c
            for c in self._challenges.values()
            if c.registered_phone == phone and c.verified_at is None and not c.invalidated
        ]

    def record_call(self, from_number: str, to_number: str, now: datetime) -> CallResult:
        """An inbound call arrived: verify, invalidate (too late) or ignore the matching waits."""
        moment = to_jst(now)
        caller, callee = normalize_phone(from_number), normalize_phone(to_number)
        with self._lock:
            pending = self._pending(caller) if caller else []
            if not pending:
                return CallResult("no_pending_challenge")
            matching = [c for c in pending if c.auth_number == callee]
            if not matching:
                return CallResult("wrong_number", tuple(c.challenge_id for c in pending))
            on_time = [c for c in matching if c.in_time(moment)]
            for challenge in matching:
                if challenge.in_time(moment):
                    settled = replace(challenge, verified_at=moment)
                else:
                    settled = replace(challenge, invalidated=True)
                self._challenges[challenge.challenge_id] = settled
        if on_time:
            return CallResult("verified", tuple(c.challenge_id for c in on_time))
        return CallResult("expired", tuple(c.challenge_id for c in matching))

    def get(self, challenge_id: str) -> PhoneChallenge | None:
        """The challenge as it stands, or None if unknown."""
        with self._lock:
            return self._challenges.get(challenge_id)

    def status(self, challenge_id: str, now: datetime) -> Status:
        """What 「確定する」 at ``now`` finds: verified only if the call and now are in time."""
        with self._lock:
            challenge = self._challenges.get(challenge_id)
        if challenge is None:
            return "unknown"
        if challenge.invalidated or not challenge.in_time(to_jst(now)):
            return "expired"
        return "waiting" if challenge.verified_at is None else "verified"

    def cancel(self, challenge_id: str) -> bool:
        """Forget a challenge (the customer aborted); True if it existed."""
        with self._lock:
            return self._challenges.pop(challenge_id, None) is not None

    def pending_for(self, phone: str, now: datetime | None = None) -> list[PhoneChallenge]:
        """Challenges waiting for a call from ``phone``; with ``now``, only those in time."""
        with self._lock:
            pending = self._pending(normalize_phone(phone))
        if now is None:
            return pending
        moment = to_jst(now)
        return [c for c in pending if c.in_time(moment)]

    def reset(self) -> None:
        """Forget every challenge."""
        with self._lock:
            self._challenges.clear()
