"""The flow's reads and writes: prebuilt Core statements over the store's tables.

The ORM classes in :mod:`affluent.store.tables` define the schema; the flow's hot path reads
rows into small dataclasses and writes with Core statements, which SQLAlchemy compiles once and
caches. Loading and flushing ORM objects cost several times as much per step (see the
benchmarks). Every function takes the caller's connection: the caller owns the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, update

from affluent.errors import UnknownOrder
from affluent.models import PlatformUpdate
from affluent.store.tables import (
    HandledEvent,
    LineChangeRecord,
    LineItem,
    Order,
    PlatformWrite,
    Transition,
    utcnow,
)

orders = cast(Table, Order.__table__)
lines = cast(Table, LineItem.__table__)
changes = cast(Table, LineChangeRecord.__table__)
writes = cast(Table, PlatformWrite.__table__)
handled = cast(Table, HandledEvent.__table__)
transitions = cast(Table, Transition.__table__)


@dataclass(slots=True)
class StoredLine:
    """One row of ``line_items``."""

    id: int
    line_ref: str
    sku_id: str | None
    dr_checkout_item_id: str | None
    dr_order_item_id: str | None
    ordered: int
    fulfilled: int
    cancelled: int
    returned: int


@dataclass(slots=True)
class StoredOrder:
    """One row of ``orders`` and, when loaded, its lines."""

    id: int
    platform: str
    order_ref: str
    currency: str
    email: str | None
    status: str | None
    dr_state: str | None
    dr_customer_id: str | None
    dr_checkout_id: str | None
    dr_order_id: str | None
    cart_fingerprint: str | None
    total_amount: Decimal | None
    selling_entity_id: str | None
    selling_entity_name: str | None
    shopper_message: str | None
    submit_attempted: bool
    lines: list[StoredLine] = field(default_factory=list)


@dataclass(slots=True)
class PendingWrite:
    """A platform write waiting in the outbox."""

    id: int
    kind: str
    body: str
    attempts: int
    next_attempt_at: datetime


_ORDER_FIELDS = [f.name for f in fields(StoredOrder) if f.name != "lines"]
_LINE_FIELDS = [f.name for f in fields(StoredLine)]

_IS_REF = (orders.c.platform == bindparam("platform"), orders.c.order_ref == bindparam("order_ref"))
_ORDER_BY_REF = select(*(orders.c[name] for name in _ORDER_FIELDS)).where(*_IS_REF)
_ORDER_WITH_LINES = (
    select(
        *(orders.c[name] for name in _ORDER_FIELDS),
        *(lines.c[name].label(f"line_{name}") for name in _LINE_FIELDS),
    )
    .select_from(orders.outerjoin(lines, lines.c.order_id == orders.c.id))
    .where(*_IS_REF)
    .order_by(lines.c.id)
)
_LINES_OF = (
    select(*(lines.c[name] for name in _LINE_FIELDS))
    .where(lines.c.order_id == bindparam("order_id"))
    .order_by(lines.c.id)
)
_REF_BY_DR_ID = select(orders.c.platform, orders.c.order_ref).where(
    orders.c.dr_order_id == bindparam("dr_order_id")
)
_CUSTOMER_KNOWN = (
    select(orders.c.id).where(orders.c.dr_customer_id == bindparam("customer_id")).limit(1)
)
_INSERT_ORDER = insert(orders)
_INSERT_LINES = insert(lines)
_DELETE_LINES = delete(lines).where(lines.c.order_id == bindparam("order_id"))
_INSERT_TRANSITION = insert(transitions)
_INSERT_HANDLED = insert(handled)
_INSERT_WRITE = insert(writes)
_INSERT_CHANGE = insert(changes)
_UPDATE_ORDER = update(orders).where(orders.c.id == bindparam("order_pk"))
_UPDATE_LINE = update(lines).where(lines.c.id == bindparam("line_pk"))
_HANDLED = select(handled.c.key).where(handled.c.key == bindparam("key"))
_PENDING_WRITES = (
    select(writes.c.id, writes.c.kind, writes.c.body, writes.c.attempts, writes.c.next_attempt_at)
    .where(writes.c.order_id == bindparam("order_id"), writes.c.state == "pending")
    .order_by(writes.c.id)
)
_WRITE_SENT = (
    update(writes)
    .where(writes.c.id == bindparam("write_id"))
    .values(state="sent", sent_at=bindparam("now"), attempts=writes.c.attempts + 1)
)
_WRITE_COUNTS = (
    select(writes.c.state, func.count())
    .where(writes.c.order_id == bindparam("order_id"))
    .group_by(writes.c.state)
)
_CHANGE_BY_REF = select(
    changes.c.id, changes.c.state, changes.c.request, changes.c.dr_fulfillment_id
).where(changes.c.order_id == bindparam("order_id"), changes.c.change_ref == bindparam("ref"))
_SENDING_CHANGES = (
    select(changes.c.id, changes.c.change_ref, changes.c.request)
    .where(changes.c.order_id == bindparam("order_id"), changes.c.state == "sending")
    .order_by(changes.c.id)
)
_CHANGE_SENT = (
    update(changes)
    .where(changes.c.id == bindparam("change_id"))
    .values(state="sent", dr_fulfillment_id=bindparam("fulfillment_id"))
)


# -- orders and lines ----------------------------------------------------------------------------


def find(
    conn: Connection, platform: str, order_ref: str, *, with_lines: bool = True
) -> StoredOrder | None:
    """The order, with its lines unless ``with_lines`` is false; None when not stored."""
    key = {"platform": platform, "order_ref": order_ref}
    if not with_lines:
        row = conn.execute(_ORDER_BY_REF, key).first()
        return StoredOrder(*row) if row is not None else None
    rows = conn.execute(_ORDER_WITH_LINES, key).all()  # one row per line (one if none)
    if not rows:
        return None
    width = len(_ORDER_FIELDS)
    order = StoredOrder(*rows[0][:width])
    order.lines = [StoredLine(*row[width:]) for row in rows if row[width] is not None]
    return order


def get(conn: Connection, platform: str, order_ref: str, *, with_lines: bool = True) -> StoredOrder:
    """:func:`find`, raising :class:`~affluent.errors.UnknownOrder` when not stored."""
    order = find(conn, platform, order_ref, with_lines=with_lines)
    if order is None:
        raise UnknownOrder(order_ref, platform=platform)
    return order


def load_lines(conn: Connection, order_id: int) -> list[StoredLine]:
    return [StoredLine(*row) for row in conn.execute(_LINES_OF, {"order_id": order_id})]


def locate(conn: Connection, dr_order_id: str) -> tuple[str, str] | None:
    """``(platform, order_ref)`` of the order DR knows as ``dr_order_id``."""
    row = conn.execute(_REF_BY_DR_ID, {"dr_order_id": dr_order_id}).first()
    return (row[0], row[1]) if row is not None else None


def customer_known(conn: Connection, customer_id: str) -> bool:
    """True when one of the stored orders already uses this DR customer."""
    return conn.execute(_CUSTOMER_KNOWN, {"customer_id": customer_id}).first() is not None


def insert_order(conn: Connection, platform: str, order_ref: str, **values: Any) -> StoredOrder:
    """A new order with the given columns set."""
    columns = {"platform": platform, "order_ref": order_ref, **values}
    key = conn.execute(_INSERT_ORDER, columns).inserted_primary_key
    assert key is not None
    blank: dict[str, Any] = dict.fromkeys(_ORDER_FIELDS) | {"submit_attempted": False}
    return StoredOrder(**(blank | columns | {"id": int(key[0])}))


def update_order(conn: Connection, order: StoredOrder, **values: Any) -> None:
    """Set columns of the order, in the database and on ``order``."""
    for name, value in values.items():
        setattr(order, name, value)
    conn.execute(_UPDATE_ORDER, {"order_pk": order.id, **values})


def replace_lines(conn: Connection, order: StoredOrder, new: list[dict[str, Any]]) -> None:
    """Replace the order's lines (a changed cart); ``order.lines`` is left as it was."""
    conn.execute(_DELETE_LINES, {"order_id": order.id})
    if new:
        conn.execute(_INSERT_LINES, [{"order_id": order.id, **values} for values in new])


