"""Each conformance check, with a client that passes it and one that fails it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import pytest

from sandbox.clock import JST
from sandbox.domain.conformance import junit, report
from sandbox.domain.records import JournalEntry

AT = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
AUTH, TOKEN, API = "/p/oauth/auth", "/p/oauth/token", "/p/accounts"


def e(seq: int, path: str, step: str, **extra: Any) -> JournalEntry:
    facts = extra.pop("facts", {})
    return JournalEntry(
        at=AT,
        method="GET",
        path=path,
        status=extra.pop("status", 200),
        client_id=extra.pop("client", "app"),
        step=step,
        error_code=extra.pop("error_code", None),
        rule=None,
        seq=seq,
        wall=extra.pop("wall", 1000.0 + seq),
        facts=facts,
    )


def row(journal: list[JournalEntry], check: str) -> dict[str, Any]:
    (found,) = [r for r in report("app", journal).rows if r.check == check]
    return found.as_dict()


GOOD_AUTH: dict[str, str | int | bool] = {"pkce": "S256", "state_length": 32}
CODE = "authorization_code"

CASES: list[tuple[str, list[JournalEntry], list[JournalEntry], tuple[int, ...]]] = [
    (
        "pkce_s256",
        [e(1, AUTH, "authorize", facts=GOOD_AUTH)],
        [e(1, AUTH, "authorize", facts=GOOD_AUTH), e(2, AUTH, "authorize", facts={"pkce": "none"})],
        (2,),
    ),
    (
        "state",
        [e(1, AUTH, "authorize", facts=GOOD_AUTH)],
        [e(1, AUTH, "authorize", facts={"pkce": "S256", "state_length": 4})],
        (1,),
    ),
    (
        "codes_once",
        [e(1, TOKEN, "token", facts={"grant_type": "authorization_code", "outcome": "issued"})],
        [
            e(1, TOKEN, "token", facts={"grant_type": "authorization_code", "outcome": "issued"}),
            e(
                2,
                TOKEN,
                "token",
                facts={"grant_type": "authorization_code", "reason": "code_reused"},
            ),
        ],
        (2,),
    ),
    (
        "refresh_rotation",
        [e(1, TOKEN, "token", facts={"grant_type": "refresh_token", "outcome": "issued"})],
        [e(1, TOKEN, "token", facts={"grant_type": "refresh_token", "reason": "refresh_reused"})],
        (1,),
    ),
    (
        "retry_after",
        [
            e(1, API, "api", status=503, facts={"retry_after": 30}, wall=100.0),
            e(2, API, "api", wall=131.0),
        ],
        [
            e(1, API, "api", status=503, facts={"retry_after": 30}, wall=100.0),
            e(2, API, "api", wall=105.0),
        ],
        (1, 2),
    ),
    (
        "relink",
        [e(1, API, "api", status=401, error_code="reauth_required"), e(2, AUTH, "authorize")],
        [e(1, API, "api", status=403, error_code="account_transferred"), e(2, API, "api")],
        (1, 2),
    ),
    (
        "no_token_in_query",
        [e(1, API, "api")],
        [e(1, API, "api"), e(2, API, "api", facts={"token_in_query": True})],
        (2,),
    ),
]


@pytest.mark.parametrize(("check", "passing", "failing", "evidence"), CASES)
def test_a_check_passes_and_fails_with_its_evidence(
    check: str,
    passing: list[JournalEntry],
    failing: list[JournalEntry],
    evidence: tuple[int, ...],
) -> None:
    assert row(passing, check)["status"] == "passed"
    failed = row(failing, check)
    assert failed["status"] == "failed"
    assert tuple(failed["evidence"]) == evidence
    assert failed["detail"]
    assert row([], check)["status"] == "not_exercised"


def test_revoke_passes_once_called_and_is_never_a_failure() -> None:
    assert row([e(1, "/p/oauth/revoke", "token")], "revoke")["status"] == "passed"
    assert row([e(1, API, "api")], "revoke")["status"] == "not_exercised"


def test_each_documented_error_met_is_a_row() -> None:
    journal = [e(1, "/p/linkage/x/identity", "identity", status=401, error_code="wrong_identity")]
    assert row(journal, "met_wrong_identity")["status"] == "passed"
    assert row(journal, "met_congestion")["status"] == "not_exercised"


def test_only_the_clients_own_entries_count() -> None:
    journal = [e(1, AUTH, "authorize", client="other", facts={"pkce": "none"})]
    assert row(journal, "pkce_s256")["status"] == "not_exercised"


def test_junit_has_one_case_per_check_with_failures_and_skips() -> None:
    journal = [e(1, AUTH, "authorize", facts={"pkce": "none", "state_length": 32})]
    made = report("app", journal)
    suite = ElementTree.fromstring(junit(made))
    cases = suite.findall("testcase")
    assert len(cases) == len(made.rows)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["pkce_s256"]
    assert suite.get("failures") == "1"
    assert int(suite.get("skipped", "0")) == made.counts["not_exercised"]
