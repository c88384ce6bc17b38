"""Hosted mode: workspaces with keys, isolation between them, quotas and strict bodies."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.settings import Quotas, Settings
from sandbox.web.app import REGISTRY, create_app
from tests.web.conftest import (
    APP,
    APP_SECRET,
    BANK,
    SCENARIO,
    TARO,
    MakeClient,
    link_for_tokens,
    make_scenario,
)

ADMIN = "admin-key-for-the-tests"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
PUBLIC = "http://sandbox.example"  # https would make the cookie Secure (test client: http)
YAML = {"Content-Type": "application/yaml"}


def hosted_settings(**quotas: Any) -> Settings:
    return Settings(
        secret_key=b"k" * 32,
        hosted=True,
        admin_key=ADMIN,
        public_url=PUBLIC,
        quotas=dataclasses.replace(Quotas(), **quotas),
    )


async def hosted_client(aiohttp_client: MakeClient, **quotas: Any) -> TestClient[Any, Any]:
    app = create_app(hosted_settings(**quotas), scenarios=[(make_scenario(), "<test>")])
    return await aiohttp_client(app)


@pytest.fixture
async def hosted(aiohttp_client: MakeClient) -> TestClient[Any, Any]:
    return await hosted_client(aiohttp_client)


async def new_workspace(client: TestClient[Any, Any], name: str) -> dict[str, Any]:
    response = await client.post("/_sandbox/workspaces", json={"name": name}, headers=ADMIN_AUTH)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


def auth(workspace: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace['api_key']}"}


def app_client(workspace: dict[str, Any], client_id: str = "app-1") -> dict[str, str]:
    """The hosted id and generated secret of one of the workspace's clients."""
    (bank,) = workspace["banks"]
    for c in bank["clients"]:
        if c["client_id"] == f"{workspace['workspace']}.{client_id}":
            return {"client_id": c["client_id"], "client_secret": c["client_secret"]}
    raise AssertionError(f"no client {client_id} in {bank['clients']}")


async def link(client: TestClient[Any, Any], workspace: dict[str, Any]) -> dict[str, Any]:
    """Walk the screens as TARO for the workspace's app-1, redeem the code: the tokens."""
    creds = app_client(workspace)
    return await link_for_tokens(
        client, TARO, client_id=creds["client_id"], secret=creds["client_secret"], state="s" * 24
    )


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# --- keys -------------------------------------------------------------------------------


async def test_health_names_no_tenant(hosted: TestClient[Any, Any]) -> None:
    await new_workspace(hosted, "acme")
    body = await (await hosted.get("/_sandbox/health")).json()
    assert body["status"] == "ok"
    assert "banks" not in body
    assert "2011" not in str(body)


async def test_control_calls_need_a_workspace_key(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    missing = await hosted.get("/_sandbox/clock")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await missing.json())["error"] == "unauthorized"
    wrong = await hosted.get("/_sandbox/clock", headers={"Authorization": "Bearer sbx_acme_nope"})
    assert wrong.status == 401
    admin = await hosted.get("/_sandbox/clock", headers=ADMIN_AUTH)
    assert admin.status == 403
    ok = await hosted.get("/_sandbox/clock", headers=auth(acme))
    assert ok.status == 200
    assert (await ok.json())["bank"] == BANK


