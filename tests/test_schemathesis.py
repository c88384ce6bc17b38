"""Property-based conformance: schemathesis drives every documented operation of openapi.yaml.

The sandbox runs in a thread on 127.0.0.1 (aiohttp is neither ASGI nor WSGI). Every response
must be documented: no 5xx, a documented status code, content type and headers, and a body
that matches its schema. Data endpoints get a real Bearer token (and the real account id for
half of the cases) so they are exercised beyond 401; the token, revoke and introspect
endpoints get the client's HTTP Basic credentials. The clock is frozen on a Wednesday at
10:00 Japan time, inside service hours.

Operations that change the whole tenant (``POST /_sandbox/reset``, ``PUT /_sandbox/scenario``,
``POST /_sandbox/clock``, ``POST /_sandbox/accounts/{id}/transfer``) would wipe the token or
move the clock or the account under the other operations' feet, so they run against a server
of their own (one per operation) instead of the shared one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.domain.refs import account_id
from sandbox.settings import Settings
from sandbox.tenant.tenant import Tenant
from sandbox.web.app import REGISTRY, create_app
from sandbox.web.docs import SPEC_PATH
from tests.web.conftest import make_scenario
from tests.web.customers import JIRO, JIRO_REFS

# A customer with two accounts and time deposits, so every data endpoint has something to say.
REFS = JIRO_REFS
REDIRECT = "https://app.example/callback"
CLIENT_BASIC = "Basic " + base64.b64encode(b"app-1:secret-one-123").decode()
# Stateless or self-contained operations share one server. Those that change the whole
# tenant, or arm rules that would break other operations, get a fresh one each.
TENANT_WIDE = ("reset", "putScenario", "setClock", "transferAccount", "addRule", "clearRules")
DATA = ("listAccounts", "getAccount", "listTransactions", "listTermDeposits")
OAUTH = ("authorize", "token", "revoke", "introspect", "metadata")
MIN_TOTAL_CASES = 2000

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(SPEC_PATH)
CASES: Counter[str] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()


@dataclass
class LiveServer:
    """A sandbox served from a background thread on 127.0.0.1."""

    url: str
    sandbox: Tenant
    token: str
    session: requests.Session


async def issue_token(sandbox: Tenant) -> str:
    """An access token for jiro's two accounts, as if he had walked the screens."""
    now = await sandbox.clock.now()
    request = sandbox.oauth.validate_authorize(
        {"response_type": "code", "client_id": "app-1", "redirect_uri": REDIRECT}
    )
    code = await sandbox.oauth.issue_code(request, "jiro", REFS, now)
    client = sandbox.oauth.client("app-1")
    assert client is not None
    tokens = await sandbox.oauth.exchange_code(client, code, REDIRECT, None, now)
    return str(tokens["access_token"])


@contextlib.contextmanager
def serve() -> Iterator[LiveServer]:
    """A fresh sandbox server in a thread, stopped on exit."""
    app = create_app(
        Settings(secret_key=b"f" * 32, access_log=False),
        scenarios=[(make_scenario(JIRO), "<test>")],
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> tuple[int, Tenant, str]:
        await runner.setup()  # starts the app: the scenario is loaded
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sandbox = await app[REGISTRY].get("2011")
        assert sandbox is not None
        return int(runner.addresses[0][1]), sandbox, await issue_token(sandbox)

    port, sandbox, token = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, name="sandbox-fuzz", daemon=True)
    thread.start()
    session = requests.Session()
    session.trust_env = False  # never a proxy: the server is on 127.0.0.1
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", sandbox, token, session)
    finally:
        session.close()
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def live() -> Iterator[LiveServer]:
    """A server of its own for one test."""
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def shared() -> Iterator[LiveServer]:
    """One server for every operation that leaves the tenant as it was."""
    with serve() as server:
        yield server


def _headers(case: Any, server: LiveServer) -> dict[str, str]:
    """Credentials a real client would send to this operation."""
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id in DATA:
        return {"Authorization": f"Bearer {server.token}"}
    if operation_id in ("token", "revoke", "introspect"):
        return {"Authorization": CLIENT_BASIC}
    return {}


def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId", case.operation.label))


def _aim(case: Any) -> None:
    """Point most cases at the loaded bank, half at a linked account or a registered client.

    A random ``{bank}`` is only ever a 404, a random ``account_id`` only ever
    ``account_not_found`` and a random client only the error page; they still get their
    share (every fourth / every other case).
    """
    path = case.path_parameters
    if not path or not case.operation.path.startswith("/parasol/"):
        return
    n = CASES[_operation_id(case)]
    if "bank" in path and n % 4 != 3:
        path["bank"] = "2011"
    if "account_id" in path and n % 2 == 0:
        path["account_id"] = account_id("2011", REFS[n // 2 % 2])
    if _operation_id(case) == "authorize" and isinstance(case.query, dict) and n % 2 == 0:
        case.query.update(client_id="app-1", redirect_uri=REDIRECT)


def _run(case: Any, server: LiveServer) -> None:
    _aim(case)
    CASES[_operation_id(case)] += 1
    response = case.call_and_validate(
        base_url=server.url,
        session=server.session,
        headers=_headers(case, server),
        checks=CHECKS,
        allow_redirects=False,  # the authorize endpoint redirects to the vendor's app
        timeout=10,
    )
    STATUSES[_operation_id(case), response.status_code] += 1


FUZZ = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@schema.include(operation_id=list(DATA)).parametrize()
@settings(FUZZ, max_examples=250)
def test_data_api_conforms(case: Any, shared: LiveServer) -> None:
    _run(case, shared)


@schema.include(operation_id=list(OAUTH)).parametrize()
@settings(FUZZ, max_examples=150)
def test_oauth_endpoints_conform(case: Any, shared: LiveServer) -> None:
    _run(case, shared)


@schema.exclude(operation_id=[*DATA, *OAUTH, *TENANT_WIDE]).parametrize()
@settings(FUZZ, max_examples=40)
def test_control_and_docs_conform(case: Any, shared: LiveServer) -> None:
    _run(case, shared)


@schema.include(operation_id=list(TENANT_WIDE)).parametrize()
@settings(FUZZ, max_examples=40)
def test_tenant_wide_operations_conform(case: Any, live: LiveServer) -> None:
    _run(case, live)


def test_served_spec_is_the_one_fuzzed(live: LiveServer) -> None:
    """The file fuzzed here is what the server serves, but for ``servers`` (its origin)."""
    response = live.session.get(f"{live.url}/openapi.yaml", timeout=10)
    assert response.status_code == 200
    written = SPEC_PATH.read_text(encoding="utf-8")
    served = response.content.decode("utf-8")
    assert served.replace(f'  - url: "{live.url}"\n    description: this sandbox\n', "") == (
        written.replace(
            "  - url: http://127.0.0.1:8080\n"
            "    description: the sandbox's default listen address\n",
            "",
        )
    )


def test_enough_cases_were_generated() -> None:
    """Runs last in this module: the fuzz above sent at least MIN_TOTAL_CASES requests."""
    if len(CASES) < 20:
        pytest.skip("only part of the fuzz ran (-k or a single test)")
    assert sum(CASES.values()) >= MIN_TOTAL_CASES, dict(CASES)
    # The token and the real account ids got the data API past 401 and 404.
    for operation_id in DATA:
        assert STATUSES[operation_id, 200] > 0, STATUSES
    print(sorted(CASES.items()), sum(CASES.values()))
    print(sorted(STATUSES.items()))
