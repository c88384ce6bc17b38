"""The linkage state machine as pure steps: each screen acts only in its own step."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.clock import JST
from sandbox.domain import linkage as flow
from sandbox.domain.bank import Account, AccountType, Customer
from sandbox.domain.forms import AccountInput
from sandbox.domain.linkage import Linkage, StepError
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.errors import SandboxError
from sandbox.steps import Step

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
REQUEST = AuthRequest("app-1", "https://app.example/cb", "st-1", "accounts", None, None)
ACCOUNT = Account("001", AccountType.ORDINARY, "1234567", "1234", 500_000)
TARO = Customer(
    customer_id="taro",
    name_kanji="データ 太郎",
    name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
    birth_date=date(1980, 1, 1),
    phone="09012345678",
    email="taro@example.jp",
    accounts=[ACCOUNT],
)
ENTERED = AccountInput("001", AccountType.ORDINARY, "1234567")
FORM = {"branch_code": "001", "account_type": "ordinary", "account_number": "1234567"}


def started() -> Linkage:
    return flow.start(REQUEST, NOW, 1800, "https://sandbox.example/parasol/v1/banks/2011")


def at_identity() -> Linkage:
    return flow.account_entered(started(), FORM, ENTERED)


def at_pin() -> Linkage:
    phone = flow.identified(at_identity(), TARO, ACCOUNT, NOW)
    return flow.phone_checked(flow.to_confirm(phone), verified=True)


def query(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query)


def test_a_new_linkage_waits_on_screen_one_until_its_ttl() -> None:
    linkage = started()
    assert linkage.step == Step.ACCOUNT
    assert linkage.expires_at == NOW + timedelta(seconds=1800)
    assert linkage.version == 0
    assert linkage.linkage_id != linkage.key


def test_steps_walk_in_order_and_keep_what_was_typed() -> None:
    identity = at_identity()
    assert identity.step == Step.IDENTITY
    assert identity.values["account_number"] == "1234567"
    phone = flow.identified(identity, TARO, ACCOUNT, NOW)
    assert (phone.step, phone.customer_id, phone.account_ref) == (
        Step.PHONE,
        "taro",
        "001-ordinary-1234567",
    )
    assert phone.phone_started_at == NOW
    confirm = flow.to_confirm(phone)
    waiting = flow.phone_checked(confirm, verified=False)
    assert (waiting.step, waiting.waiting_for_call) == (Step.CONFIRM, True)
    pin = flow.phone_checked(waiting, verified=True)
    assert (pin.step, pin.waiting_for_call) == (Step.PIN, False)
    assert flow.pin_accepted(pin).step == Step.CONSENT


def test_steps_never_mutate_the_linkage_they_are_given() -> None:
    linkage = started()
    flow.account_entered(linkage, FORM, ENTERED)
    assert linkage.step == Step.ACCOUNT
    assert linkage.values == {}


@pytest.mark.parametrize(
    "step",
    [
        lambda link: flow.identified(link, TARO, ACCOUNT, NOW),
        flow.to_confirm,
        lambda link: flow.phone_checked(link, verified=True),
        flow.pin_accepted,
        flow.approved,
    ],
)
def test_a_step_cannot_be_skipped(step: object) -> None:
    with pytest.raises(StepError):
        step(started())  # type: ignore[operator]


def test_approval_sends_the_code_once_with_state_and_iss() -> None:
    consent = flow.pin_accepted(at_pin())
    done = flow.approved(consent)
    assert done.step == Step.DONE
    assert done.outcome_url is None  # the code is never kept
    params = query(flow.approval_url(done, "the-code"))
    assert params == {
        "code": ["the-code"],
        "state": ["st-1"],
        "iss": ["https://sandbox.example/parasol/v1/banks/2011"],
    }
    with pytest.raises(StepError):
        flow.approved(done)


def test_abort_and_failure_go_back_with_access_denied() -> None:
    aborted = flow.aborted(at_identity())
    assert aborted.step == Step.DONE
    assert query(aborted.outcome_url)["error"] == ["access_denied"]
    assert aborted.error_code is None
    failed = flow.failed(at_identity(), "locked_now")
    assert failed.error_code == "locked_now"
    assert query(failed.outcome_url)["error_description"] == ["locked_now"]
    assert flow.aborted(failed) == failed  # a finished linkage stays as it ended


@pytest.mark.parametrize(
    ("code", "step", "ends"),
    [
        ("wrong_account", Step.ACCOUNT, False),  # back to screen ①
        ("wrong_identity", Step.IDENTITY, False),  # stays, counted elsewhere
        ("congestion", Step.IDENTITY, False),
        ("locked", Step.DONE, True),
        ("pin_locked_now", Step.DONE, True),
        ("phone_window_expired", Step.DONE, True),  # a restart error
        ("session_expired", Step.DONE, True),
    ],
)
def test_an_error_on_screen_two_looks_like_the_real_one(code: str, step: Step, ends: bool) -> None:
    after = flow.after_error(at_identity(), code)
    assert after.step == step
    assert (after.error_code == code) is ends


def test_renewal_changes_id_and_csrf_but_not_the_key() -> None:
    linkage = at_identity()
    renewed = flow.renewed(linkage)
    assert renewed.key == linkage.key
    assert renewed.linkage_id != linkage.linkage_id
    assert renewed.csrf_token != linkage.csrf_token
    flow.check_csrf(renewed, renewed.csrf_token)
    with pytest.raises(SandboxError, match="invalid_form"):
        flow.check_csrf(renewed, linkage.csrf_token)
    with pytest.raises(SandboxError, match="invalid_form"):
        flow.check_csrf(renewed, None)


def test_rules_see_the_account_typed_on_screen_one() -> None:
    assert started().rule_account is None
    assert at_identity().rule_account == "001-1234567"
