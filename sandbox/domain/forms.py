"""Field checks of screens ① and ② (what the customer typed, before any bank lookup)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from sandbox import ui_text
from sandbox.domain.bank import LINKABLE_TYPES, AccountType, is_valid_phone, normalize_phone

_HALF_KANA = re.compile(r"^[\uff66-\uff9f\uff61-\uff65 ]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE_CHARS = re.compile(r"^[0-9-]+$")

ACCOUNT_FIELDS = ("branch_code", "account_type", "account_number")
IDENTITY_FIELDS = (
    "name_kana",
    "birth_year",
    "birth_month",
    "birth_day",
    "phone",
    "email",
    "email_confirm",
)


@dataclass(frozen=True, slots=True)
class AccountInput:
    """Screen ①, checked."""

    branch_code: str
    account_type: AccountType
    account_number: str


@dataclass(frozen=True, slots=True)
class IdentityInput:
    """Screen ②, checked."""

    name_kana: str
    birth_date: date
    phone: str  # digits only
    email: str


FieldErrors = dict[str, str]


def _required(form: Mapping[str, str], names: tuple[str, ...]) -> FieldErrors:
    return {n: ui_text.FIELD_REQUIRED for n in names if not form.get(n, "").strip()}


def check_account(
    form: Mapping[str, str], branch_codes: Collection[str]
) -> tuple[AccountInput | None, FieldErrors]:
    """Screen ①'s fields, or the message of each wrong one."""
    problems = _required(form, ACCOUNT_FIELDS)
    branch = form.get("branch_code", "").strip()
    kind = form.get("account_type", "").strip()
    number = form.get("account_number", "").strip()
    if "branch_code" not in problems and branch not in branch_codes:
        problems["branch_code"] = ui_text.BRANCH_INVALID
    if "account_type" not in problems and kind not in {t.value for t in LINKABLE_TYPES}:
        problems["account_type"] = ui_text.ACCOUNT_TYPE_INVALID
    if "account_number" not in problems and not (
        number.isascii() and number.isdigit() and len(number) == 7
    ):
        problems["account_number"] = ui_text.ACCOUNT_NUMBER_INVALID
    if problems:
        return None, problems
    return AccountInput(branch, AccountType(kind), number), {}


def check_identity(
    form: Mapping[str, str], today: date
) -> tuple[IdentityInput | None, FieldErrors]:
    """Screen ②'s fields, or the message of each wrong one."""
    problems = _required(form, IDENTITY_FIELDS)
    name = form.get("name_kana", "").strip()
    if "name_kana" not in problems and not _HALF_KANA.match(name):
        problems["name_kana"] = ui_text.NAME_NOT_HALFWIDTH_KANA
    birth = _birth_date(form, today)
    if birth is None and not problems.keys() & {"birth_year", "birth_month", "birth_day"}:
        problems["birth_day"] = ui_text.DATE_INVALID
    phone_text = form.get("phone", "").strip()
    phone = normalize_phone(phone_text)
    if "phone" not in problems and not (_PHONE_CHARS.match(phone_text) and is_valid_phone(phone)):
        problems["phone"] = ui_text.PHONE_INVALID
    email = form.get("email", "").strip()
    confirm = form.get("email_confirm", "").strip()
    if "email" not in problems and not (email.isascii() and _EMAIL.match(email)):
        problems["email"] = ui_text.EMAIL_INVALID
    if not problems.keys() & {"email", "email_confirm"} and email != confirm:
        problems["email_confirm"] = ui_text.EMAIL_MISMATCH
    if problems or birth is None:
        return None, problems
    return IdentityInput(name, birth, phone, email), {}


def _birth_date(form: Mapping[str, str], today: date) -> date | None:
    parts = [form.get(name, "") for name in ("birth_year", "birth_month", "birth_day")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        return None
    try:
        born = date(*(int(p) for p in parts))
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= today else None


def check_pin(form: Mapping[str, str]) -> tuple[str | None, FieldErrors]:
    """Screen ⑤'s PIN: exactly four half-width digits."""
    pin = form.get("pin", "")
    if not pin:
        return None, {"pin": ui_text.FIELD_REQUIRED}
    if not (pin.isascii() and pin.isdigit() and len(pin) == 4):
        return None, {"pin": ui_text.PIN_INVALID}
    return pin, {}
