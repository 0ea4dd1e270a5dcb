"""The database tables: reads and their plates, the watchlist, API tokens and usage, the local vehicle registry,
the webhook outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from numberplate.store.clock import utcnow


class Base(DeclarativeBase):
    """Declarative base of every numberplate table."""


# Tables whose ids clients see (in URLs and API answers): on SQLite, AUTOINCREMENT so that an id is never given
# again after its row is deleted (a kept link must not show another read). PostgreSQL sequences never reuse ids.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
# Ids and the foreign keys to them: 64-bit, as ids are never given again (a site saving 100 reads a second would
# use up 32-bit ids in under a year). SQLite's INTEGER already is; it must stay the type's name there, since only
# an INTEGER PRIMARY KEY is the rowid (and may be AUTOINCREMENT).
ID = BigInteger().with_variant(Integer, "sqlite")


class Read(Base):
    """One processed image: when, from where, and the plates found in it."""

    __tablename__ = "reads"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(32), default="web", index=True)  # web, api, plate-recognizer, cli, video
    camera_id: Mapped[str | None] = mapped_column(String(128), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    image_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    processing_ms: Mapped[float] = mapped_column(Float, default=0.0)
    country_hint: Mapped[str | None] = mapped_column(String(8))
    token_id: Mapped[int | None] = mapped_column(ID, ForeignKey("api_tokens.id", ondelete="SET NULL"))

    plates: Mapped[list[Plate]] = relationship(
        back_populates="read", cascade="all, delete-orphan", order_by="Plate.position", lazy="selectin"
    )


class Plate(Base):
    """One plate of a read: box, text, confidences, candidates, crop and vehicle details."""

    __tablename__ = "plates"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    read_id: Mapped[int] = mapped_column(ID, ForeignKey("reads.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str | None] = mapped_column(String(32))
    # Upper-case letters and digits only: what searches and the watchlist compare.
    plate_norm: Mapped[str] = mapped_column(String(32), default="", index=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    detection_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # Not plain xmin/xmax: PostgreSQL reserves those names for system columns.
    box_xmin: Mapped[int] = mapped_column(Integer)
    box_ymin: Mapped[int] = mapped_column(Integer)
    box_xmax: Mapped[int] = mapped_column(Integer)
    box_ymax: Mapped[int] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(String(8))
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    crop_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    vehicle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lookup_error: Mapped[str | None] = mapped_column(Text)
    watch_id: Mapped[int | None] = mapped_column(ID, ForeignKey("watchlist.id", ondelete="SET NULL"), index=True)

    read: Mapped[Read] = relationship(back_populates="plates")
    watch: Mapped[WatchEntry | None] = relationship(lazy="joined")


class WatchEntry(Base):
    """A plate on the watchlist (hotlist): reads within ``max_distance`` characters of it raise an alert."""

    __tablename__ = "watchlist"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plate_norm: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    max_distance: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """An API token; only its SHA-256 is stored, with a short prefix to tell tokens apart."""

    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    max_calls: Mapped[int | None] = mapped_column(Integer)  # per calendar month; None: unlimited
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Usage(Base):
    """API calls per token per window (a minute for rate limits, a month for ``usage``)."""

    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("token_id", "window", name="uq_usage_token_window"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token_id: Mapped[int] = mapped_column(ID, ForeignKey("api_tokens.id", ondelete="CASCADE"))
    window: Mapped[str] = mapped_column(String(20))  # "m:2026-11-24T20:53" or "M:2026-11"
    calls: Mapped[int] = mapped_column(Integer, default=0)


class Vehicle(Base):
    """The local vehicle registry: what the ``local`` lookup provider answers from."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("plate_norm", "country", name="uq_vehicles_plate_country"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plate_norm: Mapped[str] = mapped_column(String(32), index=True)
    country: Mapped[str] = mapped_column(String(8), default="")  # "" matches any country
    make: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    colour: Mapped[str | None] = mapped_column(String(50))
    fuel: Mapped[str | None] = mapped_column(String(50))
    year: Mapped[int | None] = mapped_column(Integer)
    engine_size: Mapped[str | None] = mapped_column(String(50))
    body: Mapped[str | None] = mapped_column(String(100))
    registration_date: Mapped[str | None] = mapped_column(String(32))
    tax_status: Mapped[str | None] = mapped_column(String(100))
    inspection_status: Mapped[str | None] = mapped_column(String(100))
    vin: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class LookupCacheEntry(Base):
    """A provider's answer (or not-found) for a plate, kept until ``expires_at``."""

    __tablename__ = "lookup_cache"
    __table_args__ = (
        UniqueConstraint("provider", "country", "plate_norm", name="uq_lookup_cache_key"),
        Index("ix_lookup_cache_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    country: Mapped[str] = mapped_column(String(8), default="")
    plate_norm: Mapped[str] = mapped_column(String(32))
    found: Mapped[bool] = mapped_column(default=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One webhook POST owed to one URL for one stored read: the outbox, written in the read's own transaction.

    ``status`` is ``pending`` until a 2xx answer (``delivered``) or the last attempt (``failed``). A deliverer
    claims a due row by setting ``lease_until`` / ``lease_owner`` with a compare-and-set UPDATE; the row goes
    with its read (ON DELETE CASCADE): a read deleted before its delivery is not announced.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # X-Numberplate-Delivery, the same on every retry
    read_id: Mapped[int] = mapped_column(ID, ForeignKey("reads.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # "read" or "alert"
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the read as the API returned it when it was stored
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None] = mapped_column(Integer)  # the HTTP status of the last answer
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
