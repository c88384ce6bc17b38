"""The store contract: what every backend of sandbox/store/base.py must do, as its users rely on it.

Each test runs once per backend (the ``store`` fixture's params); a new backend adds its URL
there and must pass the suite unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sandbox.clock import JST, ClockState
from sandbox.domain import linkage as flow
from sandbox.domain.bank import AccountType
from sandbox.domain.forms import AccountInput
from sandbox.domain.linkage import Linkage
from sandbox.domain.lockout import Limits, LockRecord, fail, failures
from sandbox.domain.oauth import tokens
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.domain.oauth.policy import OAuthPolicy
from sandbox.domain.oauth.tokens import CodeRecord, GrantRecord, Refusal, token_hash
from sandbox.domain.phone import PhoneChallenge, open_challenge, settle
from sandbox.domain.postings import Posting
from sandbox.domain.records import JournalEntry, Mail, RuleCount, Transfer
from sandbox.scenario.model import RuleModel, Scenario
from sandbox.scenario.rules import decide
from sandbox.steps import Step
from sandbox.store import StoreError, open_store
from sandbox.store.base import Store, TenantStore, WorkspaceRecord, tenant_key
from sandbox.store.sql import SWEEP_EVERY
from tests.stores import fresh_store

BANK = "2011"
OTHER_BANK = "2012"
NOW = datetime(2026, 11, 5, 10, 0, tzinfo=JST)
REDIRECT = "https://app.example/cb"
REQUEST = AuthRequest("app", REDIRECT, "s1", "accounts", None, None)
POLICY = OAuthPolicy()
LIMITS = Limits(identity=3, pin=3)
PHONE = "09012345678"
AUTH = "0120863713"
SCENARIO = Scenario.model_validate({"name": "contract", "bank": {"code": BANK}})


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store of each backend, with bank 2011 loaded."""
    async with fresh_store(str(request.param), tmp_path) as opened:
        await opened.put_bank(BANK, SCENARIO, "<contract>")
        yield opened


@pytest.fixture
def tenant(store: Store) -> TenantStore:
    return store.tenant(BANK)


# Records built by the domain rules ----------------------------------------------------


def new_linkage(now: datetime = NOW, ttl_seconds: int = 1800) -> Linkage:
    return flow.start(REQUEST, now, ttl_seconds, "https://bank.example")


def entered(linkage: Linkage) -> Linkage:
    """Screen ① accepted (a change of the linkage's content)."""
    form = {"branch_code": "001", "account_type": "ordinary", "account_number": "1234567"}
    checked = AccountInput("001", AccountType.ORDINARY, "1234567")
    return flow.account_entered(linkage, form, checked)


def new_code(customer_id: str = "C001") -> CodeRecord:
    return tokens.new_code(REQUEST, customer_id, ("001-1-1234567",), NOW, POLICY)


def new_grant(grant_id: str, access: str, refresh: str) -> GrantRecord:
    fresh = tokens.new_grant(new_code(), grant_id, NOW, POLICY)
    return tokens.mint(fresh, token_hash(access), token_hash(refresh), NOW, POLICY)


async def put_grant(tenant: TenantStore, record: GrantRecord) -> None:
    """Store a new grant the way the authorisation server does: an update of nothing."""
    stored = await tenant.update_grant(record.grant.grant_id, lambda old: (record, old))
    assert stored is None, "the grant id was free"


def challenge(challenge_id: str = "c1", phone: str = PHONE, at: datetime = NOW) -> PhoneChallenge:
    return open_challenge(challenge_id, phone, AUTH, at, timedelta(seconds=120))


def entry(path: str, status: int = 200) -> JournalEntry:
    return JournalEntry(NOW, "GET", path, status, "app", "api", None, None, {"q": "1"})


def mail(to: str, subject: str = "完了") -> Mail:
    return Mail(NOW, "bank@example.jp", to, subject, "本文", "app")


