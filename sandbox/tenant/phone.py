"""Phone challenges of one bank: the rules of domain/phone over the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.domain import phone
from sandbox.domain.bank import normalize_phone
from sandbox.domain.phone import CallResult, PhoneChallenge, Status
from sandbox.store.base import PhoneStore


class PhoneVerifier:
    """Pending phone challenges and the inbound calls that settle them."""

    def __init__(self, store: PhoneStore, window_seconds: int) -> None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self._store = store
        self.window = timedelta(seconds=window_seconds)

    async def start(
        self, challenge_id: str, registered_phone: str, auth_number: str, now: datetime
    ) -> PhoneChallenge:
        """Open (or restart) a challenge: screen ③ shows ``auth_number`` at ``now``."""
        challenge = phone.open_challenge(
            challenge_id, registered_phone, auth_number, now, self.window
        )
        await self._store.put_challenge(challenge)
        return challenge

    async def record_call(self, from_number: str, to_number: str, now: datetime) -> CallResult:
        """An inbound call arrived: verify, invalidate (too late) or ignore the matching waits."""
        caller = normalize_phone(from_number)
        pending = await self._store.pending_challenges(caller) if caller else []
        result, settled = phone.call_outcome(pending, to_number, now)
        for challenge in settled:
            await self._store.update_challenge(
                challenge.challenge_id, lambda current: phone.settle(current, now)
            )
        return result

    async def get(self, challenge_id: str) -> PhoneChallenge | None:
        return await self._store.get_challenge(challenge_id)

    async def status(self, challenge_id: str, now: datetime) -> Status:
        """What 「確定する」 at ``now`` finds: verified only if the call and now are in time."""
        return phone.status(await self._store.get_challenge(challenge_id), now)

    async def cancel(self, challenge_id: str) -> bool:
        """Forget a challenge (the customer aborted); True if it existed."""
        return await self._store.drop_challenge(challenge_id)

    async def pending_for(self, number: str, now: datetime | None = None) -> list[PhoneChallenge]:
        """Challenges waiting for a call from ``number``; with ``now``, only those in time."""
        pending = await self._store.pending_challenges(normalize_phone(number))
        return pending if now is None else [c for c in pending if c.in_time(now)]
