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
    # A screen's GET and POST are one route: both counted under its name.
    for method, status in (("GET", "200"), ("POST", "303")):
        shown = (("method", method), ("route", "screen"), ("status", status))
        assert samples[("sandbox_requests_total", shown)] >= 3, method
    assert samples[("sandbox_store_write_seconds_count", ())] > 0


def test_timings_count_each_answer_in_its_le_bucket_cumulatively() -> None:
    from prometheus_client import generate_latest

    from sandbox.web.metrics import Metrics

    metrics = Metrics()
    for seconds in (0.0004, 0.0005, 0.003, 2.0):  # 0.0005 is "le 0.0005"; 2 s is past 1 s
        metrics.answered("api_accounts", "GET", 200, seconds)
    text = generate_latest(metrics.registry()).decode()
    route = 'route="api_accounts"'
    assert f'sandbox_request_seconds_bucket{{le="0.0005",{route}}} 2.0' in text
    assert f'sandbox_request_seconds_bucket{{le="0.002",{route}}} 2.0' in text
    assert f'sandbox_request_seconds_bucket{{le="0.005",{route}}} 3.0' in text
    assert f'sandbox_request_seconds_bucket{{le="1.0",{route}}} 3.0' in text
    assert f'sandbox_request_seconds_bucket{{le="+Inf",{route}}} 4.0' in text
    assert f"sandbox_request_seconds_count{{{route}}} 4.0" in text
    assert 'sandbox_requests_total{method="GET",route="api_accounts",status="200"} 4.0' in text


def test_a_made_up_method_is_counted_as_other_not_as_a_label_of_its_own() -> None:
    from prometheus_client import generate_latest

    from sandbox.web.metrics import Metrics

    metrics = Metrics()
    for n in range(50):
        metrics.answered("unmatched", f"BREW{n}", 405, 0.001)
    text = generate_latest(metrics.registry()).decode()
    assert 'sandbox_requests_total{method="other",route="unmatched",status="405"} 50.0' in text
    assert "BREW" not in text
