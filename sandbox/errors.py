"""The error catalog: stable code -> Japanese message, screen, HTTP status, OAuth error, API body.

The first eight entries are the credit union's documented messages, word for word
(shared/DOMAIN.md, tables 3/4 and 4/4). The rest are the sandbox's own, worded the way
a Japanese bank system would word them; they are marked ``documented=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.steps import Step


@dataclass(frozen=True, slots=True)
class CatalogError:
    """One entry of the catalog."""

    code: str
    message: str
    screen: Step
    http_status: int
    oauth_error: str
    documented: bool = False
    retry_after: int | None = None
    cause: str = ""
    restart: bool = field(default=False)

    def api_body(self) -> dict[str, str]:
        """The JSON body the data API answers with."""
        return {"error_code": self.code, "error_message": self.message}


# A PIN lock stops API linkage only (FAQ); the PIN lock messages say so after the
# documented text of table 3/4.
PIN_LOCK_SCOPE = (
    "なお、暗証番号の誤りによるお取扱いの停止はAPI連携認証のみで、"
    "ATM等のお取引はご利用いただけます。"
)

_ENTRIES: tuple[CatalogError, ...] = (
    # Table 3/4: errors after 「次へ」 on screen ②.
    CatalogError(
        "wrong_account",
        "ご指定の口座は、本サービスではお取り扱いできません。",
        Step.IDENTITY,
        400,
        "access_denied",
        documented=True,
        cause="account type / number do not match a live, eligible account",
    ),
    CatalogError(
        "wrong_identity",
        "本人認証情報が誤っています。本人認証項目をご確認のうえ、再度入力して下さい。",
        Step.IDENTITY,
        401,
        "access_denied",
        documented=True,
        cause="account right, other identity data wrong",
    ),
    CatalogError(
        "locked_now",
        "お取扱いができなくなりました。詳しくは本サービスのお問合せ窓口へご照会下さい。",
        Step.IDENTITY,
        403,
        "access_denied",
        documented=True,
        cause="the failure that reached the attempt limit; locked until 00:00 JST next day",
    ),
    CatalogError(
        "locked",
        "ただ今お取扱いできません。詳しくは本サービスのお問合せ窓口へご照会下さい。",
        Step.IDENTITY,
        403,
        "access_denied",
        documented=True,
        cause="linkage attempted while locked",
    ),
    # Table 4/4: system-wide errors.
    CatalogError(
        "off_hours",
        "この時間はサービスを行っておりません。ご了承下さい。",
        Step.ANY,
        503,
        "temporarily_unavailable",
        documented=True,
        retry_after=60,
        cause="outside service hours (see the service calendar)",
    ),
    CatalogError(
        "congestion",
        "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。",
        Step.ANY,
        503,
        "temporarily_unavailable",
        documented=True,
        retry_after=30,
        cause="too many API app transactions",
    ),
    CatalogError(
        "system_error",
        "調整のため連絡ができなくなりました。なお、お急ぎの場合は本サービスのお問合せ窓口へご照会下さい。",
        Step.ANY,
        500,
        "server_error",
        documented=True,
        cause="system error",
    ),
    CatalogError(
        "service_unavailable",
        "ご指定のサービスはただ今お取扱いできません。なお、お急ぎの場合は本サービスのお問合せ窓口へご照会下さい。",
        Step.ANY,
        503,
        "temporarily_unavailable",
        documented=True,
        retry_after=300,
        cause="service unavailable (cause not given)",
    ),
    # The sandbox's own entries.
    CatalogError(
        "phone_window_expired",
        "電話番号認証の有効時間(120秒)を過ぎました。お手数ですが、API連携認証の最初から操作をやり直して下さい。",
        Step.PHONE,
        400,
        "access_denied",
        restart=True,
        cause="call or 「確定する」 more than the phone window after screen ③",
    ),
    CatalogError(
        "wrong_pin",
        "暗証番号が誤っています。キャッシュカードの暗証番号をご確認のうえ、再度入力して下さい。",
        Step.PIN,
        401,
        "access_denied",
        cause="cash card PIN does not match",
    ),
    CatalogError(
        "pin_locked_now",
        "お取扱いができなくなりました。詳しくは本サービスのお問合せ窓口へご照会下さい。"
        + PIN_LOCK_SCOPE,
        Step.PIN,
        403,
        "access_denied",
        cause="the wrong PIN that reached the limit; API linkage locked until 00:00 JST",
    ),
    CatalogError(
        "pin_locked",
        "ただ今お取扱いできません。詳しくは本サービスのお問合せ窓口へご照会下さい。"
        + PIN_LOCK_SCOPE,
        Step.PIN,
        403,
        "access_denied",
        cause="linkage attempted while the PIN lock holds",
    ),
    CatalogError(
        "account_transferred",
        "ご指定の口座は移管されたため、本サービスではお取り扱いできません。"
        "新しいお取引店舗・口座番号で再度API連携認証を行って下さい。",
        Step.API,
        403,
        "access_denied",
        cause="the account moved to another branch (移管); link again with the new number",
    ),
    CatalogError(
        "session_expired",
        "一定時間操作がなかったため、処理を中断しました。お手数ですが、最初から操作をやり直して下さい。",
        Step.ANY,
        400,
        "access_denied",
        restart=True,
        cause="the linkage session is unknown, finished or timed out",
    ),
    CatalogError(
        "invalid_form",
        "不正な画面操作が行われました。お手数ですが、最初から操作をやり直して下さい。",
        Step.ANY,
        403,
        "access_denied",
        restart=True,
        cause="missing or wrong CSRF token, or a step taken out of order",
    ),
    CatalogError(
        "invalid_token",
        "アクセストークンが無効です。再度API連携認証を行って下さい。",
        Step.API,
        401,
        "invalid_token",
        cause="access token unknown, expired or revoked",
    ),
    CatalogError(
        "insufficient_scope",
        "このアクセストークンでは照会できません。",
        Step.API,
        403,
        "insufficient_scope",
        cause="the token lacks the scope this endpoint needs",
    ),
    CatalogError(
        "reauth_required",
        "セキュリティ確保のため、再度API連携認証を行って下さい。",
        Step.API,
        401,
        "invalid_token",
        cause="the periodic re-authentication period has passed",
    ),
    CatalogError(
        "account_not_found",
        "ご指定の口座は照会できません。",
        Step.API,
        404,
        "invalid_request",
        cause="account_id unknown or not linked to this token",
    ),
    CatalogError(
        "period_out_of_range",
        "照会可能な期間を超えています。明細は約3か月分のみ照会できます。",
        Step.API,
        400,
        "invalid_request",
        cause="statement range starts before the held period (about 3 months)",
    ),
    CatalogError(
        "invalid_parameter",
        "照会条件に誤りがあります。",
        Step.API,
        400,
        "invalid_request",
        cause="a query parameter is missing or malformed",
    ),
    CatalogError(
        "not_found",
        "ご指定のページは存在しません。",
        Step.ANY,
        404,
        "invalid_request",
        cause="unknown path or bank code",
    ),
    CatalogError(
        "method_not_allowed",
        "ご指定の操作はできません。",
        Step.ANY,
        405,
        "invalid_request",
        cause="HTTP method not allowed on this path",
    ),
    CatalogError(
        "rate_limited",
        "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。",
        Step.ANY,
        429,
        "temporarily_unavailable",
        retry_after=1,
        cause="more requests per second than allowed (hosted mode: the workspace's quota); "
        "the congestion message, answered 429 with Retry-After",
    ),
    CatalogError(
        "internal_error",
        "システムエラーが発生しました。しばらくしてから再度ご利用下さい。",
        Step.ANY,
        500,
        "server_error",
        cause="a fault of the sandbox itself (logged with its traceback); never injected by rules",
    ),
)

CATALOG: dict[str, CatalogError] = {entry.code: entry for entry in _ENTRIES}

# Codes a scenario rule may inject.
INJECTABLE: frozenset[str] = frozenset(
    {
        "wrong_account",
        "wrong_identity",
        "locked_now",
        "locked",
        "off_hours",
        "congestion",
        "rate_limited",
        "system_error",
        "service_unavailable",
        "phone_window_expired",
        "wrong_pin",
        "pin_locked_now",
        "pin_locked",
        "account_transferred",
        "session_expired",
        "invalid_token",
        "reauth_required",
    }
)


class SandboxError(Exception):
    """A catalog error raised by domain code; web code renders it."""

    def __init__(self, code: str, detail: str = "", *, retry_after: int | None = None) -> None:
        self.entry = CATALOG[code]
        self.detail = detail
        self.retry_after = retry_after if retry_after is not None else self.entry.retry_after
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def code(self) -> str:
        return self.entry.code
