"""The six linkage screens in a real browser (Chromium), driven as a person would.

Every locator is a visible Japanese label, heading or button text; the app's redirect_uri
is answered by a route in the browser context, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sandbox.pytest_plugin import RunningSandbox

from .conftest import BANK, REDIRECT_URI, Screenshots

# Without Playwright the `chromium` fixture skips (or, under CI, fails) and says why.
with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect

pytestmark = pytest.mark.browser

REQUIRED = "必ず入力して下さい。"
WRONG_IDENTITY = "本人認証情報が誤っています。本人認証項目をご確認のうえ、再度入力して下さい。"
LOCKED_NOW = "お取扱いができなくなりました。詳しくは本サービスのお問合せ窓口へご照会下さい。"
LOCKED = "ただ今お取扱いできません。詳しくは本サービスのお問合せ窓口へご照会下さい。"
EXPIRED = (
    "電話番号認証の有効時間(120秒)を過ぎました。"
    "お手数ですが、API連携認証の最初から操作をやり直して下さい。"
)
WAITING = "認証中(認証着信待ち)"


async def _heading_is(page: Page, title: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)


async def _open_linkage(page: Page, server: RunningSandbox, state: str) -> None:
    """The app sends the customer to the authorize URL; screen ① appears."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "demo-app",
            "redirect_uri": REDIRECT_URI,
            "state": state,
            "scope": "accounts",
        }
    )
    await page.goto(f"{server.url}/parasol/v1/banks/{BANK}/oauth/auth?{query}")
    await _heading_is(page, "ご利用口座情報入力")


async def _fill_account(page: Page) -> None:
    await page.get_by_label("お取引店舗").select_option(label="001 本店営業部")
    await page.get_by_label("科目").select_option(label="普通")
    await page.get_by_label("口座番号(半角数字7桁)").fill("1234567")


async def _fill_identity(page: Page, year: str = "1980", day: str = "01") -> None:
    await page.get_by_label("お名前(半角カタカナ)").fill("ﾃﾞｰﾀ ﾀﾛｳ")
    await page.get_by_label("年", exact=True).select_option(label=year)
    await page.get_by_label("月", exact=True).select_option(label="01")
    await page.get_by_label("日", exact=True).select_option(label=day)
    await page.get_by_label("電話番号(当組合にお届けの電話番号)").fill("090-1234-5678")
    await page.get_by_label("メールアドレス(半角英数字・記号)").fill("taro.deta@example.jp")
    await page.get_by_label("メールアドレス(確認用)").fill("taro.deta@example.jp")


async def _click(page: Page, name: str) -> None:
    await page.get_by_role("button", name=name, exact=True).click()


async def _to_identity(page: Page, server: RunningSandbox, state: str = "s-1") -> None:
    await _open_linkage(page, server, state)
    await _fill_account(page)
    await _click(page, "次へ")
    await _heading_is(page, "お客様情報入力")