def rule(on: str = "pin", **fields: object) -> RuleModel:
    return RuleModel.model_validate({"on": on, "error": "congestion", **fields})


def keep(record: CodeRecord | None) -> tuple[CodeRecord | None, CodeRecord | None]:
    """A change that changes nothing and returns what it found (a read through update)."""
    return record, record


async def fill(tenant: TenantStore) -> Linkage:
    """Put something of every kind into a bank's state; returns the linkage put."""
    linkage = new_linkage()
    await tenant.update_clock(lambda _: ClockState.starting(NOW, True, 0.0))
    await tenant.add_linkage(linkage, NOW)
    await tenant.update_lock("001-1234567", lambda r: fail(r, "pin", NOW, LIMITS))
    await tenant.put_challenge(challenge())
    await tenant.put_code(token_hash("code-1"), new_code(), NOW)
    await put_grant(tenant, new_grant("g_1", "a1", "r1"))
    await tenant.add_rule(rule())
    await tenant.update_rule_count(0, lambda c: decide(rule(), 0, c))
    await tenant.record_request(entry("/accounts"))
    await tenant.send_mail(mail("a@example.jp"))
    await tenant.count_served("congestion", "app")
    await tenant.add_transfer(Transfer("001-1-1234567", "002", "7654321", NOW))
    return linkage


async def assert_empty(tenant: TenantStore, linkage: Linkage) -> None:
    """Nothing of what ``fill`` put is left."""
    assert await tenant.get_clock() is None
    assert await tenant.linkages() == []
    assert await tenant.find_linkage(linkage.linkage_id) is None
    assert await tenant.get_lock("001-1234567") is None
    assert await tenant.get_challenge("c1") is None
    assert await tenant.pending_challenges(PHONE) == []
    assert await tenant.update_code(token_hash("code-1"), keep) is None
    assert await tenant.get_grant("g_1") is None
    assert await tenant.grant_of_token(token_hash("a1")) is None
    assert await tenant.grants() == []
    assert await tenant.runtime_rules() == []
    assert await tenant.rule_counts() == {}
    assert await tenant.journal() == []
    assert await tenant.mails() == []
    assert await tenant.served() == {}
    assert await tenant.transfers() == []


# Banks -------------------------------------------------------------------------------


async def test_a_transfer_bumps_the_generation_so_every_worker_rebuilds(
    store: Store, tenant: TenantStore
) -> None:
    before = await store.bank(BANK)
    assert before is not None
    await tenant.add_transfer(Transfer("001-ordinary-1234567", "002", "7654321", NOW))
    after = await store.bank(BANK)
    assert after is not None
    assert after.generation == before.generation + 1
    assert (after.scenario, after.source) == (before.scenario, before.source)


async def test_reset_of_an_unknown_bank_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="not loaded"):
        await store.reset_bank(OTHER_BANK)


def test_an_unknown_store_url_is_refused() -> None:
    with pytest.raises(StoreError, match="unknown store"):
        open_store("nosuch://db")


async def test_banks_are_listed_in_load_order(store: Store) -> None:
    record = await store.bank(BANK)
    assert record is not None
    assert (record.code, record.scenario, record.source) == (BANK, SCENARIO, "<contract>")
    assert await store.bank(OTHER_BANK) is None
    other = Scenario.model_validate({"bank": {"code": OTHER_BANK}})
    assert await store.put_bank(OTHER_BANK, other, "<other>") is None  # nothing replaced
    assert [b.code for b in await store.banks()] == [BANK, OTHER_BANK]
    loaded = await store.bank(OTHER_BANK)
    assert loaded is not None
    assert (loaded.scenario, loaded.source) == (other, "<other>")


