"""The conformance report: what the journal shows a client did, check by check.

Each check reads only journal entries of one client (the facts its requests showed, the
errors they were answered). A check has passed when the client met the situation and did
the right thing every time, failed (with the journal entries that show why) when it did not
once, and is not yet exercised when the situation never came up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sandbox.domain.records import JournalEntry
from sandbox.errors import CATALOG

Status = Literal["passed", "failed", "not_exercised"]
MIN_STATE_LENGTH = 16  # characters: about 96 bits in base64url, unguessable
_RELINK_AFTER = ("reauth_required", "account_transferred")


@dataclass(frozen=True, slots=True)
class Row:
    """One check of the report."""

    check: str
    title: str
    status: Status
    evidence: tuple[int, ...] = ()  # journal seq numbers
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "title": self.title,
            "status": self.status,
            "evidence": list(self.evidence),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Report:
    client_id: str
    rows: tuple[Row, ...]
    entries: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "entries": self.entries,
            "summary": self.counts,
            "checks": [row.as_dict() for row in self.rows],
        }


def _is(entry: JournalEntry, endpoint: str) -> bool:
    return entry.path.endswith(endpoint)


def _verdict(
    check: str,
    title: str,
    met: Sequence[JournalEntry],
    wrong: Sequence[JournalEntry],
    why: str,
    right: str,
) -> Row:
    if wrong:
        return Row(check, title, "failed", tuple(e.seq for e in wrong), why)
    if met:
        return Row(check, title, "passed", tuple(e.seq for e in met[:5]), right)
    return Row(check, title, "not_exercised")


def _pkce(entries: Sequence[JournalEntry]) -> Row:
    met = [e for e in entries if "pkce" in e.facts]
    wrong = [e for e in met if e.facts["pkce"] != "S256"]
    return _verdict(
        "pkce_s256",
        "PKCE with S256 on every authorization request",
        met,
        wrong,
        "authorization requests without code_challenge_method=S256",
        f"{len(met)} authorization requests, all with S256",
    )


def _state(entries: Sequence[JournalEntry]) -> Row:
    met = [e for e in entries if "state_length" in e.facts]
    wrong = [e for e in met if int(e.facts["state_length"]) < MIN_STATE_LENGTH]
    return _verdict(
        "state",
        f"state sent, at least {MIN_STATE_LENGTH} characters (unguessable)",
        met,
        wrong,
        f"authorization requests whose state was missing or under {MIN_STATE_LENGTH} characters",
        f"{len(met)} authorization requests with a long state",
    )


def _grants(entries: Sequence[JournalEntry], grant_type: str) -> list[JournalEntry]:
    return [
        e for e in entries if _is(e, "/oauth/token") and e.facts.get("grant_type") == grant_type
    ]


def _codes(entries: Sequence[JournalEntry]) -> Row:
    tried = _grants(entries, "authorization_code")
    wrong = [
        e
        for e in tried
        if e.facts.get("reason") in ("code_reused", "code_expired", "redirect_uri_mismatch")
    ]
    met = [e for e in tried if e.facts.get("outcome") == "issued"]
    return _verdict(
        "codes_once",
        "each authorization code redeemed once, in time, with the same redirect URI",
        met,
        wrong,
        "codes redeemed twice, too late, or with another redirect_uri",
        f"{len(met)} codes redeemed",
    )


def _refresh(entries: Sequence[JournalEntry]) -> Row:
    tried = _grants(entries, "refresh_token")
    wrong = [e for e in tried if e.facts.get("reason") in ("refresh_reused", "refresh_revoked")]
    met = [e for e in tried if e.facts.get("outcome") == "issued"]
    return _verdict(
        "refresh_rotation",
        "refresh tokens rotated: the newest used, none reused",
        met,
        wrong,
        "a rotated (or revoked) refresh token was sent again",
        f"{len(met)} refreshes, each with the newest token",
    )


def _from_the_app(entry: JournalEntry) -> bool:
    """A request the app itself makes (the screens are the customer's browser)."""
    return entry.step in ("authorize", "token", "api")


def _retry_after(entries: Sequence[JournalEntry]) -> Row:
    met: list[JournalEntry] = []
    wrong: list[JournalEntry] = []
    facing = [e for e in entries if _from_the_app(e)]
    for index, entry in enumerate(facing):
        wait = entry.facts.get("retry_after")
        if not isinstance(wait, int) or isinstance(wait, bool) or not entry.wall:
            continue
        later = next((e for e in facing[index + 1 :] if e.wall), None)
        if later is None:
            continue
        if later.wall < entry.wall + wait:
            wrong.extend((entry, later))
        else:
            met.append(entry)
    return _verdict(
        "retry_after",
        "Retry-After respected after congestion, off-hours and rate limits",
        met,
        wrong,
        "the next request came before Retry-After had passed (pairs: answer, retry)",
        f"{len(met)} waits respected",
    )


def _relink(entries: Sequence[JournalEntry]) -> Row:
    met: list[JournalEntry] = []
    wrong: list[JournalEntry] = []
    facing = [e for e in entries if _from_the_app(e)]
    for index, entry in enumerate(facing):
        if entry.error_code not in _RELINK_AFTER and entry.facts.get("reason") != "reauth_required":
            continue
        following = next(iter(facing[index + 1 :]), None)
        if following is None:
            continue
        if _is(following, "/oauth/auth"):
            met.append(entry)
        else:
            wrong.extend((entry, following))
    return _verdict(
        "relink",
        "a new linkage after reauth_required and after 移管 (account_transferred)",
        met,
        wrong,
        "the client called again with the old grant instead of sending the customer to link",
        f"{len(met)} times the client started a new linkage",
    )


def _revoke(entries: Sequence[JournalEntry]) -> Row:
    met = [e for e in entries if _is(e, "/oauth/revoke") and e.status == 200]
    return _verdict(
        "revoke",
        "/oauth/revoke called when the customer unlinks",
        met,
        [],
        "",
        f"{len(met)} revocations",
    )


def _query_tokens(entries: Sequence[JournalEntry]) -> Row:
    wrong = [e for e in entries if e.facts.get("token_in_query")]
    met = [e for e in entries if e.step == "api"]
    return _verdict(
        "no_token_in_query",
        "no token ever in a query string",
        met,
        wrong,
        "requests with access_token or refresh_token in the URL",
        f"{len(met)} data API requests, tokens in the Authorization header",
    )


def _documented(entries: Sequence[JournalEntry]) -> list[Row]:
    rows = []
    for code, entry in CATALOG.items():
        if not entry.documented:
            continue
        seen = [e for e in entries if e.error_code == code]
        status: Status = "passed" if seen else "not_exercised"
        rows.append(
            Row(
                f"met_{code}",
                f"met the documented error {code}: {entry.message}",
                status,
                tuple(e.seq for e in seen[:5]),
                f"served {len(seen)} times" if seen else "",
            )
        )
    return rows


CHECKS: tuple[Callable[[Sequence[JournalEntry]], Row], ...] = (
    _pkce,
    _state,
    _codes,
    _refresh,
    _retry_after,
    _relink,
    _revoke,
    _query_tokens,
)


def report(client_id: str, journal: Sequence[JournalEntry]) -> Report:
    """The conformance report of ``client_id`` from the bank's journal."""
    entries = sorted((e for e in journal if e.client_id == client_id), key=lambda e: e.seq)
    rows = [check(entries) for check in CHECKS] + _documented(entries)
    counts = {"passed": 0, "failed": 0, "not_exercised": 0}
    for row in rows:
        counts[row.status] += 1
    return Report(client_id, tuple(rows), len(entries), counts)


def junit(report: Report) -> str:
    """The report as JUnit XML, one test case per check (CI systems publish these)."""
    from xml.etree import ElementTree  # only for this report: kept out of start-up

    suite = ElementTree.Element(
        "testsuite",
        name=f"sandbox conformance: {report.client_id}",
        tests=str(len(report.rows)),
        failures=str(report.counts["failed"]),
        skipped=str(report.counts["not_exercised"]),
    )
    for row in report.rows:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"conformance.{report.client_id}", name=row.check
        )
        if row.status == "failed":
            failure = ElementTree.SubElement(case, "failure", message=row.detail)
            failure.text = f"{row.title}\njournal entries: {', '.join(map(str, row.evidence))}"
        elif row.status == "not_exercised":
            ElementTree.SubElement(case, "skipped", message="not yet exercised")
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
