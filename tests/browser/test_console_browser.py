"""The console in a real browser: every panel driven as an engineer at 2 a.m. would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from sandbox.pytest_plugin import RunningSandbox

from .conftest import Screenshots
from .test_screens_browser import _click, _heading_is, _to_confirm, _to_identity

with contextlib.suppress(ImportError):
    from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.browser
CONGESTION = "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。"


@pytest.fixture
async def console(browser: Browser, sandbox_server: RunningSandbox) -> AsyncIterator[Page]:
    """The console on a laptop-sized page."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="Asia/Tokyo"
    )
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    await opened.goto(f"{sandbox_server.url}/_sandbox/console")
    try:
        yield opened
    finally:
        await context.close()


async def test_set_the_clock_and_find_a_customer(
    console: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    clock = console.locator("#clock .now")
    await expect(clock).to_contain_text("2026-11-25T10:00:00+09:00")
    await console.get_by_role("button", name="+2 min").click()
    await expect(console.get_by_role("status")).to_contain_text("clock: plus2min")
    await expect(clock).to_contain_text("2026-11-25T10:02:00+09:00")
    await console.get_by_role("button", name="Next off-hours window").click()
    await expect(clock).to_contain_text("closed")
    await console.get_by_role("button", name="Past it").click()
    await expect(clock).to_contain_text("open")
    await console.get_by_label("search customers").fill("ﾃﾞｰﾀ")
    await console.get_by_role("button", name="Search").click()
    row = console.locator('tr[data-customer="taro"]')
    await expect(row).to_contain_text("001 / ordinary / 1234567")
    await expect(row).to_contain_text("09012345678")


async def test_watch_a_linkage_advance_and_simulate_its_call(
    console: Page, page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    await expect(console.locator("[data-live]")).not_to_have_class("live off")
    await _to_identity(page, sandbox_server)
    linkages = console.locator("[data-linkages] tr[data-linkage]")
    await expect(linkages).to_have_count(1)  # it appeared by itself, over the event stream
    await expect(linkages.first.locator(".step")).to_have_text("identity")
    await _to_confirm(page, sandbox_server, state="s-2")
    await expect(console.locator("[data-linkages] .step", has_text="confirm")).to_have_count(1)
    await expect(console.locator("[data-left]").first).to_contain_text(" s")
    journal = console.locator("[data-journal] tr")
    await expect(journal.first).to_contain_text("/linkage/")  # the journal follows live
    await screenshot(console, "console", full_page=False)
    await console.get_by_role("button", name="Simulate the call").first.click()
    await expect(console.get_by_role("status")).to_contain_text("call: verified")
    await _click(page, "確定する")
    await _heading_is(page, "キャッシュカード暗証番号認証")


async def test_arm_a_rule_and_see_it_fire(
    console: Page, page: Page, sandbox_server: RunningSandbox
) -> None:
    await console.locator("select[name=on]").select_option("identity")
    await console.locator("select[name=error]").select_option("congestion")
    await console.get_by_role("button", name="Arm", exact=True).click()
    await expect(console.get_by_role("status")).to_contain_text("rule 0 armed")
    await _to_identity(page, sandbox_server)
    from .test_screens_browser import _fill_identity

    await _fill_identity(page)
    await _click(page, "次へ")
    await expect(page.get_by_text(CONGESTION)).to_be_visible()
    await console.reload()
    await expect(console.locator('tr[data-rule="0"] .fired')).to_have_text("1")
    coverage = console.locator("#coverage tr", has_text="congestion")
    await expect(coverage.locator("td.served")).to_have_count(1)


async def test_upload_a_broken_scenario_and_see_its_problems(
    console: Page, sandbox_server: RunningSandbox
) -> None:
    await console.get_by_label("Upload a scenario").fill(
        "name: broken\nbank:\n  code: 2011\n  nam: typo\n"
    )
    await console.get_by_role("button", name="Validate and load").click()
    alert = console.get_by_role("alert")
    await expect(alert).to_contain_text("nothing was changed")
    bad = console.locator("ol.lines li.bad")
    await expect(bad.first).to_contain_text("3: bank.code")
    await expect(console.locator("ol.lines li.bad", has_text="nam")).to_have_count(1)


async def test_a_conformance_report_page(
    console: Page, page: Page, sandbox_server: RunningSandbox, screenshot: Screenshots
) -> None:
    # This walk sends no PKCE, but a long state.
    await _to_identity(page, sandbox_server, state="a-long-unguessable-state-0123456789")
    await console.get_by_role("link", name="Conformance").click()
    await expect(console.locator('tr[data-check="pkce_s256"] .status')).to_have_text("failed")
    await expect(console.locator('tr[data-check="state"] .status')).to_have_text("passed")
    await screenshot(console, "conformance", full_page=False)