async def test_put_bank_replacing_returns_the_old_record_and_clears_state(
    store: Store, tenant: TenantStore
) -> None:
    linkage = await fill(tenant)
    before = await store.bank(BANK)
    assert before is not None
    replacement = Scenario.model_validate({"name": "replacement", "bank": {"code": BANK}})
    old = await store.put_bank(BANK, replacement, "<replacement>")
    assert old == before
    now = await store.bank(BANK)
    assert now is not None
    assert (now.scenario, now.source) == (replacement, "<replacement>")
    assert now.generation > before.generation  # other workers see the bank was replaced
    assert [b.code for b in await store.banks()] == [BANK]
    await assert_empty(store.tenant(BANK), linkage)
    await assert_empty(tenant, linkage)  # a tenant store taken before sees the new state


async def test_reset_bank_bumps_generation_and_clears_state_but_keeps_the_scenario(
    store: Store, tenant: TenantStore
) -> None:
    linkage = await fill(tenant)
    before = await store.bank(BANK)
    assert before is not None
    after = await store.reset_bank(BANK)
    assert after.generation == before.generation + 1
    assert (after.code, after.scenario, after.source) == (BANK, SCENARIO, "<contract>")
    assert await store.bank(BANK) == after
    await assert_empty(tenant, linkage)
    second = await store.reset_bank(BANK)
    assert second.generation == before.generation + 2


async def test_two_banks_have_separate_state(store: Store, tenant: TenantStore) -> None:
    await store.put_bank(
        OTHER_BANK, Scenario.model_validate({"bank": {"code": OTHER_BANK}}), "<other>"
    )
    other = store.tenant(OTHER_BANK)
    linkage = await fill(tenant)
    await assert_empty(other, linkage)
    await fill(other)
    await store.reset_bank(OTHER_BANK)
    await assert_empty(other, linkage)
    assert await tenant.find_linkage(linkage.linkage_id) == linkage
    assert len(await tenant.journal()) == 1
    assert await tenant.get_grant("g_1") is not None


async def test_workspaces_hold_banks_of_the_same_code_apart(store: Store) -> None:
    acme, beta = tenant_key("acme", BANK), tenant_key("beta", BANK)
    await store.put_bank(acme, SCENARIO, "<acme>", "acme")
    await store.put_bank(beta, SCENARIO, "<beta>", "beta")
    assert [r.key for r in await store.banks()] == [BANK]  # the local workspace
    assert [(r.key, r.workspace, r.code) for r in await store.banks("acme")] == [
        (acme, "acme", BANK)
    ]
    linkage = await fill(store.tenant(acme))
    await assert_empty(store.tenant(beta), linkage)
    await assert_empty(store.tenant(BANK), linkage)
    await store.reset_bank(beta)
    assert await store.tenant(acme).find_linkage(linkage.linkage_id) == linkage
    record = await store.bank(acme)
    assert record is not None
    assert record.workspace == "acme"
    assert record.source == "<acme>"


async def test_update_scenario_keeps_state_and_bumps_the_generation(
    store: Store, tenant: TenantStore
) -> None:
    linkage = await fill(tenant)
    before = await store.bank(BANK)
    assert before is not None
    renamed = await store.update_scenario(
        BANK, lambda scenario: scenario.model_copy(update={"name": "renamed"})
    )
    assert renamed.scenario.name == "renamed"
    assert renamed.generation == before.generation + 1
    assert renamed.source == before.source
    assert await tenant.find_linkage(linkage.linkage_id) == linkage
    assert await tenant.get_grant("g_1") is not None
    with pytest.raises(StoreError):
        await store.update_scenario(OTHER_BANK, lambda scenario: scenario)


async def test_workspaces_are_found_by_key_hash_and_names_are_unique(store: Store) -> None:
    first = WorkspaceRecord("acme", "a" * 64, 1.0)
    assert await store.add_workspace(first)
    assert not await store.add_workspace(WorkspaceRecord("acme", "b" * 64, 2.0))
    assert await store.add_workspace(WorkspaceRecord("beta", "c" * 64, 3.0))
    assert await store.workspace_of_key("a" * 64) == first
    assert await store.workspace_of_key("b" * 64) is None
    assert [w.name for w in await store.workspaces()] == ["acme", "beta"]


