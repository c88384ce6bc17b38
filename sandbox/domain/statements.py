"""Statement requests: the date range and page a ``/transactions`` query asks for."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.errors import SandboxError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
STATEMENT_PARAMS = frozenset({"date_from", "date_to", "limit", "cursor"})
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DIGITS_RE = re.compile(r"\d{1,6}", re.ASCII)


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """A validated statement request: an inclusive date range and a page."""

    date_from: date
    date_to: date
    offset: int = 0
    limit: int = DEFAULT_LIMIT


def _bad(detail: str) -> SandboxError:
    return SandboxError("invalid_parameter", detail)


def _parse_date(name: str, text: str) -> date:
    if _DATE_RE.fullmatch(text) is None:
        raise _bad(f"{name} must be a date in YYYY-MM-DD format")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(f"{name} is not a valid calendar date") from None


def encode_cursor(query: StatementQuery, offset: int) -> str:
    """An opaque cursor continuing ``query`` at ``offset``."""
    raw = f"{query.date_from.isoformat()}|{query.date_to.isoformat()}|{offset}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[date, date, int]:
    try:
        if len(text) > 64 or not text.isascii():
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        first, last, offset = raw.split("|")
        if _DATE_RE.fullmatch(first) is None or _DATE_RE.fullmatch(last) is None:
            raise ValueError
        if _DIGITS_RE.fullmatch(offset) is None:
            raise ValueError
        return date.fromisoformat(first), date.fromisoformat(last), int(offset)
    except (ValueError, binascii.Error, UnicodeError):
        raise _bad("cursor is not a value this API returned as next_cursor") from None


def parse_statement_query(
    params: Sequence[tuple[str, str]],
    *,
    today: date,
    held_from: date,
    max_days: int,
) -> StatementQuery:
    """Validate the query string of ``/transactions`` (SandboxError on any problem)."""
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in STATEMENT_PARAMS:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise _bad(
                f"unknown query parameter {shown!r}; allowed: {', '.join(sorted(STATEMENT_PARAMS))}"
            )
        if name in seen:
            raise _bad(f"query parameter {name!r} is given more than once")
        seen[name] = value
    given_from = _parse_date("date_from", seen["date_from"]) if "date_from" in seen else None
    given_to = _parse_date("date_to", seen["date_to"]) if "date_to" in seen else None
    limit = DEFAULT_LIMIT
    if "limit" in seen:
        text = seen["limit"]
        if _DIGITS_RE.fullmatch(text) is None or not 1 <= int(text) <= MAX_LIMIT:
            raise _bad(f"limit must be an integer from 1 to {MAX_LIMIT}")
        limit = int(text)
    offset = 0
    if "cursor" in seen:
        cursor_from, cursor_to, offset = _decode_cursor(seen["cursor"])
        if (given_from is not None and given_from != cursor_from) or (
            given_to is not None and given_to != cursor_to
        ):
            raise _bad("cursor belongs to a different date_from/date_to")
        given_from, given_to = cursor_from, cursor_to
    date_to = min(given_to, today) if given_to is not None else today
    if given_from is None:
        date_from = max(held_from, date_to - timedelta(days=max_days - 1))
        if date_from > date_to:
            date_from = date_to
    else:
        date_from = given_from
    if date_from > today:
        raise _bad(f"date_from {date_from.isoformat()} is in the future (today is {today})")
    if given_to is not None and date_from > given_to:
        raise _bad("date_from must not be after date_to")
    if date_from < held_from:
        raise SandboxError(
            "period_out_of_range",
            f"statements are held from {held_from.isoformat()} only (about 3 months)",
        )
    if (date_to - date_from).days + 1 > max_days:
        raise _bad(f"the range date_from..date_to must not exceed {max_days} days")
    return StatementQuery(date_from, date_to, offset, limit)
