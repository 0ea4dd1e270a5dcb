"""API tokens: shown once, stored hashed, revocable; per-minute rate limits and monthly usage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from numberplate.errors import AuthError, NotFoundError, RateLimitedError
from numberplate.store import tokens as tokens_module
from numberplate.store.db import Database
from numberplate.store.models import ApiToken
from numberplate.store.tokens import MAX_NAME, TokenNameError, Tokens, hash_token


def test_token_is_stored_only_as_its_hash(db: Database) -> None:
    secret, info = Tokens(db).create("home assistant")
    assert secret.startswith("np_") and len(secret) > 30
    with db.session() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(secret) and secret not in (row.token_hash, row.prefix, row.name)
    assert info.prefix == secret[:10] and "np_" in info.to_dict()["prefix"]


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_NAME + 1)])
def test_empty_or_too_long_names_are_refused(db: Database, name: str) -> None:
    with pytest.raises(TokenNameError, match=f"1 to {MAX_NAME} characters"):
        Tokens(db).create(name)
    assert Tokens(db).list() == []


def test_names_are_kept_whole_up_to_the_limit(db: Database) -> None:
    name = "n" * MAX_NAME
    assert Tokens(db).create(f"  {name} ")[1].name == name
    assert [t.name for t in Tokens(db).list()] == [name]


def test_ids_are_never_reused(db: Database) -> None:
    tokens = Tokens(db)
    tokens.create("a")
    newest = tokens.create("b")[1]
    with db.session() as session:  # tokens are only revoked through the API; a deleted row is the worst case
        session.delete(session.get(ApiToken, newest.id))
    assert tokens.create("c")[1].id > newest.id


def test_authenticate_accepts_valid_and_refuses_unknown_and_revoked(db: Database) -> None:
    tokens = Tokens(db)
    secret, info = tokens.create("a")
    assert tokens.authenticate(secret).id == info.id
    with pytest.raises(AuthError, match="not valid"):
        tokens.authenticate(secret + "x")
    tokens.revoke(info.id)
    with pytest.raises(AuthError, match="revoked"):
        tokens.authenticate(secret)
    assert tokens.list()[0].revoked
    with pytest.raises(NotFoundError):
        tokens.revoke(12345)


def test_rate_limit_per_minute_and_usage(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Calls count per clock minute: hold the clock mid-minute so they all share one.
    monkeypatch.setattr(tokens_module, "utcnow", lambda: datetime(2026, 12, 4, 10, 30, 20, tzinfo=UTC))
    tokens = Tokens(db)
    _, info = tokens.create("a")
    _, other = tokens.create("b")
    for _ in range(3):
        tokens.count_call(info, per_minute=3)
    with pytest.raises(RateLimitedError, match="3 calls a minute") as caught:
        tokens.count_call(info, per_minute=3)
    assert caught.value.retry_after == 40
    tokens.count_call(other, per_minute=3)  # limits are per token
    assert tokens.usage(info) == (3, None)  # the refused call is not counted
    assert tokens.usage(other) == (1, None)
    assert tokens.list()[0].last_used_at is not None


def test_monthly_max_calls(db: Database) -> None:
    tokens = Tokens(db)
    _, info = tokens.create("a", max_calls=2)
    tokens.count_call(info, None)
    tokens.count_call(info, None)
    with pytest.raises(RateLimitedError, match="2 calls for"):
        tokens.count_call(info, None)
    assert tokens.usage(info) == (2, 2)
