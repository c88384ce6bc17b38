"""The SQL store's everyday statements: prebuilt, and what one data request runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ClauseElement, Executable

from sandbox.settings import Settings
from sandbox.store import queries
from sandbox.web.app import create_app
from sandbox.web.keys import REGISTRY
from tests.web.conftest import BANK, TARO, link_for_tokens, make_scenario

STATEMENTS: list[ClauseElement] = [
    value
    for value in vars(queries).values()
    if isinstance(value, Executable) and isinstance(value, ClauseElement)
]


def test_every_statement_takes_its_values_as_parameters() -> None:
    """Nothing of a request is built into a statement: each compiles to one SQL text for
    every bank, key and token, so it is built and cached once."""
    assert len(STATEMENTS) >= 12
    dialects = (sqlite.dialect(), postgresql.dialect())  # type: ignore[no-untyped-call]
    for statement in STATEMENTS:
        for dialect in dialects:
            compiled = statement.compile(dialect=dialect)
            values = [v for v in compiled.params.values() if v is not None]
            # Fixed only what the statement itself names: the kinds "token" and "grant"
            # of a token's grant, a version's + 1.
            assert set(values) <= {"token", "grant", 1}, (statement, compiled.params)


async def test_a_data_request_runs_five_prebuilt_statements_on_sqlite(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """GET /accounts on a SQL store runs the bank's generation, the clock, the token's
    grant, the runtime rules and the journal insert, each one of the prebuilt statements
    (none is built for the request: that cost more than running it). A change that adds a
    statement to every data request, or builds one, shows here."""
    settings = Settings(secret_key=b"k" * 32, store_url=f"sqlite:///{tmp_path}/s.db")
    client = await aiohttp_client(create_app(settings, scenarios=[(make_scenario(), "<test>")]))
    tokens = await link_for_tokens(client, TARO)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    url = f"/parasol/v1/banks/{BANK}/accounts"
    tenant = await client.app[REGISTRY].get(BANK)
    assert tenant is not None
    engine = tenant.store._store.engine.sync_engine
    executed: list[Any] = []

    def statement(conn: Any, clause: Any, *args: Any) -> None:
        executed.append(clause)

    event.listen(engine, "before_execute", statement)
    try:
        response = await client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_execute", statement)
    assert response.status == 200
    expected = [
        queries.GENERATION,
        queries.RECORD,  # the clock
        queries.GRANT_OF_TOKEN,
        queries.BY_KEY,  # the runtime rules
        queries.JOURNAL_INSERT,
    ]
    assert [id(c) for c in executed] == [id(q) for q in expected]  # the very objects