async def test_workspaces_need_the_admin_key(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    assert (await hosted.post("/_sandbox/workspaces", json={"name": "x"})).status == 401
    by_workspace = await hosted.post("/_sandbox/workspaces", json={"name": "x"}, headers=auth(acme))
    assert by_workspace.status == 403
    again = await hosted.post("/_sandbox/workspaces", json={"name": "acme"}, headers=ADMIN_AUTH)
    assert again.status == 409
    assert (await again.json())["error"] == "workspace_exists"
    for bad in ("Acme", "1st", "a.b", "a/b", "", "x" * 33, "admin"):
        refused = await hosted.post("/_sandbox/workspaces", json={"name": bad}, headers=ADMIN_AUTH)
        assert refused.status == 400, bad
    listed = await (await hosted.get("/_sandbox/workspaces", headers=ADMIN_AUTH)).json()
    assert [w["workspace"] for w in listed["workspaces"]] == ["acme"]
    assert acme["api_key"] not in str(listed)


async def test_the_api_key_is_stored_hashed(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    (record,) = await hosted.app[REGISTRY].store.workspaces()
    assert record.key_hash == hashlib.sha256(acme["api_key"].encode()).hexdigest()
    assert acme["api_key"] not in repr(record)


# --- isolation --------------------------------------------------------------------------


async def test_two_workspaces_link_lock_and_reset_apart(hosted: TestClient[Any, Any]) -> None:
    acme, beta = await new_workspace(hosted, "acme"), await new_workspace(hosted, "beta")
    tokens = await link(hosted, acme)
    assert tokens["access_token"].startswith("acme.")
    accounts = await hosted.get(f"/parasol/v1/banks/{BANK}/accounts", headers=bearer(tokens))
    assert accounts.status == 200
    # beta's journal has none of acme's requests; acme's has them all.
    beta_journal = await (await hosted.get("/_sandbox/journal", headers=auth(beta))).json()
    assert beta_journal["entries"] == []
    acme_journal = await (await hosted.get("/_sandbox/journal", headers=auth(acme))).json()
    assert any(e["path"].endswith("/accounts") for e in acme_journal["entries"])
    # A token "moved" into another workspace's prefix is just an unknown token there.
    forged = {"Authorization": "Bearer beta." + tokens["access_token"].removeprefix("acme.")}
    refused = await hosted.get(f"/parasol/v1/banks/{BANK}/accounts", headers=forged)
    assert refused.status == 401
    assert (await refused.json())["error_code"] == "invalid_token"
    # Clocks move apart.
    moved = await hosted.post(
        "/_sandbox/clock", json={"advance_seconds": 86400}, headers=auth(beta)
    )
    assert moved.status == 200
    acme_now = (await (await hosted.get("/_sandbox/clock", headers=auth(acme))).json())["now"]
    assert acme_now.startswith("2026-11-25")
    # beta resets: acme's token still works.
    assert (await hosted.post("/_sandbox/reset", headers=auth(beta))).status == 200
    still = await hosted.get(f"/parasol/v1/banks/{BANK}/accounts", headers=bearer(tokens))
    assert still.status == 200


async def test_a_lock_in_one_workspace_is_not_in_another(hosted: TestClient[Any, Any]) -> None:
    acme, beta = await new_workspace(hosted, "acme"), await new_workspace(hosted, "beta")
    wrong = dataclasses.replace(TARO, birth_date="1999-09-09")
    driver = CustomerDriver(hosted, BANK)
    page: Page | Outcome | None = None
    for _ in range(3):
        page = await driver.authorize(
            client_id=app_client(acme)["client_id"], redirect_uri=APP["redirect_uri"], state="s"
        )
        page = await driver.enter_account(TARO)
        page = await driver.enter_identity(wrong)
    assert isinstance(page, Page), page
    assert page.error_code == "locked_now", page
    assert isinstance(await link(hosted, beta), dict)  # beta's taro links as usual


async def test_control_calls_naming_another_workspace_are_forbidden(
    hosted: TestClient[Any, Any],
) -> None:
    acme = await new_workspace(hosted, "acme")
    await new_workspace(hosted, "beta")
    response = await hosted.get("/_sandbox/journal?client_id=beta.app-1", headers=auth(acme))
    assert response.status == 403
    assert (await response.json())["error"] == "forbidden"


async def test_a_bank_of_another_workspace_is_unknown(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    response = await hosted.get("/_sandbox/clock?bank=2012", headers=auth(acme))
    assert response.status == 404
    assert (await response.json())["banks"] == [BANK]


# --- clients ----------------------------------------------------------------------------


async def test_client_ids_are_prefixed_and_secrets_generated(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    creds = app_client(acme)
    assert creds["client_id"] == "acme.app-1"
    assert creds["client_secret"] != APP_SECRET
    listed = await (await hosted.get("/_sandbox/clients", headers=auth(acme))).json()
    assert {"client_id": "acme.app-1", "client_secret": creds["client_secret"]}.items() <= (
        listed["clients"][0].items()
    )
    # The scenario's published secret does not work in hosted mode.
    refused = await hosted.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": "acme.app-1",
            "client_secret": APP_SECRET,
        },
    )
    assert refused.status == 401
    assert (await refused.json())["error"] == "invalid_client"
    # A client id without a workspace finds no bank: the unknown-client page, no redirect.
    page = await hosted.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth",
        params={
            "response_type": "code",
            "state": "s",
            "redirect_uri": APP["redirect_uri"],
            "client_id": APP["client_id"],
        },
        allow_redirects=False,
    )
    assert page.status == 400
    assert "unknown client_id" in await page.text()


async def test_the_issuer_is_the_public_url_whatever_the_host(
    hosted: TestClient[Any, Any],
) -> None:
    path = f"/.well-known/oauth-authorization-server/parasol/v1/banks/{BANK}"
    response = await hosted.get(path, headers={"Host": "127.0.0.2:9"})
    assert response.status == 200
    assert (await response.json())["issuer"] == f"{PUBLIC}/parasol/v1/banks/{BANK}"


async def test_runtime_rules_name_the_workspace_client(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    rule = {"on": "authorize", "when": {"client": "app-1"}, "error": "congestion"}
    armed = await hosted.post("/_sandbox/rules", json=rule, headers=auth(acme))
    assert armed.status == 201
    response = await hosted.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth",
        params={
            "response_type": "code",
            "client_id": "acme.app-1",
            "redirect_uri": APP["redirect_uri"],
            "state": "s",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert "error=temporarily_unavailable" in response.headers["Location"]


# --- uploads and quotas -----------------------------------------------------------------


async def test_uploads_take_yaml_or_json_only(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    plain = await hosted.put(
        "/_sandbox/scenario",
        data=SCENARIO.encode(),
        headers={**auth(acme), "Content-Type": "text/plain"},
    )
    assert plain.status == 415
    form = await hosted.post(
        "/_sandbox/clock",
        data="advance_seconds=1",
        headers={**auth(acme), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 415
    loaded = await hosted.put(
        "/_sandbox/scenario", data=SCENARIO.encode(), headers={**auth(acme), **YAML}
    )
    assert loaded.status == 200, await loaded.text()
    registered = (await loaded.json())["registered_clients"]
    assert [c["client_id"] for c in registered] == ["acme.app-1", "acme.pkce-app"]


async def test_bank_quota(aiohttp_client: MakeClient) -> None:
    hosted = await hosted_client(aiohttp_client, banks=2)
    acme = await new_workspace(hosted, "acme")
    second = SCENARIO.replace('code: "2011"', 'code: "2012"')
    third = SCENARIO.replace('code: "2011"', 'code: "2013"')
    headers = {**auth(acme), **YAML}
    assert (await hosted.put("/_sandbox/scenario", data=second, headers=headers)).status == 200
    refused = await hosted.put("/_sandbox/scenario", data=third, headers=headers)
    assert refused.status == 422
    body = await refused.json()
    assert body["error"] == "quota_exceeded"
    assert body["quota"] == "banks"
    # Replacing a bank the workspace has is no new bank.
    assert (await hosted.put("/_sandbox/scenario", data=second, headers=headers)).status == 200


async def test_size_node_rule_and_customer_quotas(aiohttp_client: MakeClient) -> None:
    hosted = await hosted_client(
        aiohttp_client, scenario_bytes=4000, scenario_nodes=300, rules=1, customers=10
    )
    acme = await new_workspace(hosted, "acme")
    headers = {**auth(acme), **YAML}
    big = await hosted.put("/_sandbox/scenario", data=SCENARIO + "#" * 4000, headers=headers)
    assert big.status == 413
    assert (await big.json())["quota"] == "scenario_bytes"
    nodes = "generate: {count: 5}\nrules:\n" + "".join(
        f"  - {{on: api, error: congestion, times: {i + 1}}}\n" for i in range(60)
    )
    refused = await hosted.put("/_sandbox/scenario", data=nodes, headers=headers)
    assert refused.status == 422
    assert "300" in (await refused.json())["problems"][0]["message"]
    many = await hosted.put("/_sandbox/scenario", data="generate: {count: 11}\n", headers=headers)
    assert (await many.json())["quota"] == "customers"
    rule = {"on": "api", "error": "congestion"}
    assert (await hosted.post("/_sandbox/rules", json=rule, headers=auth(acme))).status == 201
    over = await hosted.post("/_sandbox/rules", json=rule, headers=auth(acme))
    assert over.status == 422
    assert (await over.json())["quota"] == "rules"


async def test_authorize_rate_is_limited_per_workspace(aiohttp_client: MakeClient) -> None:
    hosted = await hosted_client(aiohttp_client, auth_per_second=2)
    acme, beta = await new_workspace(hosted, "acme"), await new_workspace(hosted, "beta")

    async def authorize(workspace: dict[str, Any]) -> Any:
        return await hosted.get(
            f"/parasol/v1/banks/{BANK}/oauth/auth",
            params={
                "response_type": "code",
                "client_id": app_client(workspace)["client_id"],
                "redirect_uri": APP["redirect_uri"],
                "state": "s",
            },
            allow_redirects=False,
        )

    statuses = [(await authorize(acme)).status for _ in range(3)]
    assert statuses[:2] == [303, 303]
    assert statuses[2] == 429
    limited = await authorize(acme)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "ただ今受付が混雑しております" in await limited.text()
    assert (await authorize(beta)).status == 303  # beta has its own budget


async def test_token_rate_is_limited(aiohttp_client: MakeClient) -> None:
    hosted = await hosted_client(aiohttp_client, token_per_second=1)
    acme = await new_workspace(hosted, "acme")
    data = {"grant_type": "refresh_token", "refresh_token": "x", **app_client(acme)}
    first = await hosted.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=data)
    assert first.status == 400
    second = await hosted.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=data)
    assert second.status == 429
    body = await second.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_code"] == "rate_limited"
    assert second.headers["Retry-After"] == "1"


async def test_linkages_per_client_quota_evicts_nothing(aiohttp_client: MakeClient) -> None:
    hosted = await hosted_client(aiohttp_client, linkages_per_client=2)
    acme = await new_workspace(hosted, "acme")
    creds = app_client(acme)
    drivers = [CustomerDriver(hosted, BANK) for _ in range(3)]
    pages = [
        await d.authorize(client_id=creds["client_id"], redirect_uri=APP["redirect_uri"], state="s")
        for d in drivers
    ]
    assert [isinstance(p, Page) and p.screen for p in pages[:2]] == ["account", "account"]
    assert isinstance(pages[2], Page)
    assert pages[2].status == 429
    # The two linkages in progress were not dropped to make room.
    for d in drivers[:2]:
        page = await d.enter_account(TARO)
        assert isinstance(page, Page), page
        assert page.screen == "identity", page


async def test_metrics_are_per_workspace(hosted: TestClient[Any, Any]) -> None:
    acme, beta = await new_workspace(hosted, "acme"), await new_workspace(hosted, "beta")
    await link(hosted, acme)
    assert (await hosted.get("/metrics")).status == 401
    own = await (await hosted.get("/metrics", headers=auth(acme))).text()
    assert 'sandbox_linkages_finished_total{bank="2011",outcome="approved"} 1.0' in own
    theirs = await (await hosted.get("/metrics", headers=auth(beta))).text()
    assert "sandbox_linkages_finished_total{" not in theirs
    everything = await (await hosted.get("/metrics", headers=ADMIN_AUTH)).text()
    assert 'sandbox_linkages_finished_total{bank="2011",outcome="approved"} 1.0' in everything


async def test_codes_linkages_and_accounts_stay_in_their_workspace(
    hosted: TestClient[Any, Any],
) -> None:
    acme, beta = await new_workspace(hosted, "acme"), await new_workspace(hosted, "beta")
    creds = app_client(acme)
    # A code of acme's is unknown to beta's client.
    outcome = await CustomerDriver(hosted, BANK).link(
        TARO, client_id=creds["client_id"], redirect_uri=APP["redirect_uri"], state="s"
    )
    assert isinstance(outcome, Outcome)
    assert outcome.code is not None
    stolen = await hosted.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": APP["redirect_uri"],
            **app_client(beta),
        },
    )
    assert stolen.status == 400
    assert (await stolen.json())["error"] == "invalid_grant"
    # A linkage id moved under beta's prefix is no linkage.
    driver = CustomerDriver(hosted, BANK)
    page = await driver.authorize(
        client_id=creds["client_id"], redirect_uri=APP["redirect_uri"], state="s"
    )
    assert isinstance(page, Page)
    assert page.action is not None
    forged = page.action.replace("/linkage/acme.", "/linkage/beta.")
    shown = await hosted.get(forged)
    assert shown.status == 400
    assert "一定時間操作がなかったため" in await shown.text()
    # 移管 of acme's account leaves beta's account where it was.
    tokens = await link(hosted, acme)
    accounts = await (
        await hosted.get(f"/parasol/v1/banks/{BANK}/accounts", headers=bearer(tokens))
    ).json()
    account_id = accounts["accounts"][0]["account_id"]
    moved = await hosted.post(
        f"/_sandbox/accounts/{account_id}/transfer",
        json={"branch_code": "002", "account_number": "7000001"},
        headers=auth(acme),
    )
    assert moved.status == 200, await moved.text()
    assert isinstance(await link(hosted, beta), dict)  # beta's taro keeps the old number
    # Each workspace's outbox has its own completion mails only.
    acme_mails = (await (await hosted.get("/_sandbox/outbox", headers=auth(acme))).json())["mails"]
    beta_mails = (await (await hosted.get("/_sandbox/outbox", headers=auth(beta))).json())["mails"]
    assert len(acme_mails) == 2
    assert len(beta_mails) == 1


async def test_links_take_the_workspace_client(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    await new_workspace(hosted, "beta")
    made = await hosted.post(
        "/_sandbox/links", json={"client_id": "app-1", "customer": "taro"}, headers=auth(acme)
    )
    assert made.status == 201
    code = (await made.json())["code"]
    redeemed = await hosted.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP["redirect_uri"],
            **app_client(acme),
        },
    )
    assert redeemed.status == 200
    assert (await redeemed.json())["access_token"].startswith("acme.")
    theirs = await hosted.post(
        "/_sandbox/links",
        json={"client_id": "beta.app-1", "customer": "taro"},
        headers=auth(acme),
    )
    assert theirs.status == 403


async def test_a_client_added_at_run_time_is_hosted(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    body = {"client_id": "mine", "redirect_uris": ["https://mine.example/cb"]}
    added = await hosted.post("/_sandbox/clients", json=body, headers=auth(acme))
    assert added.status == 201
    registered = await added.json()
    assert registered["client_id"] == "acme.mine"
    assert registered["client_secret"].startswith("sbxs_")
    theirs = await hosted.post(
        "/_sandbox/clients", json={**body, "client_id": "beta.mine"}, headers=auth(acme)
    )
    assert theirs.status == 403


async def test_a_client_id_too_long_for_its_prefix_is_refused(hosted: TestClient[Any, Any]) -> None:
    acme = await new_workspace(hosted, "acme")
    long_id = "c" * 125
    text = SCENARIO.replace("client_id: app-1", f"client_id: {long_id}")
    upload = await hosted.put("/_sandbox/scenario", data=text, headers={**auth(acme), **YAML})
    assert upload.status == 422
    assert (await upload.json())["error"] == "client_id_too_long"
    added = await hosted.post(
        "/_sandbox/clients",
        json={"client_id": long_id, "redirect_uris": ["https://x.example/cb"]},
        headers=auth(acme),
    )
    assert added.status == 422
    assert (await hosted.get("/_sandbox/clock", headers=auth(acme))).status == 200  # intact


async def test_an_undecodable_key_is_a_401(hosted: TestClient[Any, Any]) -> None:
    await new_workspace(hosted, "acme")
    for path in ("/_sandbox/clock", "/metrics", "/_sandbox/workspaces"):
        response = await hosted.get(path, headers={"Authorization": "Bearer \udcff\udcfe"})
        assert response.status == 401, path


async def test_strangers_naming_a_client_spend_nothing_of_its_workspace(
    aiohttp_client: MakeClient,
) -> None:
    hosted = await hosted_client(aiohttp_client, token_per_second=2)
    acme = await new_workspace(hosted, "acme")
    creds = app_client(acme)
    stranger = {
        "grant_type": "refresh_token",
        "refresh_token": "x",
        "client_id": creds["client_id"],
    }
    for _ in range(10):
        refused = await hosted.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=stranger)
        assert refused.status == 401  # no secret: invalid_client, never 429
    real = {"grant_type": "refresh_token", "refresh_token": "x", **creds}
    answered = await hosted.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=real)
    assert answered.status == 400  # acme's own request is answered, not rate limited
    journal = await (await hosted.get("/_sandbox/journal", headers=auth(acme))).json()
    assert len([e for e in journal["entries"] if e["path"].endswith("/oauth/token")]) == 1
