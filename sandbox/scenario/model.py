"""The typed scenario schema (pydantic v2, unknown keys forbidden); exports JSON Schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from sandbox.domain.bank import AccountType, is_valid_phone, normalize_phone
from sandbox.domain.postings import MAX_YEN
from sandbox.errors import INJECTABLE
from sandbox.steps import RULE_STEPS, Step

# Digit strings must be quoted in YAML: strict strings refuse the int an unquoted value becomes.
BankCode = Annotated[StrictStr, Field(pattern=r"^\d{4}$", examples=["2011"])]
BranchCode = Annotated[StrictStr, Field(pattern=r"^\d{3}$", examples=["001"])]
AccountNumber = Annotated[StrictStr, Field(pattern=r"^\d{7}$", examples=["1234567"])]
Pin = Annotated[StrictStr, Field(pattern=r"^\d{4}$", examples=["1234"])]
# Upper bounds keep every date computed from a scenario, and every amount, representable.
MAX_TTL_SECONDS = 10 * 366 * 86400  # ten years
HalfWidthKana = Annotated[StrictStr, Field(pattern=r"^[\uff66-\uff9f ]+$", examples=["ﾃﾞｰﾀ ﾀﾛｳ"])]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_phone(value: str) -> str:
    digits = normalize_phone(value)
    if not is_valid_phone(digits):
        raise ValueError(
            "not a Japanese phone number: 10 digits starting 0 (fixed line) or "
            "11 digits starting 050/070/080/090 (mobile), hyphens allowed"
        )
    return value


class BranchModel(_Model):
    code: BranchCode
    name: StrictStr


class Policy(_Model):
    """Limits and lifetimes of the bank's authorisation server."""

    identity_attempt_limit: StrictInt = Field(3, ge=1, le=100)
    pin_attempt_limit: StrictInt = Field(3, ge=1, le=100)
    phone_window_seconds: StrictInt = Field(120, ge=1, le=3600)
    code_ttl_seconds: StrictInt = Field(60, ge=1, le=3600)
    linkage_ttl_seconds: StrictInt = Field(1800, ge=60, le=86400)
    access_token_ttl_seconds: StrictInt = Field(3600, ge=1, le=MAX_TTL_SECONDS)
    refresh_token_ttl_seconds: StrictInt = Field(90 * 86400, ge=1, le=MAX_TTL_SECONDS)
    reauth_period_days: StrictInt = Field(90, ge=1, le=3650)
    statement_months: StrictInt = Field(3, ge=1, le=24)
    max_statement_days: StrictInt = Field(93, ge=1, le=800)
    sandbox_call_button: StrictBool = True


class BankModel(_Model):
    code: BankCode = "2011"
    name: StrictStr = "ぐんまみらい信用組合"
    auth_phone_number: StrictStr = "0120-86-3713"
    mail_from: StrictStr = "api-renkei@webcenter.anser.or.jp"
    branches: list[BranchModel] = Field(
        default_factory=lambda: [
            BranchModel(code="001", name="本店営業部"),
            BranchModel(code="002", name="前橋支店"),
            BranchModel(code="003", name="高崎支店"),
        ],
        min_length=1,
    )
    policy: Policy = Field(default_factory=Policy)

    _phone = field_validator("auth_phone_number")(_check_phone)


class ClockModel(_Model):
    start: datetime | None = None
    frozen: StrictBool = False


class ServiceHours(_Model):
    """Which off-hours windows apply. ``seed_calendar`` is the credit union's FAQ calendar."""

    seed_calendar: StrictBool = True
    daily_midnight_seconds: StrictInt = Field(60, ge=0, le=3600)
    daily_4am_seconds: StrictInt = Field(300, ge=0, le=3600)


class MaintenanceWindow(_Model):
    start: datetime
    end: datetime
    reason: StrictStr = ""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


GrantType = Literal["authorization_code", "refresh_token"]
GRANT_TYPES: tuple[GrantType, ...] = ("authorization_code", "refresh_token")


class ClientModel(_Model):
    client_id: StrictStr = Field(min_length=1, max_length=128)
    client_secret: StrictStr = Field(min_length=8)
    name: StrictStr = ""
    redirect_uris: list[StrictStr] = Field(min_length=1)
    pkce: Literal["required", "optional"] = "optional"
    scopes: list[StrictStr] = Field(default_factory=lambda: ["accounts"])
    grant_types: list[GrantType] = Field(default_factory=lambda: list(GRANT_TYPES), min_length=1)

    @field_validator("redirect_uris")
    @classmethod
    def _absolute_uris(cls, uris: list[str]) -> list[str]:
        """RFC 6749 §3.1.2: absolute, no fragment; no user info (RFC 8252 app schemes allowed)."""
        for uri in uris:
            parts = urlsplit(uri)
            if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
                raise ValueError(f"{uri!r} is not an absolute URI (e.g. https://app.example/cb)")
            if parts.fragment or "#" in uri:
                raise ValueError(f"{uri!r} has a fragment; redirect URIs must not")
            if "@" in parts.netloc:
                raise ValueError(f"{uri!r} has user info; redirect URIs must not")
        return uris


