"""Running linkages of one bank: load, apply a step of domain/linkage, save with a version.

Every step saves the linkage it produced; the store refuses a save from a stale copy (a
second tab, a double click that raced), which answers like any out-of-order form.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, NoReturn

from sandbox.clock import jst_date
from sandbox.domain import linkage as flow
from sandbox.domain.bank import Account, Customer
from sandbox.domain.directory import Directory
from sandbox.domain.forms import (
    ACCOUNT_FIELDS,
    FieldErrors,
    check_account,
    check_identity,
    check_pin,
)
from sandbox.domain.linkage import BankProfile, Linkage, LinkageFailed, StepError
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.domain.outbox import completion_mail
from sandbox.domain.phone import CallOutcome
from sandbox.domain.records import Mail
from sandbox.errors import SandboxError
from sandbox.steps import Step
from sandbox.store.base import LinkageStore, RecordStore
from sandbox.tenant.authorization import AuthorizationServer
from sandbox.tenant.lockout import LockoutBook
from sandbox.tenant.phone import PhoneVerifier


def lock_key(account: Account) -> str:
    """Lockout key: an account is locked whatever type is typed with its number."""
    return f"{account.branch_code}-{account.number}"


RETRY_LINKAGE_QUOTA = 30  # seconds: a linkage in progress ends at the latest with its window


class LinkageService:
    """The six screens' actions for one bank."""

    def __init__(
        self,
        store: LinkageStore,
        profile: BankProfile,
        directory: Directory,
        *,
        lockout: LockoutBook,
        phone: PhoneVerifier,
        oauth: AuthorizationServer,
        records: RecordStore,
        id_prefix: str = "",
    ) -> None:
        self._store = store
        self._id_prefix = id_prefix
        self.profile = profile
        self._directory = directory
        self._lockout = lockout
        self._phone = phone
        self._oauth = oauth
        self._records = records

    # Lifecycle -------------------------------------------------------------

    async def start(
        self,
        request: AuthRequest,
        now: datetime,
        issuer: str | None,
        per_client: int | None = None,
    ) -> Linkage:
        """A new linkage at screen ①; ``issuer`` goes back to the app as ``iss``.

        ``per_client`` (hosted mode's quota) bounds the linkages one client has in
        progress: past it, rate_limited, and no other linkage is dropped to make room.
        """
        linkage = flow.start(
            request, now, self.profile.linkage_ttl_seconds, issuer, self._id_prefix
        )
        if not await self._store.add_linkage(linkage, now, per_client):
            raise SandboxError(
                "rate_limited",
                f"client {request.client_id!r} already has {per_client} linkages in progress "
                "(the workspace's quota); finish or abandon some first",
                retry_after=RETRY_LINKAGE_QUOTA,
            )
        return linkage

    async def get(self, linkage_id: str, now: datetime) -> Linkage:
        """The live linkage with this id; session_expired if unknown or timed out."""
        linkage = await self._store.find_linkage(linkage_id)
        if linkage is not None and now >= linkage.expires_at:
            await self._store.drop_linkage(linkage.key)
            linkage = None
        if linkage is None:
            raise SandboxError("session_expired")
        return linkage

    async def linkages(self) -> list[Linkage]:
        return await self._store.linkages()

    async def _save(self, linkage: Linkage) -> Linkage:
        saved = await self._store.save_linkage(linkage)
        if saved is None:
            raise StepError("this screen was already used (the linkage moved on)")
        if saved.step == Step.DONE and saved.challenge_id is not None:
            await self._phone.cancel(saved.challenge_id)
        return saved

    async def rotate(self, linkage: Linkage) -> Linkage:
        """Give the linkage a new id and CSRF token (session renewal); the old id dies."""
        return await self._save(flow.renewed(linkage, self._id_prefix))

    @staticmethod
    def check_csrf(linkage: Linkage, token: str | None) -> None:
        """invalid_form unless ``token`` is this linkage's CSRF token."""
        flow.check_csrf(linkage, token)

    # Steps -----------------------------------------------------------------

    async def submit_account(
        self, linkage: Linkage, form: Mapping[str, str]
    ) -> tuple[Linkage, FieldErrors]:
        """Screen ①: check the fields and move on to ②."""
        flow.expect(linkage, Step.ACCOUNT)
        checked, problems = check_account(form, self.profile.branch_codes)
        if checked is None:
            return await self._save(flow.remember(linkage, form, ACCOUNT_FIELDS)), problems
        return await self._save(flow.account_entered(linkage, form, checked)), {}

    async def back_to_account(self, linkage: Linkage) -> Linkage:
        """Screen ② → ① (the customer corrects the account)."""
        return await self._save(flow.back_to_account(linkage))

    async def submit_identity(
        self, linkage: Linkage, form: Mapping[str, str], now: datetime
    ) -> tuple[Linkage, FieldErrors]:
        """Screen ②: fields, then account, lock and identity checks; on success on to ③.

        Raises LinkageFailed with wrong_account, wrong_identity, locked_now, locked or
        pin_locked.
        """
        typed = flow.identity_typed(linkage, form)
        checked, problems = check_identity(form, jst_date(now))
        if checked is None:
            return await self._save(typed), problems
        entered = typed.account_input
        assert entered is not None
        found = self._directory.find_account(
            entered.branch_code, entered.account_type, entered.account_number
        )
        if found is None or not found[1].eligible:
            await self._refuse(flow.after_error(typed, "wrong_account"), "wrong_account")
        customer, account = found
        key = lock_key(account)
        lock = await self._lockout.lock_state(key, now)
        if lock is not None:
            # A PIN lock says so: it stops API linkage only (FAQ).
            await self._end(typed, "pin_locked" if lock.kind == "pin" else "locked")
        if checked.birth_date != customer.birth_date or checked.phone != customer.phone:
            await self._failed_attempt(typed, "identity", key, now)
        await self._lockout.record_success("identity", key, now)
        moved = flow.identified(typed, customer, account, now)
        assert moved.challenge_id is not None
        await self._phone.start(
            moved.challenge_id, customer.phone, self.profile.auth_phone_number, now
        )
        return await self._save(moved), {}

    async def to_confirm(self, linkage: Linkage) -> Linkage:
        """Screen ③ 次へ → ④."""
        return await self._save(flow.to_confirm(linkage))

    async def simulate_call(self, linkage: Linkage, now: datetime) -> tuple[Linkage, CallOutcome]:
        """The sandbox-only button of ④: the registered phone calls the auth number."""
        flow.expect(linkage, Step.PHONE, Step.CONFIRM)
        customer = self.customer(linkage)
        result = await self._phone.record_call(customer.phone, self.profile.auth_phone_number, now)
        if result.verified:
            linkage = await self._save(flow.call_received(linkage))
        return linkage, result.outcome

    async def confirm_phone(self, linkage: Linkage, now: datetime) -> tuple[Linkage, bool]:
        """Screen ④ 確定する: True when verified; False while waiting; expired fails."""
        flow.expect(linkage, Step.PHONE, Step.CONFIRM)
        assert linkage.challenge_id is not None
        status = await self._phone.status(linkage.challenge_id, now)
        if status in ("verified", "waiting"):
            verified = status == "verified"
            return await self._save(flow.phone_checked(linkage, verified)), verified
        await self._end(linkage, "phone_window_expired")

    async def submit_pin(
        self, linkage: Linkage, form: Mapping[str, str], now: datetime
    ) -> tuple[Linkage, FieldErrors]:
        """Screen ⑤: the cash card PIN; wrong ones count towards the lock."""
        flow.expect(linkage, Step.PIN)
        pin, problems = check_pin(form)
        if pin is None:
            return linkage, problems
        _, account = self.customer_account(linkage)
        key = lock_key(account)
        if await self._lockout.lock_state(key, now) is not None:
            await self._end(linkage, "pin_locked")
        if not hmac.compare_digest(pin.encode(), account.pin.encode()):
            await self._failed_attempt(linkage, "pin", key, now)
        await self._lockout.record_success("pin", key, now)
        return await self._save(flow.pin_accepted(linkage)), {}

    async def decide(self, linkage: Linkage, approve: bool, now: datetime) -> str:
        """Screen ⑥: the URL back to the app, with a code (approve) or access_denied."""
        flow.expect(linkage, Step.CONSENT)
        if not approve:
            return await self.abort(linkage, "the customer denied the consent")
        customer = self.customer(linkage)
        assert linkage.account_ref is not None
        # The step is taken (saved) first: of two racing approvals only one issues a code.
        # Then the linkage is forgotten: a finished one answers like an unknown one anyway.
        done = await self._save(flow.approved(linkage))
        await self._store.drop_linkage(done.key)
        code = await self.complete(
            done.request,
            customer,
            done.account_ref or "",
            done.values.get("email") or customer.email,
            now,
        )
        return flow.approval_url(done, code)

    async def complete(
        self, request: AuthRequest, customer: Customer, account_ref: str, email: str, now: datetime
    ) -> str:
        """A consented linkage: a fresh code for ``request``, and the completion mail."""
        code = await self._oauth.issue_code(request, customer.customer_id, (account_ref,), now)
        client = self._oauth.client(request.client_id)
        subject, body = completion_mail(
            self.profile.name, client.name if client else request.client_id, customer.name_kana, now
        )
        await self._records.send_mail(
            Mail(
                sent_at=now,
                sender=self.profile.mail_from,
                to=email,
                subject=subject,
                body=body,
                client_id=request.client_id,
            )
        )
        return code

    async def abort(
        self, linkage: Linkage, description: str = "the customer aborted the linkage"
    ) -> str:
        """中止する (or a terminal error acknowledged): back to the app with access_denied."""
        if linkage.outcome_url is not None:
            return linkage.outcome_url
        done = await self._save(flow.aborted(linkage, description))
        assert done.outcome_url is not None
        return done.outcome_url

    async def after_error(self, linkage: Linkage, code: str) -> Linkage:
        """Apply a catalog error served on the linkage's screen (see domain.after_error)."""
        changed = flow.after_error(linkage, code)
        return linkage if changed == linkage else await self._save(changed)

    async def _failed_attempt(
        self, linkage: Linkage, kind: Literal["identity", "pin"], key: str, now: datetime
    ) -> NoReturn:
        """Count a wrong identity or PIN: say so, or end the linkage once it locks."""
        wrong, locked_now, locked = flow.FAILURE_CODES[kind]
        verdict = await self._lockout.record_failure(kind, key, now)
        if verdict == "counted":
            await self._refuse(linkage, wrong)
        await self._end(linkage, locked_now if verdict == "locked_now" else locked)

    async def _end(self, linkage: Linkage, code: str) -> NoReturn:
        """End the linkage with a terminal catalog error (the customer must start again)."""
        await self._refuse(flow.failed(linkage, code), code)

    async def _refuse(self, linkage: Linkage, code: str) -> NoReturn:
        """Save ``linkage`` and raise ``code`` with it."""
        raise LinkageFailed(code, await self._save(linkage))

    # Lookups ---------------------------------------------------------------

    def customer(self, linkage: Linkage) -> Customer:
        return self.customer_account(linkage)[0]

    def customer_account(self, linkage: Linkage) -> tuple[Customer, Account]:
        """The identified customer and account (after screen ②)."""
        entered = linkage.account_input
        if entered is None or linkage.customer_id is None:
            raise StepError("no customer identified yet")
        found = self._directory.find_account(
            entered.branch_code, entered.account_type, entered.account_number
        )
        if found is None or found[0].customer_id != linkage.customer_id:
            raise SandboxError("wrong_account")
        return found