async def test_add_linkage_refuses_past_the_per_client_quota(tenant: TenantStore) -> None:
    held = [new_linkage(NOW), new_linkage(NOW)]
    for linkage in held:
        assert await tenant.add_linkage(linkage, NOW, per_client=2)
    other = flow.start(replace(REQUEST, client_id="other"), NOW, 1800, None)
    assert await tenant.add_linkage(other, NOW, per_client=2)  # another client's budget
    refused = new_linkage(NOW)
    assert not await tenant.add_linkage(refused, NOW, per_client=2)
    assert await tenant.find_linkage(refused.linkage_id) is None
    assert await tenant.linkages() == [*held, other]  # nothing dropped to make room
    await tenant.drop_linkage(held[0].key)
    assert await tenant.add_linkage(refused, NOW, per_client=2)
    later = NOW + timedelta(seconds=1800)  # the rest timed out: the budget is back
    assert await tenant.add_linkage(new_linkage(later), later, per_client=1)


# Clock -------------------------------------------------------------------------------


async def test_update_clock_applies_the_change_to_the_stored_state(tenant: TenantStore) -> None:
    assert await tenant.get_clock() is None
    start = ClockState.starting(NOW, frozen=True, wall=100.0)
    seen: list[ClockState | None] = []

    def first(state: ClockState | None) -> ClockState:
        seen.append(state)
        return start

    assert await tenant.update_clock(first) == start
    assert seen[-1] is None
    assert await tenant.get_clock() == start
    moved = await tenant.update_clock(lambda state: (state or start).advance(60, 200.0))
    assert moved.now(200.0) == NOW + timedelta(seconds=60)
    assert await tenant.get_clock() == moved


# Linkages ----------------------------------------------------------------------------


async def test_add_and_find_linkage(tenant: TenantStore) -> None:
    linkage = new_linkage()
    await tenant.add_linkage(linkage, NOW)
    assert await tenant.find_linkage(linkage.linkage_id) == linkage
    assert await tenant.find_linkage(linkage.key) is None  # found by its public id only
    assert await tenant.find_linkage("unknown") is None
    assert await tenant.linkages() == [linkage]


async def test_save_linkage_checks_the_version(tenant: TenantStore) -> None:
    linkage = new_linkage()
    await tenant.add_linkage(linkage, NOW)
    saved = await tenant.save_linkage(entered(linkage))
    assert saved is not None
    assert saved.version == linkage.version + 1
    assert saved.step == Step.IDENTITY
    assert saved == replace(entered(linkage), version=linkage.version + 1)
    assert await tenant.find_linkage(linkage.linkage_id) == saved
    # A save from the copy loaded before (a second tab) is refused and changes nothing.
    assert await tenant.save_linkage(flow.aborted(linkage)) is None
    assert await tenant.find_linkage(linkage.linkage_id) == saved
    # The saved one can be saved again.
    again = await tenant.save_linkage(flow.back_to_account(saved))
    assert again is not None
    assert (again.version, again.step) == (saved.version + 1, Step.ACCOUNT)


async def test_a_renewed_linkage_id_replaces_the_old_one(tenant: TenantStore) -> None:
    linkage = new_linkage()
    await tenant.add_linkage(linkage, NOW)
    renewed = flow.renewed(linkage)
    assert renewed.linkage_id != linkage.linkage_id
    saved = await tenant.save_linkage(renewed)
    assert saved is not None
    assert saved.key == linkage.key
    assert await tenant.find_linkage(linkage.linkage_id) is None
    assert await tenant.find_linkage(renewed.linkage_id) == saved
    assert await tenant.linkages() == [saved]


