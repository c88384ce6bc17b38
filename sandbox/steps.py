"""The steps of the sandbox, one vocabulary for the catalog, the rules and the linkage."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """Where a request stands: a linkage screen, the token endpoint or the data API."""

    AUTHORIZE = "authorize"  # GET .../oauth/auth
    ACCOUNT = "account"  # ① ご利用口座情報入力
    IDENTITY = "identity"  # ② お客様情報入力
    PHONE = "phone"  # ③ 電話番号の確認
    CONFIRM = "confirm"  # ④ 電話番号認証 (rules and the catalog count it as phone)
    PIN = "pin"  # ⑤ キャッシュカード暗証番号認証
    CONSENT = "consent"  # ⑥ 情報連携認可
    DONE = "done"  # back to the app with a code or an error
    TOKEN = "token"  # POST .../oauth/token, revoke, introspect
    API = "api"  # the data API
    ANY = "any"  # a catalog entry or rule not tied to one step


# What a scenario rule's ``on:`` may name.
RULE_STEPS: tuple[Step, ...] = (
    Step.AUTHORIZE,
    Step.ACCOUNT,
    Step.IDENTITY,
    Step.PHONE,
    Step.PIN,
    Step.CONSENT,
    Step.TOKEN,
    Step.API,
    Step.ANY,
)


def rule_step(step: Step) -> Step:
    """The step rules see: screen ④ is part of the phone step."""
    return Step.PHONE if step == Step.CONFIRM else step
