"""Notification mails the bank sends (recorded, never delivered)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail as the customer would receive it."""

    mail_id: int
    sent_at: datetime
    sender: str
    to: str
    subject: str
    body: str
    client_id: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.mail_id,
            "sent_at": self.sent_at.isoformat(),
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "client_id": self.client_id,
        }


class Outbox:
    """Mails sent since the last reset, oldest first."""

    def __init__(self, limit: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._next_id = 1
        self._limit = limit

    def send(
        self, *, sender: str, to: str, subject: str, body: str, client_id: str, now: datetime
    ) -> Mail:
        """Record a mail; the oldest are dropped past the limit."""
        with self._lock:
            mail = Mail(self._next_id, now, sender, to, subject, body, client_id)
            self._next_id += 1
            self._mails.append(mail)
            if len(self._mails) > self._limit:
                del self._mails[: len(self._mails) - self._limit]
            return mail

    def mails(self, to: str | None = None) -> list[Mail]:
        """The recorded mails, optionally only those to one address."""
        with self._lock:
            return [m for m in self._mails if to is None or m.to == to]

    def reset(self) -> None:
        with self._lock:
            self._mails.clear()
            self._next_id = 1


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