async def test_save_of_a_dropped_linkage_is_refused(tenant: TenantStore) -> None:
    linkage, other = new_linkage(), new_linkage()
    await tenant.add_linkage(linkage, NOW)
    await tenant.add_linkage(other, NOW)
    await tenant.drop_linkage(linkage.key)
    assert await tenant.find_linkage(linkage.linkage_id) is None
    assert await tenant.save_linkage(entered(linkage)) is None
    assert await tenant.find_linkage(linkage.linkage_id) is None
    assert await tenant.linkages() == [other]
    await tenant.drop_linkage("unknown")  # dropping what is not there is harmless
    assert await tenant.linkages() == [other]


async def test_add_linkage_drops_timed_out_linkages(tenant: TenantStore) -> None:
    first = new_linkage(NOW, ttl_seconds=60)
    second = new_linkage(NOW + timedelta(seconds=30), ttl_seconds=60)
    await tenant.add_linkage(first, NOW)
    await tenant.add_linkage(second, NOW + timedelta(seconds=30))
    assert await tenant.linkages() == [first, second]  # oldest first
    third = new_linkage(NOW + timedelta(seconds=60), ttl_seconds=60)
    await tenant.add_linkage(third, NOW + timedelta(seconds=60))  # first timed out just now
    assert await tenant.linkages() == [second, third]
    assert await tenant.find_linkage(first.linkage_id) is None
    assert await tenant.find_linkage(second.linkage_id) == second


# Lockout -----------------------------------------------------------------------------


async def test_update_lock_applies_the_change_and_returns_its_result(
    tenant: TenantStore,
) -> None:
    key = "001-1234567"
    assert await tenant.get_lock(key) is None
    assert await tenant.update_lock(key, lambda r: fail(r, "identity", NOW, LIMITS)) == "counted"
    stored = await tenant.get_lock(key)
    assert stored == fail(None, "identity", NOW, LIMITS)[0]
    assert await tenant.update_lock(key, lambda r: fail(r, "identity", NOW, LIMITS)) == "counted"
    assert failures(await tenant.get_lock(key), "identity", NOW) == 2
    assert await tenant.get_lock("001-7654321") is None  # keys are separate


async def test_none_from_update_lock_deletes(tenant: TenantStore) -> None:
    key = "001-1234567"
    await tenant.update_lock(key, lambda r: fail(r, "pin", NOW, LIMITS))

    def unlock(record: LockRecord | None) -> tuple[LockRecord | None, bool]:
        return None, record is not None

    assert await tenant.update_lock(key, unlock) is True
    assert await tenant.get_lock(key) is None
    assert await tenant.update_lock(key, unlock) is False  # the change saw nothing


# Phone -------------------------------------------------------------------------------


async def test_put_get_and_pending_challenges(tenant: TenantStore) -> None:
    first, second = challenge("c1"), challenge("c2", at=NOW + timedelta(seconds=5))
    elsewhere = challenge("c3", phone="0272123456")
    for c in (first, second, elsewhere):
        await tenant.put_challenge(c)
    assert await tenant.get_challenge("c1") == first
    assert await tenant.get_challenge("nope") is None
    pending = await tenant.pending_challenges(PHONE)
    assert sorted(c.challenge_id for c in pending) == ["c1", "c2"]
    assert [c.challenge_id for c in await tenant.pending_challenges("0272123456")] == ["c3"]
    assert await tenant.pending_challenges("08011112222") == []


async def test_update_challenge_applies_the_change_and_returns_it(tenant: TenantStore) -> None:
    await tenant.put_challenge(challenge("c1"))
    await tenant.put_challenge(challenge("c2"))
    at = NOW + timedelta(seconds=10)
    updated = await tenant.update_challenge("c1", lambda c: settle(c, at))
    assert updated is not None
    assert updated.verified_at == at
    assert await tenant.get_challenge("c1") == updated
    # A settled challenge waits for no call any more.
    assert [c.challenge_id for c in await tenant.pending_challenges(PHONE)] == ["c2"]
    assert await tenant.update_challenge("nope", lambda c: settle(c, at)) is None
    assert await tenant.get_challenge("nope") is None


