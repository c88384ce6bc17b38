"""The linkage flow state machine: account -> identity -> phone -> PIN -> consent.

One ``Linkage`` per authorisation request. Each screen may act only in its own step, so
steps cannot be skipped, replayed or mixed; a finished or failed linkage accepts nothing.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, NoReturn
from urllib.parse import urlencode, urlsplit

from sandbox.clock import jst_date
from sandbox.domain.bank import Account, Customer
from sandbox.domain.directory import account_ref
from sandbox.domain.forms import (
    ACCOUNT_FIELDS,
    IDENTITY_FIELDS,
    AccountInput,
    FieldErrors,
    check_account,
    check_identity,
    check_pin,
)
from sandbox.domain.outbox import completion_mail
from sandbox.errors import SandboxError

if TYPE_CHECKING:
    from sandbox.domain.oauth import AuthRequest
    from sandbox.state import Sandbox


class Step(StrEnum):
    """Where a linkage stands; the screen that may act now."""

    ACCOUNT = "account"  # ① ご利用口座情報入力
    IDENTITY = "identity"  # ② お客様情報入力
    PHONE = "phone"  # ③ 電話番号の確認
    CONFIRM = "confirm"  # ④ 電話番号認証
    PIN = "pin"  # ⑤ キャッシュカード暗証番号認証
    CONSENT = "consent"  # ⑥ 情報連携認可
    DONE = "done"  # back to the app with a code or an error


@dataclass(slots=True)
class Linkage:
    """One customer's walk through the six screens."""

    linkage_id: str
    request: AuthRequest
    created_at: datetime
    expires_at: datetime
    csrf_token: str
    step: Step = Step.ACCOUNT
    account_input: AccountInput | None = None
    customer_id: str | None = None
    account_ref: str | None = None
    challenge_id: str | None = None
    phone_started_at: datetime | None = None
    waiting_for_call: bool = False
    values: dict[str, str] = field(default_factory=dict)  # re-shown in forms; never the PIN
    outcome_url: str | None = None
    error_code: str | None = None
    issuer: str | None = None  # sent back as `iss` (RFC 9207) with every response


class StepError(Exception):
    """A form was posted in the wrong step (replay, skip or a second tab)."""


