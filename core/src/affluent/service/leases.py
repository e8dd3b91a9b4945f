"""Leases: exclusive, expiring holds on a key, shared by every process through the store.

A lease serializes work on one order across processes and hosts (``order:<platform>:<ref>``)
and keeps singleton jobs single (``reconcile:dr``). It is a row in ``leases``: taken by
inserting it, or by taking over a row whose ``expires_at`` has passed (its holder crashed or
stalled), renewed by its holder while the work runs, and deleted by its holder at the end. Plain
inserts and conditional updates, so it behaves the same on PostgreSQL and SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from affluent.service._db import affected, insert_ignoring, later, now, off_loop
from affluent.store import Store
from affluent.store.tables import Lease, aware

__all__ = ["LeaseBusy", "Leases", "order_key"]

log = logging.getLogger(__name__)


def order_key(platform: str, order_ref: str) -> str:
    """The lease key serializing work on one platform order."""
    return f"order:{platform}:{order_ref}"


_leases = cast(Table, Lease.__table__)
_HELD_BY = (
    _leases.c.key == bindparam("lease_key"),
    _leases.c.holder == bindparam("lease_holder"),
)
_TAKE_OVER = (
    update(_leases)
    .where(
        _leases.c.key == bindparam("lease_key"),
        or_(_leases.c.expires_at < bindparam("now"), _leases.c.holder == bindparam("lease_holder")),
    )
    .values(holder=bindparam("lease_holder"), expires_at=bindparam("until"))
)
_RENEW = update(_leases).where(*_HELD_BY).values(expires_at=bindparam("until"))
_RELEASE = delete(_leases).where(*_HELD_BY)


class LeaseBusy(Exception):
    """Someone else holds the lease and did not let go in time."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"{key} is being worked on by another process; try again shortly")


class Leases:
    """Take, renew and release leases in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._insert = insert_ignoring(store, _leases, ["key"])

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        """Take ``key`` for ``ttl`` seconds unless someone else holds an unexpired lease."""
        until = later(ttl)
        try:
            with self.store.transaction() as conn:
                new = {"key": key, "holder": holder, "expires_at": until}
                if affected(conn.execute(self._insert, new)) == 1:
                    return True
        except IntegrityError:  # dialects without ON CONFLICT: the row exists
            pass
        with self.store.transaction() as conn:
            held = {"lease_key": key, "lease_holder": holder, "until": until, "now": now()}
            return affected(conn.execute(_TAKE_OVER, held)) == 1

    def renew(self, keys: Sequence[tuple[str, str]], ttl: float) -> int:
        """Extend each ``(key, holder)`` still held; return how many were."""
        expires, renewed = later(ttl), 0
        with self.store.transaction() as conn:
            for key, holder in keys:
                result = conn.execute(
                    _RENEW, {"lease_key": key, "lease_holder": holder, "until": expires}
                )
                renewed += affected(result)
        return renewed

    def release(self, key: str, holder: str) -> None:
        """Give ``key`` back (a no-op if it was taken over meanwhile)."""
        with self.store.transaction() as conn:
            conn.execute(_RELEASE, {"lease_key": key, "lease_holder": holder})

    def holder(self, key: str) -> str | None:
        """Who holds ``key`` now (``None`` when free or expired)."""
        with self.store.transaction() as conn:
            row = conn.execute(
                select(Lease.holder, Lease.expires_at).where(Lease.key == key)
            ).first()
        if row is None:
            return None
        holder, expires = row
        return str(holder) if aware(expires) >= now() else None

    @contextlib.asynccontextmanager
    async def hold(
        self, key: str, holder: str, ttl: float, *, wait: float = 0.0
    ) -> AsyncIterator[None]:
        """Hold ``key`` for the block, renewing it every ``ttl / 3`` seconds.

        Waits up to ``wait`` seconds for another holder to finish, then raises
        :class:`LeaseBusy`.
        """
        deadline = asyncio.get_running_loop().time() + wait
        pause = 0.02
        while not await off_loop(self.acquire, key, holder, ttl):
            if asyncio.get_running_loop().time() >= deadline:
                raise LeaseBusy(key)
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.5)
        renewer = asyncio.create_task(self._keep(key, holder, ttl))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            try:
                await asyncio.shield(off_loop(self.release, key, holder))
            except Exception:  # it expires on its own
                log.warning("could not release lease %s", key, exc_info=True)

    async def _keep(self, key: str, holder: str, ttl: float) -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if not await off_loop(self.renew, [(key, holder)], ttl):
                    log.warning("lease %s was taken over while still in use", key)
                    return
            except Exception:
                log.warning("could not renew lease %s", key, exc_info=True)
