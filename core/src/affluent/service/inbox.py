"""The inbox: every accepted event, stored before it is answered, worked off by workers.

Life of a row (``inbox_events``)::

    pending --claim--> running --finish--> done
       ^                  |  \\--park----> parked   (permanent error, or too many attempts)
       |                  |
       +----retry/release-+                          (``next_attempt_at`` in the future)

Claiming is ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores the clause) followed
by one conditional ``UPDATE … RETURNING`` that takes only the rows still claimable, so two
workers never both win a row on either database. A claim is a lease (``locked_by``, ``locked_until``): a worker renews it while it
works, and a ``running`` row whose lease ran out (its worker died) is claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from affluent.service._db import affected, insert_ignoring, now
from affluent.store import Store
from affluent.store.tables import InboxEvent

__all__ = ["STATES", "Inbox", "Job"]

STATES = ("pending", "running", "done", "parked")
_CLAIMABLE = ("pending", "running")
_ERROR_LIMIT = 4000


@dataclass(frozen=True)
class Job:
    """A claimed inbox row, detached from the session."""

    id: int
    source: str
    event_key: str
    type: str
    origin: str
    payload: str
    attempts: int
    trace_context: str | None


_inbox = cast(Table, InboxEvent.__table__)
_CLAIMABLE_NOW = (
    _inbox.c.state.in_(_CLAIMABLE),
    _inbox.c.next_attempt_at <= bindparam("now"),
    or_(_inbox.c.locked_until.is_(None), _inbox.c.locked_until < bindparam("now")),
)
_CANDIDATES = (
    select(_inbox.c.id)
    .where(*_CLAIMABLE_NOW)
    .order_by(_inbox.c.next_attempt_at, _inbox.c.id)
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(_inbox)
    .where(_inbox.c.id.in_(bindparam("ids", expanding=True)), *_CLAIMABLE_NOW)
    .values(
        state="running",
        locked_by=bindparam("worker_id"),
        locked_until=bindparam("until"),
        attempts=_inbox.c.attempts + 1,
    )
    .returning(*(_inbox.c[name] for name in Job.__dataclass_fields__))
)
_SETTLE = update(_inbox).where(
    _inbox.c.id == bindparam("job_id"),
    _inbox.c.locked_by == bindparam("worker_id"),
    _inbox.c.state == "running",
)
_SETTLE_UNCOUNT = _SETTLE.values(attempts=_inbox.c.attempts - 1)


class Inbox:
    """Store, claim and settle inbox rows."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._insert = insert_ignoring(store, _inbox, ["source", "event_key"]).returning(
            _inbox.c.id
        )

    # -- receiving ---------------------------------------------------------------------------

    def add(
        self,
        *,
        source: str,
        event_key: str,
        type: str,
        payload: str,
        origin: str = "webhook",
        trace_context: str | None = None,
    ) -> tuple[int | None, bool]:
        """Store an event once per ``(source, event_key)``; return ``(id, created)``.

        One statement, one transaction. A second delivery of the same event changes nothing
        and returns ``(None, False)``.
        """
        values = {
            "source": source,
            "event_key": event_key,
            "type": type,
            "origin": origin,
            "payload": payload,
            "trace_context": trace_context,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now(),
            "received_at": now(),
        }
        try:
            with self.store.transaction() as conn:
                new_id = conn.execute(self._insert, values).scalar_one_or_none()
        except IntegrityError:  # dialects without ON CONFLICT
            new_id = None
        return new_id, new_id is not None

    # -- working -----------------------------------------------------------------------------

    def claim(self, worker: str, limit: int, lease: float) -> list[Job]:
        """Claim up to ``limit`` due rows for ``lease`` seconds; each claim counts an attempt."""
        if limit <= 0:
            return []
        current = now()
        with self.store.transaction() as conn:
            candidates = conn.scalars(_CANDIDATES.limit(limit), {"now": current}).all()
            if not candidates:
                return []
            rows = conn.execute(
                _CLAIM,
                {
                    "ids": list(candidates),
                    "now": current,
                    "worker_id": worker,
                    "until": current + timedelta(seconds=lease),
                },
            ).all()
        return sorted((Job(**row._mapping) for row in rows), key=lambda job: job.id)

    def _settle(self, job_id: int, worker: str, *, uncount: bool = False, **values: object) -> bool:
        """Update a row this worker holds (``uncount``: take back the attempt its claim counted)."""
        statement = _SETTLE_UNCOUNT if uncount else _SETTLE
        with self.store.transaction() as conn:
            result = conn.execute(statement, {"job_id": job_id, "worker_id": worker, **values})
            return affected(result) == 1

    def extend(self, job_ids: Sequence[int], worker: str, lease: float) -> int:
        """Renew this worker's claims; return how many it still holds."""
        if not job_ids:
            return 0
        with self.store.transaction() as conn:
            result = conn.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.id.in_(list(job_ids)),
                    InboxEvent.locked_by == worker,
                    InboxEvent.state == "running",
                )
                .values(locked_until=now() + timedelta(seconds=lease))
            )
            return affected(result)

    def finish(self, job_id: int, worker: str, outcome: str) -> bool:
        """Mark a claimed row done; False if the claim was lost meanwhile."""
        return self._settle(
            job_id,
            worker,
            state="done",
            outcome=outcome[:32],
            locked_by=None,
            locked_until=None,
            finished_at=now(),
        )

    def retry(
        self, job_id: int, worker: str, error: str, delay: float, *, count: bool = True
    ) -> bool:
        """Give a claimed row back to run again after ``delay`` seconds.

        ``count=False`` takes back the attempt the claim counted (waiting is not failing).
        """
        values: dict[str, object] = {
            "state": "pending",
            "last_error": error[:_ERROR_LIMIT],
            "next_attempt_at": now() + timedelta(seconds=delay),
            "locked_by": None,
            "locked_until": None,
        }
        return self._settle(job_id, worker, uncount=not count, **values)

    def release(self, job_id: int, worker: str, delay: float = 0.0) -> bool:
        """Hand a claimed row back untouched (shutdown, or its order is busy)."""
        return self._settle(
            job_id,
            worker,
            uncount=True,
            state="pending",
            next_attempt_at=now() + timedelta(seconds=delay),
            locked_by=None,
            locked_until=None,
        )

    def park(self, job_id: int, worker: str, error: str, outcome: str = "error") -> bool:
        """Stop retrying a claimed row; it keeps its error for ``affluent events``."""
        return self._settle(
            job_id,
            worker,
            state="parked",
            outcome=outcome[:32],
            last_error=error[:_ERROR_LIMIT],
            locked_by=None,
            locked_until=None,
            finished_at=now(),
        )

    def next_due(self) -> datetime | None:
        """When the earliest pending row becomes due (``None`` when none is pending)."""
        with self.store.transaction() as conn:
            return conn.scalar(
                select(func.min(InboxEvent.next_attempt_at)).where(InboxEvent.state.in_(_CLAIMABLE))
            )

    # -- inspecting and replaying ------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per state."""
        with self.store.transaction() as conn:
            rows = conn.execute(
                select(InboxEvent.state, func.count()).group_by(InboxEvent.state)
            ).all()
        found = {state: 0 for state in STATES}
        found.update({state: count for state, count in rows})
        return found

    def recent(
        self,
        *,
        state: str | None = None,
        source: str | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[InboxEvent]:
        """The newest rows first, optionally filtered."""
        query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
        if state:
            query = query.where(InboxEvent.state == state)
        if source:
            query = query.where(InboxEvent.source == source)
        if type:
            query = query.where(InboxEvent.type == type)
        with self.store.session() as session:
            return list(session.scalars(query).all())

    def get(self, job_id: int) -> InboxEvent | None:
        with self.store.session() as session:
            return session.get(InboxEvent, job_id)

    def replay(self, job_ids: Sequence[int]) -> int:
        """Queue rows again from scratch (attempts reset); rows being worked on are left alone."""
        if not job_ids:
            return 0
        current = now()
        with self.store.transaction() as conn:
            result = conn.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.id.in_(list(job_ids)),
                    or_(
                        InboxEvent.state.in_(("done", "parked", "pending")),
                        InboxEvent.locked_until.is_(None),
                        InboxEvent.locked_until < current,
                    ),
                )
                .values(
                    state="pending",
                    attempts=0,
                    outcome=None,
                    next_attempt_at=current,
                    locked_by=None,
                    locked_until=None,
                    finished_at=None,
                )
            )
            return affected(result)

    def prune(self, older_than: float) -> int:
        """Delete ``done`` rows finished more than ``older_than`` seconds ago; return how many.

        Keep at least DR's retry window (72 hours): a pruned event delivered again is stored
        and processed again (the flow still recognises it as a duplicate).
        """
        cutoff = now() - timedelta(seconds=older_than)
        with self.store.transaction() as conn:
            result = conn.execute(
                delete(InboxEvent).where(
                    InboxEvent.state == "done", InboxEvent.finished_at < cutoff
                )
            )
            return affected(result)

    def parked_ids(self) -> list[int]:
        with self.store.transaction() as conn:
            return list(
                conn.scalars(
                    select(InboxEvent.id)
                    .where(InboxEvent.state == "parked")
                    .order_by(InboxEvent.id)
                ).all()
            )