def redirect_url(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """``redirect_uri`` exactly as registered, with ``params`` appended to its query."""
    extra = urlencode([(k, v) for k, v in params.items() if v is not None])
    if not extra:
        return redirect_uri
    if redirect_uri.endswith(("?", "&")):
        return redirect_uri + extra
    return redirect_uri + ("&" if urlsplit(redirect_uri).query else "?") + extra


# What a wrong attempt of each kind shows: counted, the one that locks, any while locked.
_FAILURE_CODES = {
    "identity": ("wrong_identity", "locked_now", "locked"),
    "pin": ("wrong_pin", "pin_locked_now", "pin_locked"),
}


def _linkage_key(account: Account) -> tuple[str, str]:
    """Lockout key: an account is locked whatever type is typed with its number."""
    return (account.branch_code, account.number)


class LinkageService:
    """Runs linkages for one bank."""

    def __init__(self, sandbox: Sandbox, limit: int = 10_000) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._linkages: dict[str, Linkage] = {}
        self._limit = limit

    # Lifecycle -------------------------------------------------------------

    def start(self, request: AuthRequest, now: datetime, issuer: str | None = None) -> Linkage:
        """A new linkage at screen ①; ``issuer`` goes back to the app as ``iss``."""
        ttl = self._sandbox.scenario.bank.policy.linkage_ttl_seconds
        linkage = Linkage(
            linkage_id=secrets.token_urlsafe(18),
            request=request,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            csrf_token=secrets.token_urlsafe(24),
            issuer=issuer,
        )
        with self._lock:
            self._evict(now)
            self._linkages[linkage.linkage_id] = linkage
        return linkage

    def get(self, linkage_id: str, now: datetime) -> Linkage:
        """The live linkage with this id; session_expired if unknown or timed out."""
        with self._lock:
            linkage = self._linkages.get(linkage_id)
            if linkage is not None and now >= linkage.expires_at:
                del self._linkages[linkage_id]
                linkage = None
        if linkage is None:
            raise SandboxError("session_expired")
        return linkage

    def rotate(self, linkage: Linkage) -> Linkage:
        """Give the linkage a new id and CSRF token (session renewal); the old id dies."""
        with self._lock:
            self._linkages.pop(linkage.linkage_id, None)
            linkage.linkage_id = secrets.token_urlsafe(18)
            linkage.csrf_token = secrets.token_urlsafe(24)
            self._linkages[linkage.linkage_id] = linkage
        return linkage

    def check_csrf(self, linkage: Linkage, token: str | None) -> None:
        """invalid_form unless ``token`` is this linkage's CSRF token."""
        if not token or not hmac.compare_digest(token.encode(), linkage.csrf_token.encode()):
            raise SandboxError("invalid_form", "CSRF token missing or wrong")

    def reset(self) -> None:
        with self._lock:
            self._linkages.clear()

    def __len__(self) -> int:
        return len(self._linkages)

    def _evict(self, now: datetime) -> None:
        """Drop timed-out linkages from the oldest end; past the limit, the oldest at all.

        The dict keeps creation order (a rotated linkage moves to the end), so the scan stops
        at the first live one: amortised O(1) per start.
        """
        while self._linkages:
            oldest = next(iter(self._linkages.values()))
            if now < oldest.expires_at and len(self._linkages) < self._limit:
                return
            del self._linkages[oldest.linkage_id]

    # Steps -----------------------------------------------------------------

    @staticmethod
    def expect(linkage: Linkage, *steps: Step) -> None:
        """StepError unless the linkage stands at one of ``steps``."""
        if linkage.step not in steps:
            raise StepError(f"linkage is at {linkage.step}, not {'/'.join(steps)}")

    def submit_account(self, linkage: Linkage, form: Mapping[str, str]) -> FieldErrors:
        """Screen ①: check the fields and move on to ②."""
        self.expect(linkage, Step.ACCOUNT)
        branches = [b.code for b in self._sandbox.scenario.bank.branches]
        checked, problems = check_account(form, branches)
        linkage.values.update({k: form.get(k, "") for k in ACCOUNT_FIELDS})
        if checked is None:
            return problems
        linkage.account_input = checked
        linkage.step = Step.IDENTITY
        return {}

    def back_to_account(self, linkage: Linkage) -> None:
        """Screen ② → ① (the customer corrects the account)."""
        self.expect(linkage, Step.IDENTITY)
        linkage.step = Step.ACCOUNT

    def submit_identity(
        self, linkage: Linkage, form: Mapping[str, str], now: datetime
    ) -> FieldErrors:
        """Screen ②: fields, then account, lock and identity checks; on success on to ③.

        Raises SandboxError with wrong_account, wrong_identity, locked_now, locked or pin_locked.
        """
        self.expect(linkage, Step.IDENTITY)
        assert linkage.account_input is not None
        for name in IDENTITY_FIELDS:
            linkage.values[name] = form.get(name, "")
        checked, problems = check_identity(form, jst_date(now))
        if checked is None:
            return problems
        sb = self._sandbox
        entered = linkage.account_input
        found = sb.directory.find_account(
            entered.branch_code, entered.account_type, entered.account_number
        )
        if found is None or not found[1].eligible:
            linkage.step = Step.ACCOUNT
            raise SandboxError("wrong_account")
        customer, account = found
        key = _linkage_key(account)
        lock = sb.lockout.lock_state(key, now)
        if lock is not None:
            # A PIN lock says so: it stops API linkage only (FAQ).
            self._fail(linkage, "pin_locked" if lock.kind == "pin" else "locked")
        if checked.birth_date != customer.birth_date or checked.phone != customer.phone:
            self._failed_attempt(linkage, "identity", key, now)
        sb.lockout.record_success("identity", key, now)
        linkage.customer_id = customer.customer_id
        linkage.account_ref = account_ref(account)
        linkage.step = Step.PHONE
        self._start_call(linkage, customer, now)
        return {}

    def _start_call(self, linkage: Linkage, customer: Customer, now: datetime) -> None:
        sb = self._sandbox
        challenge = sb.phone.start(
            linkage.linkage_id, customer.phone, sb.scenario.bank.auth_phone_number, now
        )
        linkage.challenge_id = challenge.challenge_id
        linkage.phone_started_at = now

    def to_confirm(self, linkage: Linkage) -> None:
        """Screen ③ 次へ → ④."""
        self.expect(linkage, Step.PHONE)
        linkage.step = Step.CONFIRM

    def simulate_call(self, linkage: Linkage, now: datetime) -> str:
        """The sandbox-only button of ④: the registered phone calls the auth number."""
        self.expect(linkage, Step.PHONE, Step.CONFIRM)
        customer = self.customer(linkage)
        result = self._sandbox.phone.record_call(
            customer.phone, self._sandbox.scenario.bank.auth_phone_number, now
        )
        if result.verified:
            linkage.waiting_for_call = False
        return result.outcome

    def confirm_phone(self, linkage: Linkage, now: datetime) -> bool:
        """Screen ④ 確定する: True when verified; False while waiting; expired fails the linkage."""
        self.expect(linkage, Step.PHONE, Step.CONFIRM)
        assert linkage.challenge_id is not None
        status = self._sandbox.phone.status(linkage.challenge_id, now)
        if status == "verified":
            linkage.step = Step.PIN
            linkage.waiting_for_call = False
            return True
        if status == "waiting":
            linkage.step = Step.CONFIRM
            linkage.waiting_for_call = True
            return False
        self._fail(linkage, "phone_window_expired")

    def submit_pin(self, linkage: Linkage, form: Mapping[str, str], now: datetime) -> FieldErrors:
        """Screen ⑤: the cash card PIN; wrong ones count towards the lock."""
        self.expect(linkage, Step.PIN)
        pin, problems = check_pin(form)
        if pin is None:
            return problems
        sb = self._sandbox
        _, account = self.customer_account(linkage)
        key = _linkage_key(account)
        lock = sb.lockout.lock_state(key, now)
        if lock is not None:
            self._fail(linkage, "pin_locked")
        if not hmac.compare_digest(pin.encode(), account.pin.encode()):
            self._failed_attempt(linkage, "pin", key, now)
        sb.lockout.record_success("pin", key, now)
        linkage.step = Step.CONSENT
        return {}

    def decide(self, linkage: Linkage, approve: bool, now: datetime) -> str:
        """Screen ⑥: the URL back to the app, with a code (approve) or access_denied."""
        self.expect(linkage, Step.CONSENT)
        if not approve:
            return self.abort(linkage, "the customer denied the consent")
        sb = self._sandbox
        customer = self.customer(linkage)
        assert linkage.account_ref is not None
        code = sb.oauth.issue_code(
            linkage.request, customer.customer_id, (linkage.account_ref,), now
        )
        client = sb.oauth.client(linkage.request.client_id)
        subject, body = completion_mail(
            sb.scenario.bank.name,
            client.name if client else linkage.request.client_id,
            customer.name_kana,
            now,
        )
        sb.outbox.send(
            sender=sb.scenario.bank.mail_from,
            to=linkage.values.get("email") or customer.email,
            subject=subject,
            body=body,
            client_id=linkage.request.client_id,
            now=now,
        )
        url = self._finish(linkage, {"code": code, "state": linkage.request.state})
        linkage.outcome_url = None  # the code goes out once; the linkage does not keep it
        return url

    def abort(self, linkage: Linkage, description: str = "the customer aborted the linkage") -> str:
        """中止する (or a terminal error acknowledged): back to the app with access_denied."""
        if linkage.outcome_url is not None:
            return linkage.outcome_url
        return self._finish(
            linkage,
            {
                "error": "access_denied",
                "error_description": description,
                "state": linkage.request.state,
            },
        )

    def error_redirect(self, linkage: Linkage, oauth_error: str, description: str) -> str:
        """Back to the app with an OAuth error (e.g. temporarily_unavailable)."""
        return self._finish(
            linkage,
            {
                "error": oauth_error,
                "error_description": description,
                "state": linkage.request.state,
            },
        )

    def _finish(self, linkage: Linkage, params: Mapping[str, str | None]) -> str:
        linkage.step = Step.DONE
        linkage.outcome_url = redirect_url(
            linkage.request.redirect_uri, {**params, "iss": linkage.issuer}
        )
        if linkage.challenge_id is not None:
            self._sandbox.phone.cancel(linkage.challenge_id)
        return linkage.outcome_url

    def _failed_attempt(
        self,
        linkage: Linkage,
        kind: Literal["identity", "pin"],
        key: tuple[str, str],
        now: datetime,
    ) -> NoReturn:
        """Count a wrong identity or PIN: say so, or end the linkage once it locks."""
        wrong, locked_now, locked = _FAILURE_CODES[kind]
        verdict = self._sandbox.lockout.record_failure(kind, key, now)
        if verdict == "counted":
            raise SandboxError(wrong)
        self._fail(linkage, locked_now if verdict == "locked_now" else locked)

    def _fail(self, linkage: Linkage, code: str) -> NoReturn:
        """End the linkage with a terminal catalog error (the customer must start again)."""
        linkage.error_code = code
        self._finish(
            linkage,
            {"error": "access_denied", "error_description": code, "state": linkage.request.state},
        )
        raise SandboxError(code)

    # Lookups ---------------------------------------------------------------

    def customer(self, linkage: Linkage) -> Customer:
        return self.customer_account(linkage)[0]

    def customer_account(self, linkage: Linkage) -> tuple[Customer, Account]:
        """The identified customer and account (after screen ②)."""
        entered = linkage.account_input
        if entered is None or linkage.customer_id is None:
            raise StepError("no customer identified yet")
        found = self._sandbox.directory.find_account(
            entered.branch_code, entered.account_type, entered.account_number
        )
        if found is None or found[0].customer_id != linkage.customer_id:
            raise SandboxError("wrong_account")
        return found
