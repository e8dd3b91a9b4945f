"""Tables: links between platform orders and DR objects, the line ledger, history, dedupe."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A stored timestamp with its zone: SQLite hands them back naive, and they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Order(Base):
    """One platform order and the Digital River objects linked to it."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("platform", "order_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str | None] = mapped_column(String(32))
    dr_state: Mapped[str | None] = mapped_column(String(32))
    dispute_open: Mapped[bool] = mapped_column(default=False)
    dispute_changed_at: Mapped[str | None] = mapped_column(String(40))
    dr_customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    dr_checkout_id: Mapped[str | None] = mapped_column(String(100), index=True)
    dr_order_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    cart_fingerprint: Mapped[str | None] = mapped_column(String(64))
    total_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    selling_entity_id: Mapped[str | None] = mapped_column(String(100))
    selling_entity_name: Mapped[str | None] = mapped_column(String(200))
    shopper_message: Mapped[str | None] = mapped_column(String(500))
    submit_attempted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[LineItem]] = relationship(
        back_populates="order", order_by="LineItem.id", cascade="all, delete-orphan"
    )


class LineItem(Base):
    """A line's ids on both sides and its ledger of quantities."""

    __tablename__ = "line_items"
    __table_args__ = (UniqueConstraint("order_id", "line_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_ref: Mapped[str] = mapped_column(String(100))
    sku_id: Mapped[str | None] = mapped_column(String(100))
    dr_checkout_item_id: Mapped[str | None] = mapped_column(String(100))
    dr_order_item_id: Mapped[str | None] = mapped_column(String(100))
    ordered: Mapped[int]
    fulfilled: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class Transition(Base):
    """Every status change, with what caused it."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    old: Mapped[str | None] = mapped_column(String(32))
    new: Mapped[str] = mapped_column(String(32))
    dr_state: Mapped[str | None] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class HandledEvent(Base):
    """Events already applied (DR event ids, platform change refs): the same one twice is a no-op."""

    __tablename__ = "handled_events"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32))
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineChangeRecord(Base):
    """A platform line-item change and the DR fulfillment it became.

    Written (state ``sending``) in the same transaction that reserves the quantities, before the
    DR call; ``sent`` with the fulfillment id after it. A ``sending`` row found later means the
    outcome is unknown, and DR is asked before anything is resent.
    """

    __tablename__ = "line_changes"
    __table_args__ = (UniqueConstraint("order_id", "change_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    change_ref: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    request: Mapped[str] = mapped_column(Text)
    dr_fulfillment_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformWrite(Base):
    """Outbox of platform writes, stored in the same transaction as the change that caused them.

    Sent in ``id`` order per order, so a platform never sees statuses out of order; a write that
    fails stays ``pending`` with its error and a time for the next attempt.
    """

    __tablename__ = "platform_writes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


# -- the connector service: inbox, leases, cursors, gates (affluent.service) ---------------------


class InboxEvent(Base):
    """An event received by the service (DR or platform webhook, or found by reconciliation).

    Stored before the webhook is answered, once per ``(source, event_key)``; workers claim due
    rows, process them through the flow, and mark them ``done``, retry them later
    (``pending`` with ``next_attempt_at``), or ``parked`` with the error after too many tries.
    A ``running`` row whose ``locked_until`` has passed belongs to a crashed worker and is
    claimed again.
    """

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("source", "event_key"),
        Index("ix_inbox_events_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    """``dr``, or the platform (adapter) name."""
    event_key: Mapped[str] = mapped_column(String(250))
    """The DR event id, or the platform's delivery id (a body digest when it sends none)."""
    type: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(16))
    """``webhook``, ``reconcile`` or ``cli``."""
    payload: Mapped[str] = mapped_column(Text)
    trace_context: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Lease(Base):
    """An exclusive, expiring hold on a key: one order (per-order serialization), or a singleton
    job such as the reconciler. Taken over by anyone once ``expires_at`` has passed."""

    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    holder: Mapped[str] = mapped_column(String(150))
    expires_at: Mapped[datetime]


class Cursor(Base):
    """How far a periodic reader has got (the reconciler's last seen DR event time)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Gate(Base):
    """An upstream that asked every caller to wait (429 ``Retry-After``), shared by all hosts."""

    __tablename__ = "gates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    closed_until: Mapped[datetime]
