"""The worker: one asyncio process working off the inbox, the outboxes and reconciliation.

Each loop it claims due inbox rows (up to its free concurrency) and runs each as a task:

1. find the order the event is about, and hold that order's lease (no other task, process or
   host works on the order meanwhile; a busy order hands the row back for a moment);
2. run the flow step (a DR event, or the platform step a platform webhook asked for); the
   flow stores the state change and the platform writes / DR calls it causes together;
3. settle the row: ``done``; retried later with exponential backoff and jitter; or ``parked``
   with its error when the error is permanent or attempts run out.

Beside the jobs it periodically sends due platform writes (the flow's ``platform_writes``
outbox) and finishes line changes whose DR call had an unknown outcome (asking DR first), and
every ``reconcile_interval`` seconds one worker in the fleet reads DR's event log.

SIGTERM stops claiming, lets running jobs finish for a grace period, then gives the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import socket
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from affluent import logs, tracing
from affluent.dr import Event
from affluent.dr.errors import APIStatusError, DigitalRiverError, RateLimitError
from affluent.errors import AdapterError, InvalidInput, UnknownOrder
from affluent.flow import Flow, records
from affluent.flow.steps import ChangeResult, SubmitResult
from affluent.flow.translate import event_order_id
from affluent.models import CheckoutSummary, PlatformEvent
from affluent.service._db import now, off_loop
from affluent.service.gate import UpstreamPaused
from affluent.service.inbox import Inbox, Job
from affluent.service.leases import LeaseBusy, Leases, order_key
from affluent.service.reconciler import reconcile
from affluent.store import Order, Store
from affluent.store.tables import LineChangeRecord, PlatformWrite, aware

__all__ = ["Worker", "WorkerOptions", "WorkerStats"]

log = logging.getLogger(__name__)

RECONCILE_LEASE = "reconcile:dr"
_PERMANENT_DR_STATUSES = frozenset({400, 404, 409, 422})


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker behaves; :meth:`from_settings` reads them from ``AFFLUENT_*``."""

    concurrency: int = 8
    poll_interval: float = 0.25
    lease_seconds: float = 30.0
    max_attempts: int = 10
    backoff_base: float = 1.0
    backoff_max: float = 600.0
    job_timeout: float = 300.0
    sweep_interval: float = 5.0
    reconcile_interval: float = 0.0
    reconcile_lookback: float = 72 * 3600.0
    reconcile_overlap: float = 300.0
    busy_delay: float = 0.05
    """Seconds a job whose order is busy waits before it is claimable again."""
    grace: float = 10.0
    """Seconds running jobs get to finish after a stop request."""

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> WorkerOptions:
        values = {
            "concurrency": settings.worker_concurrency,
            "poll_interval": settings.worker_poll_interval,
            "lease_seconds": settings.lease_seconds,
            "max_attempts": settings.job_max_attempts,
            "backoff_base": settings.job_backoff_base,
            "backoff_max": settings.job_backoff_max,
            "job_timeout": settings.job_timeout,
            "sweep_interval": settings.sweep_interval,
            "reconcile_interval": settings.reconcile_interval,
            "reconcile_lookback": settings.reconcile_lookback,
            "reconcile_overlap": settings.reconcile_overlap,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class WorkerStats:
    """What this worker did since it started."""

    done: int = 0
    retried: int = 0
    parked: int = 0
    deferred: int = 0
    writes_sent: int = 0
    changes_resumed: int = 0
    reconciled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class _Settled(Exception):
    """Internal: the job was already handed back (its order was busy)."""


class Worker:
    """Works off one store's inbox and outboxes with one flow."""

    def __init__(
        self,
        *,
        store: Store,
        flow: Flow,
        options: WorkerOptions | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.flow = flow
        self.options = options or WorkerOptions()
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.inbox = Inbox(store)
        self.leases = Leases(store)
        self.stats = WorkerStats()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._order_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._side: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._last_sweep = 0.0
        self._last_reconcile = 0.0

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then shut down gracefully."""
        log.info("worker %s started (concurrency %d)", self.id, self.options.concurrency)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not stop.is_set():
                claimed = await self._step()
                if claimed == 0 or len(self._running) >= self.options.concurrency:
                    await self._pause(stop)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self._shutdown()
        log.info("worker %s stopped: %s", self.id, self.stats)

    async def run_until_idle(self, *, limit: float = 60.0, settle: float = 0.0) -> WorkerStats:
        """Work until nothing is due or running (tests, ``--once``); waits for retries that fall
        due within ``settle`` seconds (and for orders busy elsewhere). Raises ``TimeoutError``
        after ``limit`` seconds."""
        async with asyncio.timeout(limit):
            while True:
                claimed = await self._step(background=False)
                if claimed == 0 and not self._running:
                    await self._sweep()
                    due = await off_loop(self._next_due)
                    if due is None:
                        break
                    wait = due - now()
                    if wait.total_seconds() > max(settle, self.options.busy_delay * 4):
                        break
                    await asyncio.sleep(max(wait.total_seconds(), 0.01))
                elif self._running:
                    await asyncio.wait(set(self._running.values()), timeout=0.05)
        await self._drain_side()
        return self.stats

    async def _step(self, *, background: bool = True) -> int:
        free = self.options.concurrency - len(self._running)
        claimed = 0
        if free > 0:
            jobs = await off_loop(self.inbox.claim, self.id, free, self.options.lease_seconds)
            for job in jobs:
                task = asyncio.create_task(self._run_job(job), name=f"job-{job.id}")
                self._running[job.id] = task
                task.add_done_callback(functools.partial(self._done, job.id))
            claimed = len(jobs)
        clock = time.monotonic()
        if background and clock - self._last_sweep >= self.options.sweep_interval:
            self._last_sweep = clock
            self._spawn(self._sweep())
        if (
            background
            and self.options.reconcile_interval > 0
            and clock - self._last_reconcile >= self.options.reconcile_interval
        ):
            self._last_reconcile = clock
            self._spawn(self.reconcile_once())
        return claimed

    def _done(self, job_id: int, _task: object = None) -> None:
        self._running.pop(job_id, None)
        self._wake.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def _pause(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=self.options.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _heartbeat(self) -> None:
        """Renew this worker's claims while their jobs run."""
        while True:
            await asyncio.sleep(self.options.lease_seconds / 3)
            ids = list(self._running)
            if not ids:
                continue
            try:
                await off_loop(self.inbox.extend, ids, self.id, self.options.lease_seconds)
            except Exception:
                log.warning("could not renew job claims", exc_info=True)

    async def _shutdown(self) -> None:
        running = list(self._running.values())
        if running:
            log.info("waiting up to %.0fs for %d job(s)", self.options.grace, len(running))
            _, late = await asyncio.wait(running, timeout=self.options.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._drain_side(cancel=True)

    async def _drain_side(self, *, cancel: bool = False) -> None:
        tasks = list(self._side)
        if cancel:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one job -----------------------------------------------------------------------------

    async def _run_job(self, job: Job) -> None:
        parent = tracing.extract(job.trace_context)
        with (
            logs.bind(job_id=job.id, event_id=job.event_key, source=job.source, type=job.type),
            tracing.span(
                "affluent.job",
                parent=parent,
                job_id=job.id,
                event_id=job.event_key,
                source=job.source,
                type=job.type,
                attempt=job.attempts,
            ) as span,
        ):
            try:
                async with asyncio.timeout(self.options.job_timeout):
                    outcome = await self._dispatch(job)
            except _Settled:
                return
            except asyncio.CancelledError:
                await asyncio.shield(off_loop(self.inbox.release, job.id, self.id))
                raise
            except Exception as exc:
                span.record_exception(exc)
                await self._failed(job, exc)
                return
            span.set_attribute("affluent.outcome", outcome)
            if await off_loop(self.inbox.finish, job.id, self.id, outcome):
                self.stats.done += 1
                self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
                log.info("event processed: %s", outcome)
            else:
                log.warning("job finished after its claim was taken over; outcome %s", outcome)

    async def _dispatch(self, job: Job) -> str:
        if job.source == "dr":
            event = Event.model_validate_json(job.payload)
            obj: Mapping[str, Any] = event.data.object or {}
            dr_order_id = event_order_id(str(event.type), obj)
            if dr_order_id is None:
                return await self.flow.handle_dr_event(event)
            target = await off_loop(self._order_of, dr_order_id)
            if target is None:
                raise UnknownOrder(dr_order_id)
            platform, order_ref = target
            return str(
                await self._under_lease(
                    job, platform, order_ref, lambda: self.flow.handle_dr_event(event)
                )
            )
        platform_event = PlatformEvent.model_validate_json(job.payload)

        def step() -> Awaitable[object]:
            return self.flow.handle_platform_event(job.source, platform_event)

        if platform_event.order_ref is None:
            return _outcome(await step())
        return _outcome(await self._under_lease(job, job.source, platform_event.order_ref, step))

    async def _under_lease(
        self, job: Job, platform: str, order_ref: str, step: Callable[[], Awaitable[object]]
    ) -> object:
        key = order_key(platform, order_ref)
        holder = f"{self.id}/job-{job.id}"
        local = self._order_locks.get(key)
        if local is None:
            local = self._order_locks[key] = asyncio.Lock()
        with logs.bind(order=f"{platform}:{order_ref}"):
            async with local:  # this worker's jobs on one order queue here, not at the database
                try:
                    async with self.leases.hold(key, holder, self.options.lease_seconds):
                        return await step()
                except LeaseBusy:
                    await off_loop(self.inbox.release, job.id, self.id, self._busy_delay())
                    self.stats.deferred += 1
                    raise _Settled from None

    def _busy_delay(self) -> float:
        return self.options.busy_delay * (1 + random.random())

    def _next_due(self) -> datetime | None:
        """When the next inbox row or platform write falls due (``None``: nothing waits)."""
        with self.store.transaction() as conn:
            write = conn.scalar(
                select(func.min(PlatformWrite.next_attempt_at)).where(
                    PlatformWrite.state == "pending"
                )
            )
        times = [aware(t) for t in (self.inbox.next_due(), write) if t]
        return min(times, default=None)

    def _order_of(self, dr_order_id: str) -> tuple[str, str] | None:
        with self.store.transaction() as conn:
            return records.locate(conn, dr_order_id)

    # -- failures ----------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> float:
        step = min(
            self.options.backoff_base * 2.0 ** max(attempts - 1, 0), self.options.backoff_max
        )
        return step * (0.5 + random.random() / 2)

    async def _failed(self, job: Job, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, RateLimitError | UpstreamPaused):
            wait = float(exc.retry_after or 0) or self._backoff(1)
            await off_loop(self.inbox.retry, job.id, self.id, error, wait, count=False)
            self.stats.retried += 1
            log.info("rate limited; job rescheduled in %.1fs", wait)
            return
        permanent = _permanent(exc)
        if permanent or job.attempts >= self.options.max_attempts:
            why = "permanent error" if permanent else f"{job.attempts} attempts"
            outcome = "unknown_order" if isinstance(exc, UnknownOrder) else "error"
            await off_loop(self.inbox.park, job.id, self.id, error, outcome)
            self.stats.parked += 1
            log.warning("event parked after %s: %s", why, error)
            return
        delay = self._backoff(job.attempts)
        await off_loop(self.inbox.retry, job.id, self.id, error, delay)
        self.stats.retried += 1
        log.info(
            "event failed (attempt %d of %d), retrying in %.1fs: %s",
            job.attempts,
            self.options.max_attempts,
            delay,
            error,
            exc_info=not isinstance(exc, UnknownOrder | DigitalRiverError | TimeoutError),
        )

    # -- outboxes ----------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """Send due platform writes; finish line changes left ``sending`` by a lost worker."""
        try:
            writes, changes = await off_loop(self._sweep_targets)
        except Exception:
            log.warning("sweep could not read the outboxes", exc_info=True)
            return
        for platform, order_ref in writes:
            sent = await self._with_order(platform, order_ref, self.flow.deliver_writes)
            self.stats.writes_sent += sent or 0
        for platform, order_ref in changes:
            resumed = await self._with_order(platform, order_ref, self.flow.resume_line_changes)
            self.stats.changes_resumed += resumed or 0

    async def _with_order(self, platform: str, order_ref: str, action: Any) -> int | None:
        holder = f"{self.id}/sweep"
        with logs.bind(order=f"{platform}:{order_ref}"):
            try:
                async with self.leases.hold(
                    order_key(platform, order_ref), holder, self.options.lease_seconds
                ):
                    result: int = await action(platform, order_ref)
                    return result
            except LeaseBusy:
                return None
            except Exception:
                log.warning("outbox work for the order failed", exc_info=True)
                return None

    def _sweep_targets(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        current = now()
        stale = current.timestamp() - self.options.lease_seconds
        with self.store.transaction() as conn:
            writes = conn.execute(
                select(Order.platform, Order.order_ref)
                .join(PlatformWrite, PlatformWrite.order_id == Order.id)
                .where(PlatformWrite.state == "pending", PlatformWrite.next_attempt_at <= current)
                .distinct()
                .limit(200)
            ).all()
            changes = conn.execute(
                select(Order.platform, Order.order_ref, LineChangeRecord.created_at)
                .join(LineChangeRecord, LineChangeRecord.order_id == Order.id)
                .where(LineChangeRecord.state == "sending")
                .limit(200)
            ).all()
        old = {
            (platform, ref)
            for platform, ref, created in changes
            if aware(created).timestamp() < stale
        }
        return [(p, r) for p, r in writes], sorted(old)

    # -- reconciliation ----------------------------------------------------------------------

    async def reconcile_once(self) -> int | None:
        """One reconciliation pass, if no other worker is running one; new events or None."""
        holder = f"{self.id}/reconcile"
        try:
            async with self.leases.hold(RECONCILE_LEASE, holder, self.options.lease_seconds):
                result = await reconcile(
                    self.flow.dr,
                    self.store,
                    lookback=self.options.reconcile_lookback,
                    overlap=self.options.reconcile_overlap,
                )
        except LeaseBusy:
            return None
        except Exception:
            log.warning("reconciliation failed; the next pass tries again", exc_info=True)
            return None
        self.stats.reconciled += result.added
        if result.added:
            self._wake.set()
        return result.added


def _permanent(exc: BaseException) -> bool:
    """Errors that no retry can fix: bad input, a missing adapter, a definite refusal by DR."""
    if isinstance(exc, InvalidInput | AdapterError | ValidationError | json.JSONDecodeError):
        return True
    return (
        isinstance(exc, APIStatusError)
        and not exc.ambiguous
        and exc.status_code in _PERMANENT_DR_STATUSES
    )


def _outcome(result: object) -> str:
    if isinstance(result, ChangeResult):
        return result.outcome
    if isinstance(result, SubmitResult):
        return str(result.status)
    if isinstance(result, CheckoutSummary):
        return "checkout_final" if result.final else "checkout"
    return str(result) if isinstance(result, str) else "done"
