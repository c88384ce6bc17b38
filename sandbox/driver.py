"""A headless customer: walks the six linkage screens over HTTP like a person would.

Works with ``aiohttp.ClientSession(base_url=...)`` and with aiohttp's test client: anything
with ``get``/``post`` coroutines taking ``allow_redirects``. It reads only what a person
sees (the HTML), fills the forms and follows the redirects, then hands back the result.
The session cookie matters: with ``ClientSession`` against an IP address such as 127.0.0.1,
pass ``cookie_jar=aiohttp.CookieJar(unsafe=True)`` or aiohttp drops the cookie.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.domain.bank import Customer
from sandbox.web.common import bank_path


class HttpClient(Protocol):
    """What the driver needs of an HTTP client."""

    def get(self, url: str, *, allow_redirects: bool = ...) -> Any: ...

    def post(self, url: str, *, data: Any = ..., allow_redirects: bool = ...) -> Any: ...


@dataclass
class Page:
    """A screen as a person sees it."""

    status: int
    url: str
    html: str
    screen: str | None = None
    title: str | None = None
    action: str | None = None
    csrf_token: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    missing_dialog: bool = False
    waiting: bool = False
    auth_number: str | None = None
    back_url: str | None = None

    def text(self) -> str:
        """The visible text, roughly (tags removed)."""
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.html)).strip()


@dataclass
class Outcome:
    """Where the customer was sent back to the app."""

    redirect: str
    code: str | None
    state: str | None
    error: str | None
    error_description: str | None
    iss: str | None = None

    @classmethod
    def parse(cls, location: str) -> Outcome:
        query = parse_qs(urlsplit(location).query)

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        return cls(
            location,
            one("code"),
            one("state"),
            one("error"),
            one("error_description"),
            one("iss"),
        )


# The sandbox's own screens are plain, so a scan of the few tags that matter is enough and
# is several times faster than html.parser (the flows benchmark parses every page).
_TAG = re.compile(r"<(main|form|input|p|dialog|a|h1)\b([^>]*)>([^<]*)", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_SELECTS = re.compile(r"<select\b.*?</select>", re.DOTALL | re.IGNORECASE)


def _read(html_text: str) -> dict[str, Any]:
    """The bits of a screen the driver needs, from its HTML."""
    page: dict[str, Any] = {"field_errors": {}}
    for match in _TAG.finditer(_SELECTS.sub("", html_text)):
        tag = match.group(1).lower()
        a = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(2))}
        text = html.unescape(match.group(3)).strip()
        cls = a.get("class", "")
        if tag == "main" and "data-screen" in a:
            page["screen"] = a["data-screen"]
        elif tag == "form" and a.get("method", "").lower() == "post":
            page.setdefault("action", a.get("action"))
        elif tag == "input" and a.get("name") == "csrf_token":
            page["csrf_token"] = a.get("value")
        elif tag == "p" and cls == "error":
            page["error_code"] = a.get("data-error-code")
            page["error_message"] = text
        elif tag == "p" and cls == "field-error":
            page["field_errors"][a.get("id", "").removesuffix("-error")] = text
        elif tag == "p" and cls == "waiting":
            page["waiting"] = True
        elif tag == "dialog":
            page["missing_dialog"] = True
        elif tag == "a" and a.get("id") == "auth-number":
            page["auth_number"] = text
        elif tag == "a" and a.get("id") == "back-to-app":
            page["back_url"] = a.get("href")
        elif tag == "h1":
            page["title"] = text
    return page


def read_page(status: int, url: str, html_text: str) -> Page:
    """Parse a screen's HTML."""
    return Page(status=status, url=url, html=html_text, **_read(html_text))


@dataclass(frozen=True)
class CustomerData:
    """What a customer types into the screens."""

    branch_code: str
    account_number: str
    pin: str
    name_kana: str
    birth_date: str  # YYYY-MM-DD
    phone: str
    email: str
    account_type: str = "ordinary"

    @classmethod
    def of(cls, customer: Customer, account_index: int = 0) -> CustomerData:
        """What ``customer`` would type for one of their accounts (the first by default)."""
        account = customer.accounts[account_index]
        return cls(
            branch_code=account.branch_code,
            account_number=account.number,
            pin=account.pin,
            name_kana=customer.name_kana,
            birth_date=customer.birth_date.isoformat(),
            phone=customer.phone,
            email=customer.email,
            account_type=account.account_type.value,
        )

    def but(self, **changes: str) -> CustomerData:
        """The same customer typing something else (e.g. a wrong birth date)."""
        return replace(self, **changes)


class LinkageError(AssertionError):
    """The driver could not go on (e.g. it got no redirect where one was due)."""