async def test_put_challenge_replaces_and_drop_forgets(tenant: TenantStore) -> None:
    await tenant.put_challenge(challenge("c1"))
    await tenant.update_challenge("c1", lambda c: settle(c, NOW + timedelta(seconds=500)))
    restarted = challenge("c1", at=NOW + timedelta(seconds=600))
    await tenant.put_challenge(restarted)
    assert await tenant.get_challenge("c1") == restarted
    assert [c.challenge_id for c in await tenant.pending_challenges(PHONE)] == ["c1"]
    assert await tenant.drop_challenge("c1") is True
    assert await tenant.drop_challenge("c1") is False
    assert await tenant.get_challenge("c1") is None
    assert await tenant.pending_challenges(PHONE) == []


# Codes -------------------------------------------------------------------------------


async def test_update_code_applies_the_change_and_returns_its_result(
    tenant: TenantStore,
) -> None:
    hashed, code = token_hash("code-1"), new_code()
    await tenant.put_code(hashed, code, NOW)
    redeemed = await tenant.update_code(
        hashed, lambda r: tokens.redeem(r, "app", REDIRECT, None, NOW, "g_1")
    )
    assert redeemed == code
    burnt = await tenant.update_code(hashed, keep)
    assert burnt is not None
    assert (burnt.used, burnt.grant_id) == (True, "g_1")
    # The second redemption sees the burnt record: refused, naming the grant to revoke.
    replay = await tenant.update_code(
        hashed, lambda r: tokens.redeem(r, "app", REDIRECT, None, NOW, "g_2")
    )
    assert isinstance(replay, Refusal)
    assert replay.revoke is not None
    assert replay.revoke.grant_id == "g_1"
    assert await tenant.update_code(token_hash("code-2"), keep) is None  # unknown: sees None


async def test_none_from_update_code_deletes(tenant: TenantStore) -> None:
    hashed = token_hash("code-1")
    await tenant.put_code(hashed, new_code(), NOW)
    await tenant.put_code(token_hash("code-2"), new_code("C002"), NOW)

    def forget(record: CodeRecord | None) -> tuple[CodeRecord | None, bool]:
        return None, record is not None

    assert await tenant.update_code(hashed, forget) is True
    assert await tenant.update_code(hashed, keep) is None
    assert await tenant.update_code(hashed, forget) is False
    kept = await tenant.update_code(token_hash("code-2"), keep)
    assert kept is not None
    assert kept.customer_id == "C002"


# Grants and tokens -------------------------------------------------------------------


async def test_a_new_grant_makes_its_tokens_findable(tenant: TenantStore) -> None:
    one, two = new_grant("g_1", "a1", "r1"), new_grant("g_2", "a2", "r2")
    await put_grant(tenant, one)
    await put_grant(tenant, two)
    assert await tenant.get_grant("g_1") == one
    assert await tenant.get_grant("g_3") is None
    assert await tenant.grant_of_token(token_hash("a1")) == one
    assert await tenant.grant_of_token(token_hash("r1")) == one
    assert await tenant.grant_of_token(token_hash("r2")) == two
    assert await tenant.grant_of_token(token_hash("unknown")) is None
    assert await tenant.grant_of_token("a1") is None  # by hash only
    assert sorted(g.grant.grant_id for g in await tenant.grants()) == ["g_1", "g_2"]
    await tenant.update_grant("g_1", lambda old: (None, None))  # a grant forgotten
    assert await tenant.grant_of_token(token_hash("a1")) is None
    assert await tenant.grant_of_token(token_hash("a2")) == two


