"""Phone-call verification of screens ③/④: a call from the registered phone within the window.

Timing rule (shared/DOMAIN.md: "A call made after 120 seconds, or confirm pressed after
120 seconds, is invalid"): with ``deadline = started_at + window_seconds``, a call or a
status check at ``now <= deadline`` is in time (exactly 120.000 s is still valid) and anything
later (120.001 s) is too late. A late call invalidates the challenge for good; a call in time
followed by a confirm after the deadline is also ``"expired"``. Either way the customer starts
the linkage again. Phone numbers are compared by their digits only.

These are pure functions of one :class:`PhoneChallenge`; a store holds the challenges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sandbox.clock import to_jst
from sandbox.copies import replace
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

    @property
    def pending(self) -> bool:
        """Still waiting for a call."""
        return self.verified_at is None and not self.invalidated

    @property
    def forget_at(self) -> datetime:
        return self.deadline + RETENTION


@dataclass(frozen=True, slots=True)
class CallResult:
    """What an inbound call did, and to which challenges."""

    outcome: CallOutcome
    challenge_ids: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"


def open_challenge(
    challenge_id: str, registered_phone: str, auth_number: str, now: datetime, window: timedelta
) -> PhoneChallenge:
    """Screen ③ shows ``auth_number`` at ``now``: the wait for a call begins."""
    if window < timedelta(seconds=1):
        raise ValueError("the phone window must be at least 1 second")
    moment = to_jst(now)
    return PhoneChallenge(
        challenge_id=challenge_id,
        registered_phone=normalize_phone(registered_phone),
        auth_number=normalize_phone(auth_number),
        started_at=moment,
        deadline=moment + window,
    )


def settle(challenge: PhoneChallenge, now: datetime) -> PhoneChallenge:
    """A call to the right number arrived at ``now``: verified in time, else invalidated."""
    if not challenge.pending:
        return challenge
    if challenge.in_time(to_jst(now)):
        return replace(challenge, verified_at=to_jst(now))
    return replace(challenge, invalidated=True)


def call_outcome(
    pending: list[PhoneChallenge], callee: str, now: datetime
) -> tuple[CallResult, list[PhoneChallenge]]:
    """What a call to ``callee`` does to the challenges ``pending`` for its caller.

    Returns the result and the challenges the call settles (each to be passed to ``settle``).
    """
    if not pending:
        return CallResult("no_pending_challenge"), []
    number = normalize_phone(callee)
    matching = [c for c in pending if c.auth_number == number]
    if not matching:
        return CallResult("wrong_number", tuple(c.challenge_id for c in pending)), []
    moment = to_jst(now)
    on_time = [c for c in matching if c.in_time(moment)]
    if on_time:
        return CallResult("verified", tuple(c.challenge_id for c in on_time)), matching
    return CallResult("expired", tuple(c.challenge_id for c in matching)), matching


def status(challenge: PhoneChallenge | None, now: datetime) -> Status:
    """What 「確定する」 at ``now`` finds: verified only if the call and now are in time."""
    if challenge is None:
        return "unknown"
    if challenge.invalidated or not challenge.in_time(to_jst(now)):
        return "expired"
    return "waiting" if challenge.verified_at is None else "verified"
