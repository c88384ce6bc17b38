"""Phone verification: a call from the registered phone to the auth number within 120 s."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.phone import PhoneVerifier

START = datetime(2026, 11, 5, 10, 0, 0, tzinfo=JST)
PHONE = "090-1234-5678"
AUTH = "0120-86-3713"


def after(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.fixture
def verifier() -> PhoneVerifier:
    phone = PhoneVerifier(window_seconds=120)
    phone.start("c1", PHONE, AUTH, START)
    return phone


def test_waiting_until_the_call_arrives(verifier: PhoneVerifier) -> None:
    assert verifier.status("c1", after(30)) == "waiting"


def test_call_in_time_verifies(verifier: PhoneVerifier) -> None:
    result = verifier.record_call("09012345678", "0120863713", after(30))
    assert result.outcome == "verified"
    assert result.challenge_ids == ("c1",)
    assert verifier.status("c1", after(31)) == "verified"


def test_phone_numbers_compare_by_digits(verifier: PhoneVerifier) -> None:
    result = verifier.record_call("(090) 1234 5678", "0120-863-713", after(5))
    assert result.verified


def test_exactly_the_window_is_still_in_time(verifier: PhoneVerifier) -> None:
    assert verifier.record_call(PHONE, AUTH, after(120)).outcome == "verified"
    assert verifier.status("c1", after(120)) == "verified"


def test_a_late_call_invalidates_the_challenge(verifier: PhoneVerifier) -> None:
    result = verifier.record_call(PHONE, AUTH, after(120.001))
    assert result.outcome == "expired"
    assert result.challenge_ids == ("c1",)
    assert verifier.status("c1", after(120.001)) == "expired"
    # A second call cannot revive it.
    assert verifier.record_call(PHONE, AUTH, after(121)).outcome == "no_pending_challenge"


def test_confirm_after_the_window_is_expired_even_after_a_timely_call(
    verifier: PhoneVerifier,
) -> None:
    verifier.record_call(PHONE, AUTH, after(60))
    assert verifier.status("c1", after(120)) == "verified"
    assert verifier.status("c1", after(120.001)) == "expired"


def test_no_call_and_late_confirm_is_expired(verifier: PhoneVerifier) -> None:
    assert verifier.status("c1", after(200)) == "expired"


def test_call_from_another_phone_does_not_verify(verifier: PhoneVerifier) -> None:
    result = verifier.record_call("08011112222", AUTH, after(10))
    assert result.outcome == "no_pending_challenge"
    assert verifier.status("c1", after(11)) == "waiting"


def test_call_to_another_number_is_wrong_number(verifier: PhoneVerifier) -> None:
    result = verifier.record_call(PHONE, "0272123456", after(10))
    assert result.outcome == "wrong_number"
    assert verifier.status("c1", after(11)) == "waiting"


def test_restart_gives_a_fresh_window(verifier: PhoneVerifier) -> None:
    verifier.record_call(PHONE, AUTH, after(130))
    verifier.start("c1", PHONE, AUTH, after(140))
    assert verifier.status("c1", after(141)) == "waiting"
    assert verifier.record_call(PHONE, AUTH, after(250)).verified


def test_cancel_forgets_the_challenge(verifier: PhoneVerifier) -> None:
    assert verifier.cancel("c1")
    assert not verifier.cancel("c1")
    assert verifier.status("c1", after(1)) == "unknown"
    assert verifier.record_call(PHONE, AUTH, after(2)).outcome == "no_pending_challenge"


def test_unknown_challenge_and_reset(verifier: PhoneVerifier) -> None:
    assert verifier.status("nope", after(1)) == "unknown"
    verifier.reset()
    assert verifier.status("c1", after(1)) == "unknown"


def test_pending_for_lists_open_challenges(verifier: PhoneVerifier) -> None:
    verifier.start("c2", PHONE, AUTH, after(100))
    assert [c.challenge_id for c in verifier.pending_for("09012345678")] == ["c1", "c2"]
    assert [c.challenge_id for c in verifier.pending_for(PHONE, after(121))] == ["c2"]
    verifier.record_call(PHONE, AUTH, after(110))
    assert verifier.pending_for(PHONE) == []


def test_one_call_settles_every_open_challenge_of_that_phone(verifier: PhoneVerifier) -> None:
    verifier.start("c2", PHONE, AUTH, after(60))
    result = verifier.record_call(PHONE, AUTH, after(150))
    assert result.challenge_ids == ("c2",)
    assert verifier.status("c1", after(150)) == "expired"
    assert verifier.status("c2", after(150)) == "verified"


def test_concurrent_calls_verify_once() -> None:
    verifier = PhoneVerifier(window_seconds=120)
    verifier.start("c1", PHONE, AUTH, START)
    barrier = threading.Barrier(50)

    def call(_: int) -> str:
        barrier.wait()
        return verifier.record_call(PHONE, AUTH, after(10)).outcome

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(call, range(50)))
    assert outcomes.count("verified") == 1
    assert outcomes.count("no_pending_challenge") == 49