class TimeDepositModel(_Model):
    certificate_number: Annotated[StrictStr, Field(pattern=r"^\d{1,10}$")]
    deposit_date: date
    maturity_date: date
    principal: StrictInt = Field(ge=1, le=MAX_YEN)
    rate_percent: float = Field(ge=0, le=20)
    kind: StrictStr = "スーパー定期"

    @model_validator(mode="after")
    def _ordered(self) -> TimeDepositModel:
        if self.maturity_date <= self.deposit_date:
            raise ValueError("maturity_date must be after deposit_date")
        return self


class StatementLineModel(_Model):
    """A statement line listed in the scenario, beside the generated ones."""

    date: date
    time: Annotated[StrictStr, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "10:00"
    type: Literal["deposit", "withdrawal"]
    amount: StrictInt = Field(ge=1, le=MAX_YEN)
    # 摘要: kept as half-width kana, as a bank prints it (full-width kana is converted).
    description: StrictStr = Field(min_length=1, max_length=48)


MagicTrigger = Literal[
    "wrong_account",
    "wrong_identity",
    "locked_now",
    "locked",
    "off_hours",
    "congestion",
    "system_error",
    "service_unavailable",
    "phone_window_expired",
    "pin_locked_now",
]


class AccountModel(_Model):
    branch: BranchCode
    type: AccountType = AccountType.ORDINARY
    number: AccountNumber
    pin: Pin
    balance: StrictInt = Field(0, ge=0, le=MAX_YEN)
    cash_card: StrictBool = True
    passbook_withdrawal: StrictBool = False
    time_deposits: list[TimeDepositModel] = Field(default_factory=list)
    # A magic account: answers this catalog code at its step, with no rule (README table).
    triggers: MagicTrigger | None = None
    # Statement lines beside the generated ones (the balance above already includes those
    # dated at or before the clock's start).
    transactions: list[StatementLineModel] = Field(default_factory=list, max_length=1000)


class CustomerModel(_Model):
    id: StrictStr | None = None
    name_kanji: StrictStr
    name_kana: HalfWidthKana
    birth_date: date
    phone: StrictStr
    email: Annotated[StrictStr, Field(pattern=r"^[\x21-\x7e]+@[\x21-\x7e]+\.[A-Za-z]{2,}$")]
    accounts: list[AccountModel] = Field(min_length=1)

    _phone = field_validator("phone")(_check_phone)


class GenerateModel(_Model):
    count: StrictInt = Field(ge=0, le=1_000_000)
    seed: StrictInt = 0


def _rule_step(step: Step) -> Step:
    if step not in RULE_STEPS:
        raise ValueError(f"a rule applies on one of {', '.join(RULE_STEPS)}")
    return step


RuleStep = Annotated[
    Step,
    AfterValidator(_rule_step),
    WithJsonSchema({"type": "string", "enum": [str(s) for s in RULE_STEPS]}),
]


class When(_Model):
    """Conditions a rule matches on; all given ones must hold."""

    account: Annotated[StrictStr, Field(pattern=r"^\d{3}-\d{7}$")] | None = None
    client: StrictStr | None = None
    endpoint: StrictStr | None = None
    nth: StrictInt | None = Field(None, ge=1)
    after: datetime | None = None
    before: datetime | None = None
    probability: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _window(self) -> When:
        if self.after is not None and self.before is not None and self.before <= self.after:
            raise ValueError("before must be later than after")
        return self


class Fault(_Model):
    delay_ms: StrictInt | None = Field(None, ge=0, le=60000)
    reset: StrictBool = False
    malformed: StrictBool = False


class RuleModel(_Model):
    on: RuleStep
    when: When = Field(default_factory=When)
    error: StrictStr | None = None
    fault: Fault | None = None
    times: Literal["once", "always"] | Annotated[int, Field(ge=1)] = "always"
    seed: StrictInt = 0
    description: StrictStr = ""

    @field_validator("error")
    @classmethod
    def _known_error(cls, value: str | None) -> str | None:
        if value is not None and value not in INJECTABLE:
            raise ValueError(f"unknown error code; expected one of {sorted(INJECTABLE)}")
        return value

    @model_validator(mode="after")
    def _has_effect(self) -> RuleModel:
        if self.error is None and self.fault is None:
            raise ValueError("a rule needs `error` or `fault`")
        return self


class Scenario(_Model):
    """One scenario file."""

    name: StrictStr = "unnamed"
    description: StrictStr = ""
    bank: BankModel = Field(default_factory=BankModel)
    clock: ClockModel = Field(default_factory=ClockModel)
    service_hours: ServiceHours = Field(default_factory=ServiceHours)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    clients: list[ClientModel] = Field(default_factory=list)
    customers: list[CustomerModel] = Field(default_factory=list)
    generate: GenerateModel | None = None
    rules: list[RuleModel] = Field(default_factory=list)


Loc = tuple[str | int, ...]


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use (scenarios/schema.json)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Credit-union bank sandbox scenario"
    return schema