async def _to_confirm(page: Page, server: RunningSandbox, state: str = "s-1") -> None:
    await _to_identity(page, server, state)
    await _fill_identity(page)
    await _click(page, "次へ")
    await _heading_is(page, "電話番号の確認")
    await _click(page, "次へ")
    await _heading_is(page, "電話番号認証")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_happy_path_walks_six_screens_back_to_the_app(
    page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await _open_linkage(page, sandbox_server, "xyz-123")
    await expect(page.get_by_text("SANDBOX", exact=True)).to_be_visible()
    await expect(page.get_by_text("ぐんまみらい信用組合").first).to_be_visible()
    await _fill_account(page)
    await screenshot(page, "01-account")
    await _click(page, "次へ")

    await _heading_is(page, "お客様情報入力")
    await _fill_identity(page)
    await screenshot(page, "02-identity")
    await _click(page, "次へ")

    await _heading_is(page, "電話番号の確認")
    await expect(page.get_by_role("link", name="0120-86-3713")).to_be_visible()
    await expect(page.get_by_text("お届け電話番号: 末尾 5678")).to_be_visible()
    await screenshot(page, "03-phone")
    await _click(page, "次へ")

    await _heading_is(page, "電話番号認証")
    await expect(page.get_by_text("サンドボックス専用")).to_be_visible()
    await screenshot(page, "04-confirm")
    # 確定する before calling: the screen stays and says it is waiting for the call.
    await _click(page, "確定する")
    await _heading_is(page, "電話番号認証")
    await expect(page.get_by_role("status").filter(has_text=WAITING)).to_have_text(WAITING)
    await screenshot(page, "waiting")
    # The sandbox-only button plays the customer's call from the registered phone.
    await _click(page, "お届け電話番号から発信する(模擬)")
    await expect(
        page.get_by_text("お届け電話番号からの着信を受け付けました(模擬)。")
    ).to_be_visible()
    await _click(page, "確定する")

    await _heading_is(page, "キャッシュカード暗証番号認証")
    await page.get_by_label("暗証番号").fill("1234")
    await screenshot(page, "05-pin")
    await _click(page, "次へ")

    await _heading_is(page, "情報連携認可")
    await expect(page.get_by_text("デモ家計簿アプリ")).to_be_visible()
    await expect(page.get_by_text("本店営業部 普通 1234567")).to_be_visible()
    await screenshot(page, "06-consent")
    await _click(page, "許可する")

    await page.wait_for_url(f"{REDIRECT_URI}?**")
    await expect(page.get_by_role("heading", name="アプリに戻りました")).to_be_visible()
    back = _query(page.url)
    assert page.url.startswith(f"{REDIRECT_URI}?")
    assert back["state"] == "xyz-123"
    assert len(back["code"]) >= 16
    assert "error" not in back


async def test_call_from_the_registered_phone_then_confirm(
    page: Page, sandbox_server: RunningSandbox
) -> None:
    """The call arrives from outside the browser (POST /_sandbox/calls), as in a vendor's CI."""
    await _to_confirm(page, sandbox_server)
    response = await page.request.post(
        f"{sandbox_server.url}/_sandbox/calls",
        data={"from": "090-1234-5678", "to": "0120-86-3713"},
    )
    assert response.status == 200
    assert (await response.json())["outcome"] == "verified"
    await _click(page, "確定する")
    await _heading_is(page, "キャッシュカード暗証番号認証")


async def test_empty_identity_fields_each_say_required_and_the_dialog_closes(
    page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await _to_identity(page, sandbox_server)
    await _click(page, "次へ")

    await _heading_is(page, "お客様情報入力")
    dialog = page.get_by_role("alertdialog", name="エラー")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("入力されていない項目があります。")
    # Each empty field shows the message right under it (the month and day default to 01).
    for label in (
        "お名前(半角カタカナ)",
        "電話番号(当組合にお届けの電話番号)",
        "メールアドレス(半角英数字・記号)",
        "メールアドレス(確認用)",
    ):
        under = page.get_by_label(label).locator("xpath=following-sibling::*[1]")
        await expect(under, label).to_have_text(REQUIRED)
        await expect(under, label).to_be_visible()
    under_birth = page.get_by_role("group", name="生年月日(西暦)").locator(
        "xpath=following-sibling::*[1]"
    )
    await expect(under_birth).to_have_text(REQUIRED)
    await expect(page.get_by_text(REQUIRED, exact=True)).to_have_count(5)
    await screenshot(page, "identity-missing", full_page=False)

    await dialog.get_by_role("button", name="OK").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_text(REQUIRED, exact=True)).to_have_count(5)


async def test_wrong_identity_stays_on_screen_two_with_the_message(
    page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await _to_identity(page, sandbox_server)
    await _fill_identity(page, day="02")
    await _click(page, "次へ")

    await _heading_is(page, "お客様情報入力")
    await expect(page.get_by_role("alert")).to_have_text(WRONG_IDENTITY)
    await screenshot(page, "wrong-identity")


async def test_three_wrong_identities_lock_then_a_new_linkage_is_refused(
    page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await _to_identity(page, sandbox_server, state="lock-1")
    for _ in range(2):
        await _fill_identity(page, day="02")
        await _click(page, "次へ")
        await expect(page.get_by_role("alert")).to_have_text(WRONG_IDENTITY)
    await _fill_identity(page, day="02")
    await _click(page, "次へ")
    await expect(page.get_by_role("alert")).to_have_text(LOCKED_NOW)
    await expect(page.get_by_role("link", name="アプリに戻る")).to_be_visible()
    await screenshot(page, "locked")

    # The same day, a new linkage with the right data is refused.
    await _to_identity(page, sandbox_server, state="lock-2")
    await _fill_identity(page)
    await _click(page, "次へ")
    await expect(page.get_by_role("alert")).to_have_text(LOCKED)
    await screenshot(page, "locked-retry")
    await page.get_by_role("link", name="アプリに戻る").click()
    await page.wait_for_url(f"{REDIRECT_URI}?**")
    back = _query(page.url)
    assert back == {
        "error": "access_denied",
        "error_description": "locked",
        "state": "lock-2",
        "iss": f"{sandbox_server.url}/parasol/v1/banks/{sandbox_server.bank}",
    }


async def test_confirm_after_120_seconds_expires_and_returns_access_denied(
    page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await _to_confirm(page, sandbox_server, state="late-1")
    response = await page.request.post(
        f"{sandbox_server.url}/_sandbox/clock", data={"advance_seconds": 121}
    )
    assert response.ok
    await _click(page, "確定する")

    await expect(page.get_by_role("alert")).to_have_text(EXPIRED)
    await expect(page.get_by_role("button", name="確定する")).to_have_count(0)
    await screenshot(page, "expired")
    await page.get_by_role("link", name="アプリに戻る").click()

    await page.wait_for_url(f"{REDIRECT_URI}?**")
    back = _query(page.url)
    assert back["error"] == "access_denied"
    assert back["error_description"] == "phone_window_expired"
    assert back["state"] == "late-1"
    assert "code" not in back
