"""Phone verification rules: a call to the auth number within the window (120 s inclusive)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.phone import (
    PhoneChallenge,
    call_outcome,
    open_challenge,
    settle,
    status,
)

START = datetime(2026, 11, 5, 10, 0, 0, tzinfo=JST)
PHONE = "090-1234-5678"
AUTH = "0120-86-3713"
WINDOW = timedelta(seconds=120)


def after(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def opened(challenge_id: str = "c1", at: datetime = START) -> PhoneChallenge:
    return open_challenge(challenge_id, PHONE, AUTH, at, WINDOW)


def called(challenge: PhoneChallenge, callee: str, at: datetime) -> PhoneChallenge:
    """The challenge after a call to ``callee`` from its phone: settled if the call settles it."""
    _, settled = call_outcome([challenge], callee, at)
    return settle(challenge, at) if challenge in settled else challenge


def test_waiting_until_the_call_arrives() -> None:
    assert status(opened(), after(30)) == "waiting"


def test_call_in_time_verifies() -> None:
    challenge = opened()
    result, settled = call_outcome([challenge], "0120863713", after(30))
    assert result.outcome == "verified"
    assert result.challenge_ids == ("c1",)
    assert settled == [challenge]
    assert status(settle(challenge, after(30)), after(31)) == "verified"


def test_phone_numbers_compare_by_digits() -> None:
    challenge = opened()
    assert (challenge.registered_phone, challenge.auth_number) == ("09012345678", "0120863713")
    result, _ = call_outcome([challenge], "0120-863-713", after(5))
    assert result.verified


def test_exactly_the_window_is_still_in_time() -> None:
    challenge = opened()
    assert call_outcome([challenge], AUTH, after(120))[0].outcome == "verified"
    assert status(called(challenge, AUTH, after(120)), after(120)) == "verified"


def test_a_late_call_invalidates_the_challenge() -> None:
    challenge = opened()
    result, settled = call_outcome([challenge], AUTH, after(120.001))
    assert result.outcome == "expired"
    assert result.challenge_ids == ("c1",)
    assert settled == [challenge]
    late = settle(challenge, after(120.001))
    assert late.invalidated
    assert status(late, after(120.001)) == "expired"
    # A second call cannot revive it: it waits for no call any more.
    assert not late.pending
    assert settle(late, after(121)) == late


def test_confirm_after_the_window_is_expired_even_after_a_timely_call() -> None:
    verified = called(opened(), AUTH, after(60))
    assert status(verified, after(120)) == "verified"
    assert status(verified, after(120.001)) == "expired"


def test_no_call_and_late_confirm_is_expired() -> None:
    assert status(opened(), after(200)) == "expired"


def test_no_pending_challenge() -> None:
    result, settled = call_outcome([], AUTH, after(10))
    assert result.outcome == "no_pending_challenge"
    assert settled == []


def test_call_to_another_number_is_wrong_number() -> None:
    challenge = opened()
    result, settled = call_outcome([challenge], "0272123456", after(10))
    assert result.outcome == "wrong_number"
    assert settled == []
    assert status(challenge, after(11)) == "waiting"


def test_one_call_settles_every_open_challenge_of_that_phone() -> None:
    first, second = opened("c1"), opened("c2", after(60))
    result, settled = call_outcome([first, second], AUTH, after(150))
    assert result.challenge_ids == ("c2",)
    assert settled == [first, second]
    assert status(settle(first, after(150)), after(150)) == "expired"
    assert status(settle(second, after(150)), after(150)) == "verified"


def test_unknown_challenge() -> None:
    assert status(None, after(1)) == "unknown"


def test_window_must_be_at_least_a_second() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        open_challenge("c1", PHONE, AUTH, START, timedelta(milliseconds=999))