def update_lines(conn: Connection, changed: list[StoredLine], *names: str) -> None:
    """Write the named columns of the given lines (one executemany)."""
    if changed:
        conn.execute(
            _UPDATE_LINE,
            [
                {"line_pk": line.id} | {name: getattr(line, name) for name in names}
                for line in changed
            ],
        )


def add_transition(
    conn: Connection,
    order: StoredOrder,
    old: str | None,
    new: str,
    dr_state: str | None,
    cause: str,
) -> None:
    conn.execute(
        _INSERT_TRANSITION,
        {"order_id": order.id, "old": old, "new": new, "dr_state": dr_state, "cause": cause},
    )


# -- dedupe --------------------------------------------------------------------------------------


def is_handled(conn: Connection, key: str) -> bool:
    return conn.execute(_HANDLED, {"key": key}).first() is not None


def mark_handled(
    conn: Connection, key: str, order_id: int | None, event_type: str, outcome: str
) -> None:
    conn.execute(
        _INSERT_HANDLED, {"key": key, "order_id": order_id, "type": event_type, "outcome": outcome}
    )


# -- the platform-write outbox -------------------------------------------------------------------


def enqueue_write(conn: Connection, order: StoredOrder, change: PlatformUpdate | None) -> None:
    """Store a platform write in the caller's transaction."""
    if change is not None:
        conn.execute(
            _INSERT_WRITE,
            {
                "order_id": order.id,
                "platform": order.platform,
                "kind": change.kind,
                "body": json.dumps(change.body, default=str),
            },
        )


