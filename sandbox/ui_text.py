"""Japanese text of the linkage screens that is not a catalog error, in one place.

Documented wording is word for word from shared/DOMAIN.md; the field-level messages are
the sandbox's own (the seed documents only "required"). Templates read these through the
``text`` global, so no screen repeats them.
"""

from __future__ import annotations

from sandbox.steps import Step

TITLES: dict[Step, str] = {
    Step.ACCOUNT: "ご利用口座情報入力",
    Step.IDENTITY: "お客様情報入力",
    Step.PHONE: "電話番号の確認",
    Step.CONFIRM: "電話番号認証",
    Step.PIN: "キャッシュカード暗証番号認証",
    Step.CONSENT: "情報連携認可",
}
ERROR_TITLE = "エラー"
SANDBOX_NAME = "金融機関API サンドボックス"

# Documented (shared/DOMAIN.md).
FIELD_REQUIRED = "必ず入力して下さい。"
MISSING_FIELDS = "入力されていない項目があります。"
PHONE_WAITING = "認証中(認証着信待ち)"
PHONE_INSTRUCTIONS = (
    "お届け電話番号から認証先電話番号にお電話ください。"
    "電話番号認証完了後、「確定する」ボタンを押してください。"
)

# The sandbox's own.
NAME_NOT_HALFWIDTH_KANA = "半角カタカナで入力して下さい。"
EMAIL_MISMATCH = "メールアドレスと確認用メールアドレスが一致しません。"
EMAIL_INVALID = "メールアドレスは半角英数字・記号で正しく入力して下さい。"
PHONE_INVALID = "電話番号は半角数字10桁または11桁(ハイフン可)で入力して下さい。"
ACCOUNT_NUMBER_INVALID = "口座番号は半角数字7桁で入力して下さい。"
BRANCH_INVALID = "お取引店舗を選択して下さい。"
ACCOUNT_TYPE_INVALID = "科目を選択して下さい。"
DATE_INVALID = "生年月日が正しくありません。"
PIN_INVALID = "暗証番号は半角数字4桁で入力して下さい。"
CALL_ACCEPTED = "お届け電話番号からの着信を受け付けました(模擬)。「確定する」を押して下さい。"
REQUEST_REFUSED = "このリクエストは受け付けられません。アプリ提供事業者へお問合せ下さい。"