async def test_update_grant_applies_the_change_and_indexes_new_tokens(
    tenant: TenantStore,
) -> None:
    await put_grant(tenant, new_grant("g_1", "a1", "r1"))
    later = NOW + timedelta(hours=2)
    new_hashes = (token_hash("a2"), token_hash("r2"))
    rotated = await tenant.update_grant(
        "g_1",
        lambda r: tokens.rotate(r, "app", token_hash("r1"), None, new_hashes, later, POLICY),
    )
    assert isinstance(rotated, GrantRecord)
    assert await tenant.get_grant("g_1") == rotated
    assert await tenant.grant_of_token(token_hash("a2")) == rotated
    assert await tenant.grant_of_token(token_hash("r2")) == rotated
    # The rotated refresh token still finds its grant (reuse detection needs it).
    assert await tenant.grant_of_token(token_hash("r1")) == rotated
    assert not rotated.tokens[token_hash("r1")].active
    reuse = await tenant.update_grant(
        "g_1",
        lambda r: tokens.rotate(r, "app", token_hash("r1"), None, new_hashes, later, POLICY),
    )
    assert isinstance(reuse, Refusal)
    revoked = await tenant.get_grant("g_1")
    assert revoked is not None
    assert revoked.revoked  # the record the refusal left was stored


async def test_update_grant_sees_none_for_unknown_and_none_deletes(tenant: TenantStore) -> None:
    await put_grant(tenant, new_grant("g_1", "a1", "r1"))
    await put_grant(tenant, new_grant("g_2", "a2", "r2"))

    def forget(record: GrantRecord | None) -> tuple[GrantRecord | None, bool]:
        return None, record is not None

    assert await tenant.update_grant("g_9", forget) is False
    assert await tenant.update_grant("g_1", forget) is True
    assert await tenant.get_grant("g_1") is None
    assert await tenant.grant_of_token(token_hash("a1")) is None
    assert await tenant.grant_of_token(token_hash("r1")) is None
    assert [g.grant.grant_id for g in await tenant.grants()] == ["g_2"]
    assert await tenant.grant_of_token(token_hash("a2")) is not None


# Rules -------------------------------------------------------------------------------


async def test_runtime_rules_and_counts(tenant: TenantStore) -> None:
    first, second = rule("pin"), rule("identity", times="once")
    assert await tenant.runtime_rules() == []
    assert await tenant.add_rule(first) == 1
    assert await tenant.add_rule(second) == 2
    assert await tenant.runtime_rules() == [first, second]
    assert await tenant.rule_counts() == {}

    def bump(count: RuleCount) -> tuple[RuleCount, RuleCount]:
        return RuleCount(count.matched + 1, count.fired), count

    assert await tenant.update_rule_count(3, bump) == RuleCount()  # a new counter starts at 0
    assert await tenant.update_rule_count(3, bump) == RuleCount(1, 0)
    assert await tenant.update_rule_count(0, lambda c: decide(second, 0, c)) is True
    assert await tenant.update_rule_count(0, lambda c: decide(second, 0, c)) is False
    assert await tenant.rule_counts() == {3: RuleCount(2, 0), 0: RuleCount(1, 1)}


async def test_clear_runtime_rules_keeps_counters_below_first_index(tenant: TenantStore) -> None:
    await tenant.add_rule(rule("pin"))
    for index in (0, 1, 2):
        await tenant.update_rule_count(index, lambda c: decide(rule("pin"), 0, c))
    await tenant.clear_runtime_rules(first_index=2)
    assert await tenant.runtime_rules() == []
    assert await tenant.rule_counts() == {0: RuleCount(1, 1), 1: RuleCount(1, 1)}
    assert await tenant.add_rule(rule("api")) == 1  # counted afresh


# Journal, outbox, coverage, 移管 --------------------------------------------------------


