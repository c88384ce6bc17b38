"""The spec says what the server does: examples, injectable statuses, servers, the rule body."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from sandbox.domain.ledger import time_deposit_interest
from sandbox.errors import CATALOG, INJECTABLE
from sandbox.scenario.model import RuleModel
from sandbox.web.docs import spec
from tests.web.conftest import MakeClient, make_app, make_scenario

BANK_OPS = "/parasol/v1/banks/{bank}"


def test_the_term_deposit_example_computes_as_the_server_does() -> None:
    operation = spec()["paths"][f"{BANK_OPS}/term_deposits"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    for row in example["term_deposits"]:
        expected = time_deposit_interest(
            row["principal"],
            row["rate_percent"],
            date.fromisoformat(row["deposit_date"]),
            date.fromisoformat(row["maturity_date"]),
        )
        assert row["interest_at_maturity"] == expected


def test_every_status_a_rule_can_inject_is_documented_where_it_can_be() -> None:
    """Rules on api and token may serve any injectable code: each status is in the spec."""
    statuses = {str(CATALOG[code].http_status) for code in INJECTABLE}
    operations = {
        f"{BANK_OPS}/accounts": "get",
        f"{BANK_OPS}/accounts/{{account_id}}": "get",
        f"{BANK_OPS}/accounts/{{account_id}}/transactions": "get",
        f"{BANK_OPS}/term_deposits": "get",
        f"{BANK_OPS}/oauth/token": "post",
    }
    for path, method in operations.items():
        documented = set(spec()["paths"][path][method]["responses"])
        assert statuses <= documented, (path, sorted(statuses - documented))


def test_the_rule_body_schema_is_the_scenario_models() -> None:
    generated = RuleModel.model_json_schema(ref_template="#/components/schemas/Rule{model}")
    defs = generated.pop("$defs")
    generated.pop("title")
    schemas = spec()["components"]["schemas"]
    assert schemas["Rule"] == generated
    for name, schema in defs.items():
        assert schemas[f"Rule{name}"] == schema
    body = spec()["paths"]["/_sandbox/rules"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Rule"}


async def test_servers_name_the_origin_the_spec_was_fetched_from(
    aiohttp_client: MakeClient,
) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(make_app(make_scenario()))
    origin = f"http://127.0.0.1:{client.server.port}"
    served = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    assert served["servers"] == [{"url": origin, "description": "this sandbox"}]
    as_json = await (await client.get("/docs/swagger.json")).json()
    assert as_json["servers"][0]["url"] == origin
    other = await client.get("/openapi.yaml", headers={"Host": "localhost:9999"})
    assert yaml.safe_load(await other.text())["servers"][0]["url"] == "http://localhost:9999"
