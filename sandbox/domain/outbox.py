"""The notification mails the bank sends (recorded in the outbox, never delivered)."""

from __future__ import annotations

from datetime import datetime


def completion_mail(
    bank_name: str, client_name: str, name_kana: str, when: datetime
) -> tuple[str, str]:
    """Subject and body of the linkage completion mail."""
    subject = f"【{bank_name}】API連携認証完了のお知らせ"
    body = (
        f"{name_kana} 様\n\n"
        f"いつも{bank_name}をご利用いただき、ありがとうございます。\n"
        f"{when.strftime('%Y年%m月%d日 %H時%M分')}に、"
        "以下のアプリとのAPI連携認証が完了しました。\n\n"
        f"アプリ名: {client_name}\n\n"
        "お心当たりのない場合は、お取引店または本サービスのお問合せ窓口へご連絡下さい。\n"
        "本メールは送信専用です。ご返信いただいてもお答えできません。\n"
    )
    return subject, body
