"""Field rules of screens ①, ② and ⑤, before any bank lookup."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox import ui_text
from sandbox.domain.bank import AccountType
from sandbox.domain.forms import check_account, check_identity, check_pin

TODAY = date(2026, 11, 25)
IDENTITY = {
    "name_kana": "ﾃﾞｰﾀ ﾀﾛｳ",
    "birth_year": "1980",
    "birth_month": "01",
    "birth_day": "01",
    "phone": "090-1234-5678",
    "email": "taro@example.jp",
    "email_confirm": "taro@example.jp",
}


def test_account_accepted_with_its_parts() -> None:
    form = {"branch_code": "001", "account_type": "savings", "account_number": "1234567"}
    checked, problems = check_account(form, ["001", "002"])
    assert problems == {}
    assert checked is not None
    assert (checked.branch_code, checked.account_type, checked.account_number) == (
        "001",
        AccountType.SAVINGS,
        "1234567",
    )


def test_account_every_empty_field_is_required() -> None:
    checked, problems = check_account({"branch_code": " "}, ["001"])
    assert checked is None
    assert problems == {
        "branch_code": ui_text.FIELD_REQUIRED,
        "account_type": ui_text.FIELD_REQUIRED,
        "account_number": ui_text.FIELD_REQUIRED,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("branch_code", "999", ui_text.BRANCH_INVALID),
        ("account_type", "current", ui_text.ACCOUNT_TYPE_INVALID),
        ("account_number", "123456", ui_text.ACCOUNT_NUMBER_INVALID),
        ("account_number", "１２３４５６７", ui_text.ACCOUNT_NUMBER_INVALID),  # full-width digits
    ],
)
def test_account_field_formats(field: str, value: str, message: str) -> None:
    form = {"branch_code": "001", "account_type": "ordinary", "account_number": "1234567"}
    _, problems = check_account({**form, field: value}, ["001"])
    assert problems == {field: message}


def test_identity_accepted_with_digits_only_phone() -> None:
    checked, problems = check_identity(IDENTITY, TODAY)
    assert problems == {}
    assert checked is not None
    assert checked.birth_date == date(1980, 1, 1)
    assert checked.phone == "09012345678"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name_kana": "データ タロウ"}, "name_kana", ui_text.NAME_NOT_HALFWIDTH_KANA),
        ({"birth_day": "31", "birth_month": "02"}, "birth_day", ui_text.DATE_INVALID),
        ({"birth_year": "2027"}, "birth_day", ui_text.DATE_INVALID),  # after today
        ({"phone": "090-1234"}, "phone", ui_text.PHONE_INVALID),
        ({"email": "taro@@example"}, "email", ui_text.EMAIL_INVALID),
        ({"email_confirm": "jiro@example.jp"}, "email_confirm", ui_text.EMAIL_MISMATCH),
        ({"email": ""}, "email", ui_text.FIELD_REQUIRED),
    ],
)
def test_identity_field_rules(changes: dict[str, str], field: str, message: str) -> None:
    checked, problems = check_identity({**IDENTITY, **changes}, TODAY)
    assert checked is None
    assert problems[field] == message


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("1234", ("1234", {})),
        ("", (None, {"pin": ui_text.FIELD_REQUIRED})),
        ("123", (None, {"pin": ui_text.PIN_INVALID})),
        ("12a4", (None, {"pin": ui_text.PIN_INVALID})),
    ],
)
def test_pin_is_four_half_width_digits(pin: str, expected: tuple[object, object]) -> None:
    assert check_pin({"pin": pin}) == expected
