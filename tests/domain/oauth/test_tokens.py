"""Code redemption and grant rules as pure functions (a store applies them atomically)."""

from __future__ import annotations

from datetime import datetime

from sandbox.clock import JST
from sandbox.domain.oauth import tokens
from sandbox.domain.oauth.authorize import AuthRequest
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
