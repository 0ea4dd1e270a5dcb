"""API tokens (stored as SHA-256 only), per-token rate limits and monthly usage counts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from numberplate.errors import AuthError, RateLimitedError, StoreError
from numberplate.store.clock import as_utc, utcnow
from numberplate.store.db import Database, get_or_raise
from numberplate.store.models import ApiToken, Usage

TOKEN_PREFIX = "np_"
MAX_NAME = 100  # the length of the name column
MAX_CALLS = 1_000_000_000  # the largest monthly limit (the column is a 32-bit INTEGER on PostgreSQL)


class TokenNameError(StoreError):
    """A token name is empty or longer than :data:`MAX_NAME` characters."""


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the secret itself."""

    id: int
    name: str
    prefix: str
    max_calls: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat().replace("+00:00", "Z") if d else None

        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "max_calls": self.max_calls,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked": self.revoked,
        }


def checked_name(name: str) -> str:
    """``name`` without surrounding spaces, as a token is stored under it.

    Raises:
        TokenNameError: it is empty or longer than :data:`MAX_NAME` characters.
    """
    name = name.strip()
    if not name:
        raise TokenNameError(f"a token name must have 1 to {MAX_NAME} characters: say who or what will use it")
    if len(name) > MAX_NAME:
        raise TokenNameError(f"a token name must have 1 to {MAX_NAME} characters, got {len(name)}")
    return name


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.id, t.name, t.prefix, t.max_calls, as_utc(t.created_at),
        as_utc(t.last_used_at) if t.last_used_at else None, t.revoked_at is not None,
    )


def _month(now: datetime) -> str:
    return f"M:{now:%Y-%m}"


def _minute(now: datetime) -> str:
    return f"m:{now:%Y-%m-%dT%H:%M}"


class Tokens:
    """Create, check, list and revoke API tokens; count their calls."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, max_calls: int | None = None) -> tuple[str, TokenInfo]:
        """A new token: returns the secret (shown once, never stored) and its listing.

        Raises:
            TokenNameError: ``name`` is empty or longer than :data:`MAX_NAME` characters.
        """
        name = checked_name(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(30)
        with self.db.session() as session:
            row = ApiToken(name=name, prefix=token[:10], token_hash=hash_token(token), max_calls=max_calls)
            session.add(row)
            session.flush()
            return token, _info(row)

    def list(self) -> list[TokenInfo]:
        """Every token, oldest first."""
        with self.db.session() as session:
            return [_info(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]

    def revoke(self, token_id: int) -> TokenInfo:
        """Revoke a token; later calls with it get 401.

        Raises:
            NotFoundError: no such token.
        """
        with self.db.session() as session:
            row = get_or_raise(session, ApiToken, token_id, "token")
            row.revoked_at = row.revoked_at or utcnow()
            session.flush()
            return _info(row)

    def authenticate(self, token: str) -> TokenInfo:
        """The token's record if it is valid.

        Raises:
            AuthError: unknown or revoked token.
        """
        with self.db.session() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
            if row is None:
                raise AuthError("the API token is not valid; create one with `numberplate token create NAME`")
            if row.revoked_at is not None:
                raise AuthError("the API token has been revoked; create a new one with `numberplate token create`")
            return _info(row)

    def count_call(self, token: TokenInfo, per_minute: int | None) -> None:
        """Record one call of ``token``; refuse it beyond ``per_minute`` calls a minute or the monthly ``max_calls``.

        Counters live in the database, so every worker process shares them.

        Raises:
            RateLimitedError: the limit is reached (with seconds until the window resets).
        """
        now = utcnow()
        with self.db.session() as session:
            minute = self._bump(session, token.id, _minute(now))
            if per_minute is not None and minute > per_minute:
                session.rollback()
                raise RateLimitedError(
                    f"more than {per_minute} calls a minute with this token; slow down", 60 - now.second
                )
            month = self._bump(session, token.id, _month(now))
            if token.max_calls is not None and month > token.max_calls:
                session.rollback()
                raise RateLimitedError(f"this token's {token.max_calls} calls for {now:%B %Y} are used up", None)
            session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))

    @staticmethod
    def _bump(session: Any, token_id: int, window: str) -> int:
        updated = session.execute(
            update(Usage).where(Usage.token_id == token_id, Usage.window == window).values(calls=Usage.calls + 1)
        )
        if updated.rowcount == 0:
            try:
                with session.begin_nested():
                    session.add(Usage(token_id=token_id, window=window, calls=1))
            except IntegrityError:  # another worker inserted the row first
                session.execute(
                    update(Usage)
                    .where(Usage.token_id == token_id, Usage.window == window)
                    .values(calls=Usage.calls + 1)
                )
        return int(session.scalar(select(Usage.calls).where(Usage.token_id == token_id, Usage.window == window)))

    def usage(self, token: TokenInfo) -> tuple[int, int | None]:
        """Calls made this calendar month and the monthly maximum (None: unlimited)."""
        with self.db.session() as session:
            calls = session.scalar(
                select(Usage.calls).where(Usage.token_id == token.id, Usage.window == _month(utcnow()))
            )
            return int(calls or 0), token.max_calls

    def prune_usage(self, keep: timedelta = timedelta(hours=1)) -> None:
        """Drop per-minute counters older than ``keep`` (monthly ones stay for statistics)."""
        cutoff = _minute(utcnow() - keep)
        with self.db.session() as session:
            for row in session.scalars(select(Usage).where(Usage.window.like("m:%"), Usage.window < cutoff)):
                session.delete(row)