def pending_writes(conn: Connection, order_id: int) -> list[PendingWrite]:
    """The order's unsent writes, oldest first."""
    return [PendingWrite(*row) for row in conn.execute(_PENDING_WRITES, {"order_id": order_id})]


def write_sent(conn: Connection, write_id: int) -> None:
    conn.execute(_WRITE_SENT, {"write_id": write_id, "now": utcnow()})


def write_failed(conn: Connection, write_id: int, error: str, retry_at: datetime) -> None:
    conn.execute(
        update(writes)
        .where(writes.c.id == write_id)
        .values(attempts=writes.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)
    )


def write_counts(conn: Connection, order_id: int) -> dict[str, int]:
    return {
        str(state): int(count)
        for state, count in conn.execute(_WRITE_COUNTS, {"order_id": order_id})
    }


# -- line changes --------------------------------------------------------------------------------


def find_change(conn: Connection, order_id: int, change_ref: str) -> Any | None:
    """The recorded change (``id``, ``state``, ``request``, ``dr_fulfillment_id``) or None."""
    return conn.execute(_CHANGE_BY_REF, {"order_id": order_id, "ref": change_ref}).first()


def add_change(conn: Connection, order_id: int, change_ref: str, request: dict[str, Any]) -> int:
    """Record a change as ``sending``; return its id."""
    result = conn.execute(
        _INSERT_CHANGE,
        {
            "order_id": order_id,
            "change_ref": change_ref,
            "state": "sending",
            "request": json.dumps(request, default=str),
        },
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def sending_changes(conn: Connection, order_id: int) -> list[tuple[int, str, str]]:
    """The order's changes whose DR call has an unknown outcome: ``(id, ref, request)``."""
    return [
        (row[0], row[1], row[2]) for row in conn.execute(_SENDING_CHANGES, {"order_id": order_id})
    ]


def change_sent(conn: Connection, change_id: int, fulfillment_id: str) -> None:
    conn.execute(_CHANGE_SENT, {"change_id": change_id, "fulfillment_id": fulfillment_id})


def release_change(conn: Connection, change_id: int) -> None:
    """Undo the reservation of one ``sending`` change that DR definitely refused."""
    row = conn.execute(
        select(changes.c.order_id, changes.c.request).where(changes.c.id == change_id)
    ).one()
    request = json.loads(row.request)
    by_item = {line.dr_order_item_id: line for line in load_lines(conn, row.order_id)}
    released = []
    for item in request.get("items", []):
        line = by_item.get(item.get("itemId"))
        if line is not None:
            line.fulfilled -= int(item.get("quantity") or 0)
            line.cancelled -= int(item.get("cancelQuantity") or 0)
            released.append(line)
    update_lines(conn, released, "fulfilled", "cancelled")
    conn.execute(delete(changes).where(changes.c.id == change_id))
