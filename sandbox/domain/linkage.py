"""The linkage flow state machine: account -> identity -> phone -> PIN -> consent.

One :class:`Linkage` per authorisation request, an immutable value. Each function here takes
a linkage and returns the next one; the tenant layer loads it from the store, applies one of
these, and saves it with a version check. Each screen may act only in its own step, so steps
cannot be skipped, replayed or mixed; a finished or failed linkage accepts nothing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sandbox.copies import replace
from sandbox.domain.bank import Account, Customer
from sandbox.domain.directory import account_ref
from sandbox.domain.forms import ACCOUNT_FIELDS, IDENTITY_FIELDS, AccountInput
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.errors import CATALOG, SandboxError
from sandbox.steps import Step

# Catalog codes that end a linkage when they are served on a screen (the customer restarts).
ENDS_LINKAGE = frozenset({"locked_now", "locked", "pin_locked_now", "pin_locked"})
# What a wrong attempt of each kind shows: counted, the one that locks, any while locked.
FAILURE_CODES = {
    "identity": ("wrong_identity", "locked_now", "locked"),
    "pin": ("wrong_pin", "pin_locked_now", "pin_locked"),
}


@dataclass(frozen=True, slots=True)
class BankProfile:
    """What the linkage needs to know of its bank (from the scenario), frozen."""

    code: str
    name: str
    auth_phone_number: str
    mail_from: str
    branches: tuple[tuple[str, str], ...]  # (code, name)
    linkage_ttl_seconds: int
    phone_window_seconds: int
    call_button: bool

    @property
    def branch_codes(self) -> list[str]:
        return [code for code, _ in self.branches]

    def branch_name(self, code: str) -> str:
        """The branch's name, or ``code`` itself for a branch the bank does not have."""
        for known, name in reversed(self.branches):  # the last of a code, as dict() keeps
            if known == code:
                return name
        return code


@dataclass(frozen=True, slots=True)
class Linkage:
    """One customer's walk through the six screens.

    ``key`` never changes; ``linkage_id`` (in the screen URLs and the session) is renewed
    after ② and at consent. ``version`` counts saves, for the store's version check.
    """

    key: str
    linkage_id: str
    request: AuthRequest
    created_at: datetime
    expires_at: datetime
    csrf_token: str
    version: int = 0
    step: Step = Step.ACCOUNT
    account_input: AccountInput | None = None
    customer_id: str | None = None
    account_ref: str | None = None
    challenge_id: str | None = None
    phone_started_at: datetime | None = None
    waiting_for_call: bool = False
    values: Mapping[str, str] = field(default_factory=dict)  # re-shown in forms; never the PIN
    outcome_url: str | None = None
    error_code: str | None = None
    issuer: str | None = None  # sent back as `iss` (RFC 9207) with every response

    @property
    def client_id(self) -> str:
        return self.request.client_id

    @property
    def rule_account(self) -> str | None:
        """``branch-number`` of the account entered on ①, as rules match it."""
        entered = self.account_input
        return f"{entered.branch_code}-{entered.account_number}" if entered else None


class StepError(Exception):
    """A form was posted in the wrong step (replay, skip, a second tab or a stale screen)."""


class LinkageFailed(SandboxError):
    """A catalog error on a screen; ``linkage`` is the linkage as saved after it."""

    def __init__(self, code: str, linkage: Linkage, *, retry_after: int | None = None) -> None:
        super().__init__(code, retry_after=retry_after)
        self.linkage = linkage


