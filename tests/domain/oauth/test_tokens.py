"""Code redemption and grant rules as pure functions (a store applies them atomically)."""

from __future__ import annotations

from datetime import datetime

import pytest

from sandbox.clock import JST
from sandbox.domain.oauth import tokens
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.domain.oauth.errors import BearerError
from sandbox.domain.oauth.policy import OAuthPolicy
from sandbox.domain.oauth.tokens import Refusal, token_hash

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
POLICY = OAuthPolicy()
REQUEST = AuthRequest("app", "https://app.example/cb", "s", "accounts", None, None)


def code() -> tokens.CodeRecord:
    return tokens.new_code(REQUEST, "C001", ("001-ordinary-1234567",), NOW, POLICY)


def test_a_replay_that_wins_the_race_still_revokes_the_first_grant() -> None:
    """The replay is seen after the code was burnt but before the grant was stored."""
    burnt, first = tokens.redeem(code(), "app", REQUEST.redirect_uri, None, NOW, "g_1")
    assert isinstance(first, tokens.CodeRecord)
    assert burnt is not None
    _, replay = tokens.redeem(burnt, "app", REQUEST.redirect_uri, None, NOW, "g_2")
    assert isinstance(replay, Refusal)
    assert replay.revoke is not None
    # The replay revokes a grant that is not stored yet: a revoked record takes its place.
    tombstone, _ = tokens.revoked_grant(None, replay.revoke, NOW, POLICY)
    assert tombstone is not None
    assert tombstone.revoked
    # The first redemption then stores its grant: born revoked, so its tokens never work.
    fresh = tokens.mint(
        tokens.new_grant(first, "g_1", NOW, POLICY), token_hash("a"), token_hash("r"), NOW, POLICY
    )
    stored, _ = tokens.stored_grant(tombstone, fresh)
    assert stored.revoked
    assert not any(t.active for t in stored.tokens.values())
    # Without a replay the grant is stored as minted.
    alone, _ = tokens.stored_grant(None, fresh)
    assert alone == fresh


def test_a_burnt_code_is_remembered_a_day_for_reuse_detection() -> None:
    unused = code()
    assert unused.forget_at == unused.expires_at + POLICY.code_ttl
    burnt, _ = tokens.redeem(unused, "app", "https://other.example/cb", None, NOW, "g_1")
    assert burnt is not None
    assert burnt.used
    assert burnt.forget_at == burnt.expires_at + tokens.MEMORY


def test_refreshing_under_a_frozen_clock_keeps_a_grant_bounded() -> None:
    """A thousand refreshes at one moment: the newest access tokens work, older ones are
    unknown (as if expired), and the grant holds a bounded number of tokens."""
    _, first = tokens.redeem(code(), "app", REQUEST.redirect_uri, None, NOW, "g_1")
    assert isinstance(first, tokens.CodeRecord)
    record = tokens.mint(
        tokens.new_grant(first, "g_1", NOW, POLICY), token_hash("a0"), token_hash("r0"), NOW, POLICY
    )
    for n in range(1, 1001):
        new = (token_hash(f"a{n}"), token_hash(f"r{n}"))
        rotated, result = tokens.rotate(
            record, "app", token_hash(f"r{n - 1}"), None, new, NOW, POLICY
        )
        assert not isinstance(result, Refusal)
        assert rotated is not None
        record = rotated
    assert len(record.tokens) <= tokens.ACCESS_KEPT + tokens.ROTATED_KEPT + 1
    newest = [token_hash(f"a{n}") for n in range(1000 - tokens.ACCESS_KEPT + 1, 1001)]
    assert all(tokens.bearer(record, h, NOW, "accounts") for h in newest)
    older = token_hash(f"a{1000 - tokens.ACCESS_KEPT}")
    with pytest.raises(BearerError) as refused:
        tokens.bearer(record, older, NOW, "accounts")
    assert refused.value.code == "invalid_token"
    # Reusing a refresh token that is still remembered revokes the grant, as before.
    reused, refusal = tokens.rotate(
        record, "app", token_hash("r999"), None, ("x", "y"), NOW, POLICY
    )
    assert isinstance(refusal, Refusal)
    assert reused is not None
    assert reused.revoked
