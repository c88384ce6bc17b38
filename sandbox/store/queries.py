"""The SQL store's everyday statements, built once, with bound parameters.

Building a SQLAlchemy statement and its cache key costs about 40 µs of Python each time,
and running a newly built one costs 100-150 µs of CPU more than running a prebuilt one
(SQLite and PostgreSQL alike). A data request makes five statements (its bank's
generation, the clock, the grant of its token, the rules and the journal insert), and a
screen as many, reads and writes of single records: those statements are kept here.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, insert, select, update

from sandbox.store.schema import banks, journal, records

_BANK = records.c.bank == bindparam("bank")
_KIND = records.c.kind == bindparam("kind")
_ORDER = (records.c.created, records.c.key)

# One record of a kind: bank, kind, key.
RECORD = select(records.c.data).where(_BANK, _KIND, records.c.key == bindparam("key"))
# Every record of a kind, oldest first: bank, kind; and those with a tag: bank, kind, tag.
RECORDS = select(records.c.data).where(_BANK, _KIND).order_by(*_ORDER)
TAGGED = (
    select(records.c.data).where(_BANK, _KIND, records.c.tag == bindparam("tag")).order_by(*_ORDER)
)
# Every record of a kind by key (rules, postings, transfers): bank, kind.
BY_KEY = select(records.c.data).where(_BANK, _KIND).order_by(records.c.key)
# Keys and data of a kind (rule counts, coverage): bank, kind.
KEYED = select(records.c.key, records.c.data).where(_BANK, _KIND)

_token = records.alias("token")
# The grant a token belongs to: bank, token (the token's hash).
GRANT_OF_TOKEN = (
    select(records.c.data)
    .join(
        _token,
        and_(
            _token.c.bank == records.c.bank,
            _token.c.kind == "token",
            _token.c.data == records.c.key,
        ),
    )
    .where(_BANK, records.c.kind == "grant", _token.c.key == bindparam("token"))
)

# A bank's generation (bumped whenever its scenario or history changes): code.
GENERATION = select(banks.c.generation).where(banks.c.code == bindparam("code"))

# One journal entry: bank, data.
JOURNAL_INSERT = insert(journal)

# Writing one record (an update_* transaction): the record locked (PostgreSQL: FOR UPDATE)
# and deleted by bank, kind, key; inserted with its columns as parameters.
LOCKED_RECORD = RECORD.with_for_update()
DELETE_RECORD = delete(records).where(_BANK, _KIND, records.c.key == bindparam("key"))
INSERT_RECORD = insert(records)
# Changed in place: where_bank, where_kind, where_key; new_data, new_tag, new_forget_at.
# (A parameter of an UPDATE may not be named like a column it sets.)
_WHERE = (
    records.c.bank == bindparam("where_bank"),
    records.c.kind == bindparam("where_kind"),
    records.c.key == bindparam("where_key"),
)
UPDATE_RECORD = (
    update(records)
    .where(*_WHERE)
    .values(
        version=records.c.version + 1,
        data=bindparam("new_data"),
        tag=bindparam("new_tag"),
        forget_at=bindparam("new_forget_at"),
    )
)
# A linkage saved if nobody saved it since it was read: as UPDATE_RECORD, plus
# where_version and new_version.
SAVE_LINKAGE = (
    update(records)
    .where(*_WHERE, records.c.version == bindparam("where_version"))
    .values(
        version=bindparam("new_version"),
        data=bindparam("new_data"),
        tag=bindparam("new_tag"),
        forget_at=bindparam("new_forget_at"),
    )
)