def redirect_url(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """``redirect_uri`` exactly as registered, with ``params`` appended to its query."""
    extra = urlencode([(k, v) for k, v in params.items() if v is not None])
    if not extra:
        return redirect_uri
    if redirect_uri.endswith(("?", "&")):
        return redirect_uri + extra
    return redirect_uri + ("&" if urlsplit(redirect_uri).query else "?") + extra


# Lifecycle ---------------------------------------------------------------------------


def start(
    request: AuthRequest,
    now: datetime,
    ttl_seconds: int,
    issuer: str | None,
    id_prefix: str = "",
) -> Linkage:
    """A new linkage at screen ①; ``issuer`` goes back to the app as ``iss``.

    ``id_prefix`` starts the public id (hosted mode: the workspace, so the screens find it).
    """
    return Linkage(
        key=secrets.token_urlsafe(12),
        linkage_id=id_prefix + secrets.token_urlsafe(18),
        request=request,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        csrf_token=secrets.token_urlsafe(24),
        issuer=issuer,
    )


def renewed(linkage: Linkage, id_prefix: str = "") -> Linkage:
    """A new linkage id and CSRF token (session renewal); the old id dies."""
    return replace(
        linkage,
        linkage_id=id_prefix + secrets.token_urlsafe(18),
        csrf_token=secrets.token_urlsafe(24),
    )


def check_csrf(linkage: Linkage, token: str | None) -> None:
    """invalid_form unless ``token`` is this linkage's CSRF token."""
    if not token or not hmac.compare_digest(token.encode(), linkage.csrf_token.encode()):
        raise SandboxError("invalid_form", "CSRF token missing or wrong")


def expect(linkage: Linkage, *steps: Step) -> None:
    """StepError unless the linkage stands at one of ``steps``."""
    if linkage.step not in steps:
        raise StepError(f"linkage is at {linkage.step}, not {'/'.join(steps)}")


def remember(linkage: Linkage, form: Mapping[str, str], names: tuple[str, ...]) -> Linkage:
    """Keep what the customer typed in ``names`` to show it again."""
    return replace(linkage, values={**linkage.values, **{n: form.get(n, "") for n in names}})


# Steps -------------------------------------------------------------------------------


def account_entered(linkage: Linkage, form: Mapping[str, str], checked: AccountInput) -> Linkage:
    """Screen ① accepted: on to ②."""
    expect(linkage, Step.ACCOUNT)
    kept = remember(linkage, form, ACCOUNT_FIELDS)
    return replace(kept, account_input=checked, step=Step.IDENTITY)


def back_to_account(linkage: Linkage) -> Linkage:
    """Screen ② → ① (the customer corrects the account)."""
    expect(linkage, Step.IDENTITY)
    return replace(linkage, step=Step.ACCOUNT)


def identity_typed(linkage: Linkage, form: Mapping[str, str]) -> Linkage:
    """Screen ② posted: keep the fields to show again."""
    expect(linkage, Step.IDENTITY)
    return remember(linkage, form, IDENTITY_FIELDS)


def identified(linkage: Linkage, customer: Customer, account: Account, now: datetime) -> Linkage:
    """Screen ② passed: the customer is known, the phone wait (③) begins."""
    expect(linkage, Step.IDENTITY)
    return replace(
        linkage,
        customer_id=customer.customer_id,
        account_ref=account_ref(account),
        step=Step.PHONE,
        challenge_id=linkage.key,
        phone_started_at=now,
    )


def to_confirm(linkage: Linkage) -> Linkage:
    """Screen ③ 次へ → ④."""
    expect(linkage, Step.PHONE)
    return replace(linkage, step=Step.CONFIRM)


def phone_checked(linkage: Linkage, verified: bool) -> Linkage:
    """Screen ④ 確定する: on to ⑤ when verified, else waiting for the call on ④."""
    expect(linkage, Step.PHONE, Step.CONFIRM)
    if verified:
        return replace(linkage, step=Step.PIN, waiting_for_call=False)
    return replace(linkage, step=Step.CONFIRM, waiting_for_call=True)


def call_received(linkage: Linkage) -> Linkage:
    """The sandbox-only call button of ④ reached the bank in time."""
    expect(linkage, Step.PHONE, Step.CONFIRM)
    return replace(linkage, waiting_for_call=False)


def pin_accepted(linkage: Linkage) -> Linkage:
    """Screen ⑤ passed: on to the consent ⑥."""
    expect(linkage, Step.PIN)
    return replace(linkage, step=Step.CONSENT)


def finish(linkage: Linkage, params: Mapping[str, str | None]) -> Linkage:
    """Done: the URL back to the app carries ``params`` (and ``iss``)."""
    url = redirect_url(linkage.request.redirect_uri, {**params, "iss": linkage.issuer})
    return replace(linkage, step=Step.DONE, outcome_url=url)


def approved(linkage: Linkage) -> Linkage:
    """Screen ⑥ 許可する: done; the code goes out once, so the linkage keeps no URL."""
    expect(linkage, Step.CONSENT)
    return replace(linkage, step=Step.DONE, outcome_url=None)


def approval_url(linkage: Linkage, code: str) -> str:
    """The redirect back to the app with the code (and ``state``, ``iss``)."""
    params = {"code": code, "state": linkage.request.state, "iss": linkage.issuer}
    return redirect_url(linkage.request.redirect_uri, params)


def aborted(linkage: Linkage, description: str = "the customer aborted the linkage") -> Linkage:
    """中止する, a denied consent or a terminal error acknowledged: access_denied."""
    if linkage.step == Step.DONE:
        return linkage
    return finish(
        linkage,
        {
            "error": "access_denied",
            "error_description": description,
            "state": linkage.request.state,
        },
    )


def failed(linkage: Linkage, code: str) -> Linkage:
    """End the linkage with a terminal catalog error (the customer must start again)."""
    ended = finish(
        linkage,
        {"error": "access_denied", "error_description": code, "state": linkage.request.state},
    )
    return replace(ended, error_code=code)


def after_error(linkage: Linkage, code: str) -> Linkage:
    """The linkage after a catalog error served on its screen, injected or genuine.

    An injected error must look like the real one: locks and restart errors end the
    linkage, wrong_account sends the customer back to screen ①.
    """
    if linkage.step == Step.DONE:
        return linkage
    if CATALOG[code].restart or code in ENDS_LINKAGE:
        return failed(linkage, code)
    if code == "wrong_account" and linkage.step == Step.IDENTITY:
        return replace(linkage, step=Step.ACCOUNT)
    return linkage
