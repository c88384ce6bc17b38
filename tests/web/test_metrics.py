"""/metrics: what a Prometheus server scrapes."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sandbox.driver import CustomerDriver, Outcome, Page
from tests.web.conftest import APP, BANK, TARO

Client = TestClient[Any, Any]


async def _samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_requests_errors_and_linkages_are_counted(
    client: Client, driver: CustomerDriver
) -> None:
    outcome = await driver.link(TARO, **APP)
    assert isinstance(outcome, Outcome)
    wrong = CustomerDriver(client, BANK)
    await wrong.authorize(**APP)
    await wrong.enter_account(TARO)
    page = await wrong.enter_identity(TARO.but(birth_date="1999-09-09"))
    assert isinstance(page, Page)
    aborted = CustomerDriver(client, BANK)
    await aborted.authorize(**APP)
    await aborted.abort()
    samples = await _samples(client)
    bank = (("bank", BANK),)
    assert samples[("sandbox_linkages_started_total", bank)] == 3
    assert samples[("sandbox_linkages_finished_total", (*bank, ("outcome", "approved")))] == 1
    assert samples[("sandbox_linkages_finished_total", (*bank, ("outcome", "aborted")))] == 1
    errors = (("bank", BANK), ("code", "wrong_identity"))
    assert samples[("sandbox_catalog_errors_total", errors)] == 1
    authorize = (("method", "GET"), ("route", "authorize"), ("status", "303"))
    assert samples[("sandbox_requests_total", authorize)] == 3
    assert samples[("sandbox_store_write_seconds_count", ())] > 0