async def test_journal_numbers_entries_and_filters_by_seq(tenant: TenantStore) -> None:
    stored = [await tenant.record_request(entry(f"/p{i}", 200 + i)) for i in range(3)]
    seqs = [e.seq for e in stored]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    assert seqs[0] > 0
    assert [e.path for e in stored] == ["/p0", "/p1", "/p2"]
    assert stored[1] == JournalEntry(
        NOW, "GET", "/p1", 201, "app", "api", None, None, {"q": "1"}, seq=seqs[1]
    )
    assert await tenant.journal() == stored
    assert await tenant.journal(since=seqs[0]) == stored[1:]
    assert await tenant.journal(since=seqs[2]) == []


async def test_mails_get_increasing_ids_and_filter_by_recipient(tenant: TenantStore) -> None:
    sent = [
        await tenant.send_mail(mail("a@example.jp", "1")),
        await tenant.send_mail(mail("b@example.jp", "2")),
        await tenant.send_mail(mail("a@example.jp", "3")),
    ]
    ids = [m.mail_id for m in sent]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert ids[0] > 0
    assert [m.subject for m in sent] == ["1", "2", "3"]
    assert await tenant.mails() == sent
    assert await tenant.mails(to="a@example.jp") == [sent[0], sent[2]]
    assert await tenant.mails(to="c@example.jp") == []


async def test_served_counts_per_code_and_client(tenant: TenantStore) -> None:
    await tenant.count_served("congestion", "app")
    await tenant.count_served("congestion", "app")
    await tenant.count_served("congestion", "other")
    await tenant.count_served("system_error", None)
    assert await tenant.served() == {
        ("congestion", "app"): 2,
        ("congestion", "other"): 1,
        ("system_error", ""): 1,  # no client is counted under ""
    }


async def test_transfers_are_kept_in_order(tenant: TenantStore) -> None:
    first = Transfer("001-1-1234567", "002", "7654321", NOW)
    second = Transfer("002-1-7654321", "003", "1111111", NOW + timedelta(minutes=1))
    await tenant.add_transfer(first)
    await tenant.add_transfer(second)
    assert await tenant.transfers() == [first, second]


async def test_postings_are_kept_in_order_and_bump_the_generation(
    store: Store, tenant: TenantStore
) -> None:
    before = await store.bank(BANK)
    assert before is not None
    first = Posting("b1", "001-ordinary-1234567", NOW, "deposit", 500, "ﾃｽﾄ")
    second = Posting("a2", "001-ordinary-1234567", NOW, "withdrawal", 200, "ATM")
    await tenant.add_posting(first)
    await tenant.add_posting(second)
    assert await tenant.postings() == [first, second]  # posting order, not id order
    after = await store.bank(BANK)
    assert after is not None
    assert after.generation == before.generation + 2
    await store.reset_bank(BANK)
    assert await tenant.postings() == []


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
async def test_growth_is_bounded_under_a_frozen_clock(kind: str, tmp_path: Path) -> None:
    """Nothing expires while the clock stands still: past the cap the oldest are forgotten."""
    cap = 20
    async with fresh_store(kind, tmp_path, record_cap=cap) as store:
        await store.put_bank(BANK, SCENARIO, "<contract>")
        tenant = store.tenant(BANK)
        inserted = SWEEP_EVERY + 40  # at least one sweep, whatever the backend's rhythm
        for n in range(inserted):
            await tenant.put_code(token_hash(f"code-{n}"), new_code(), NOW)
            await put_grant(tenant, new_grant(f"g_{n}", f"a{n}", f"r{n}"))
        newest = await tenant.update_code(token_hash(f"code-{inserted - 1}"), keep)
        assert newest is not None  # the newest are kept
        assert await tenant.update_code(token_hash("code-0"), keep) is None
        held = len(await tenant.grants())
        assert held <= cap + SWEEP_EVERY
        assert held < inserted
        assert await tenant.grant_of_token(token_hash("a0")) is None  # forgotten with its grant
        assert await tenant.grant_of_token(token_hash(f"a{inserted - 1}")) is not None
