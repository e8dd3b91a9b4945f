"""Reconciliation: read DR's event log since a stored cursor and feed missed events to the inbox.

Webhooks can be lost (an outage longer than DR's retries, a disabled endpoint). DR keeps every
event behind ``GET /events``, so a pass lists the events created since the cursor (minus an
overlap for events DR lists late), stores each through the same insert-or-ignore as a webhook
(keyed by the DR event id), and moves the cursor to the newest event seen. A second pass over the
same window finds every event already stored and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from affluent import tracing
from affluent.dr import AsyncDigitalRiver, Event
from affluent.service._db import now, off_loop
from affluent.service.inbox import Inbox
from affluent.store import Store
from affluent.store.tables import Cursor, aware

__all__ = ["CURSOR", "ReconcileResult", "reconcile"]

log = logging.getLogger(__name__)

CURSOR = "dr_events"
PAGE_SIZE = 100


@dataclass(frozen=True)
class ReconcileResult:
    """What one pass saw: events listed, events new to the inbox, the window and new cursor."""

    listed: int
    added: int
    since: datetime
    cursor: datetime | None


def read_cursor(store: Store, name: str = CURSOR) -> datetime | None:
    with store.session() as session:
        row = session.get(Cursor, name)
        return datetime.fromisoformat(row.position) if row is not None else None


def _write_cursor(store: Store, position: datetime, name: str = CURSOR) -> None:
    with store.session() as session:
        row = session.get(Cursor, name, with_for_update=True)
        if row is None:
            session.add(Cursor(name=name, position=position.isoformat()))
        elif datetime.fromisoformat(row.position) < position:
            row.position = position.isoformat()


def _store_events(store: Store, found: list[Event]) -> int:
    """Insert-or-ignore every event (oldest first), then move the cursor; return how many
    were new."""
    inbox = Inbox(store)
    added = 0
    for event in found:
        _, created = inbox.add(
            source="dr",
            event_key=event.id,
            type=event.type,
            payload=event.to_json(),
            origin="reconcile",
        )
        added += created
    times = [when for when in map(_created, found) if when is not None]
    if times:
        _write_cursor(store, max(times))
    return added


def _created(event: Event) -> datetime | None:
    when = event.created_time
    if when is None:
        return None
    return aware(when)


async def reconcile(
    dr: AsyncDigitalRiver,
    store: Store,
    *,
    lookback: float = 72 * 3600.0,
    overlap: float = 300.0,
    since: datetime | None = None,
) -> ReconcileResult:
    """Store every DR event newer than the cursor (or ``since``) in the inbox.

    :param lookback: how far back to read when no cursor is stored yet.
    :param overlap: seconds re-read before the cursor, for events listed late.
    :param since: read from here instead of the stored cursor (the cursor still only moves
        forward).
    """
    cursor = await off_loop(read_cursor, store)
    if since is None:
        start = (
            cursor - timedelta(seconds=overlap)
            if cursor is not None
            else now() - timedelta(seconds=lookback)
        )
    else:
        start = aware(since)
    with tracing.span("affluent.reconcile", since=start.isoformat()) as span:
        found = [
            event async for event in dr.events.iterate(created_time={"gte": start}, limit=PAGE_SIZE)
        ]
        found.sort(key=lambda e: (_created(e) or start, e.id))
        added = await off_loop(_store_events, store, found)
        span.set_attribute("affluent.listed", len(found))
        span.set_attribute("affluent.added", added)
    result = ReconcileResult(len(found), added, start, await off_loop(read_cursor, store))
    log.info(
        "reconciled DR events: %d listed since %s, %d new",
        result.listed,
        start.isoformat(),
        result.added,
    )
    return result