class CustomerDriver:
    """Drives one linkage; each method is one thing a person does on a screen."""

    def __init__(self, client: HttpClient, bank: str) -> None:
        self.client = client
        self.bank = bank
        self.page: Page | None = None
        self.outcome: Outcome | None = None

    async def _fetch(self, url: str, data: dict[str, str] | None = None) -> Page | Outcome:
        """GET or POST, following redirects inside the bank; stop at the app's redirect."""
        for _ in range(10):
            if data is None:
                response = await self.client.get(url, allow_redirects=False)
            else:
                response = await self.client.post(url, data=data, allow_redirects=False)
            async with response:
                if response.status in (301, 302, 303, 307):
                    location = response.headers["Location"]
                    if not location.startswith("/parasol/"):
                        self.outcome = Outcome.parse(location)
                        return self.outcome
                    url, data = location, None
                    continue
                html = await response.text()
                self.page = read_page(response.status, url, html)
                return self.page
        raise LinkageError("too many redirects")

    async def open(self, url: str) -> Page | Outcome:
        """Follow a link the app gave the customer (an authorize URL, path or absolute)."""
        if url.startswith(("http://", "https://")):
            url = "/" + url.split("/", 3)[3]
        return await self._fetch(url)

    async def authorize(self, **params: str) -> Page | Outcome:
        """Open the authorize URL as the app would (response_type=code added)."""
        query = {"response_type": "code", "scope": "accounts", **params}
        url = f"{bank_path(self.bank)}/oauth/auth?{urlencode(query)}"
        return await self._fetch(url)

    def _form(self, **fields: str) -> dict[str, str]:
        if self.page is None or self.page.csrf_token is None or self.page.action is None:
            raise LinkageError(
                f"no form on this page: {self.page.text()[:200] if self.page else ''}"
            )
        return {"csrf_token": self.page.csrf_token, **fields}

    async def submit(self, **fields: str) -> Page | Outcome:
        """Submit the current screen's form with ``fields``."""
        form = self._form(**fields)
        assert self.page is not None
        assert self.page.action is not None
        return await self._fetch(self.page.action, form)

    async def enter_account(self, c: CustomerData) -> Page | Outcome:
        """Screen ①."""
        return await self.submit(
            branch_code=c.branch_code,
            account_type=c.account_type,
            account_number=c.account_number,
            next="1",
        )

    async def enter_identity(self, c: CustomerData) -> Page | Outcome:
        """Screen ②."""
        year, month, day = c.birth_date.split("-")
        return await self.submit(
            name_kana=c.name_kana,
            birth_year=year,
            birth_month=month,
            birth_day=day,
            phone=c.phone,
            email=c.email,
            email_confirm=c.email,
            next="1",
        )

    async def abort(self) -> Page | Outcome:
        """中止する on screen ① or ②."""
        return await self.submit(abort="1")

    async def go_to_confirm(self) -> Page | Outcome:
        """Screen ③ 次へ."""
        return await self.submit(next="1")

    async def press_call_button(self) -> Page | Outcome:
        """The sandbox-only call button on screen ④."""
        return await self.submit(simulate_call="1")

    async def confirm(self) -> Page | Outcome:
        """Screen ④ 確定する."""
        return await self.submit(confirm="1")

    async def enter_pin(self, pin: str) -> Page | Outcome:
        """Screen ⑤."""
        return await self.submit(pin=pin, next="1")

    async def approve(self) -> Page | Outcome:
        """Screen ⑥ 許可する."""
        return await self.submit(approve="1")

    async def deny(self) -> Page | Outcome:
        """Screen ⑥ 許可しない."""
        return await self.submit(deny="1")

    async def back_to_app(self) -> Page | Outcome:
        """「アプリに戻る」 on a terminal error page."""
        if self.page is None or self.page.back_url is None:
            raise LinkageError("no way back to the app on this page")
        return await self._fetch(self.page.back_url)

    async def link(self, c: CustomerData, *, approve: bool = True, **params: str) -> Outcome | Page:
        """The whole walk; stops at the first page that is not the next screen."""
        result = await self.authorize(**params)
        steps: list[tuple[str, Callable[[], Awaitable[Page | Outcome]]]] = [
            ("account", lambda: self.enter_account(c)),
            ("identity", lambda: self.enter_identity(c)),
            ("phone", self.go_to_confirm),
            ("confirm", self.press_call_button),
            ("confirm", self.confirm),
            ("pin", lambda: self.enter_pin(c.pin)),
            ("consent", self.approve if approve else self.deny),
        ]
        for expected, action in steps:
            if isinstance(result, Outcome) or result.screen != expected or result.error_code:
                return result
            result = await action()
        return result
