"""The sandbox's state object: store, clock, ids, events, background resolution.

Every API call runs as ``sandbox.run(fn, ...)``: under one lock, all its writes commit
together (or none do), and only committed events are handed to the webhook dispatcher.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from affluent.sandbox import outcomes
from affluent.sandbox.config import SandboxConfig
from affluent.sandbox.delivery import WebhookDispatcher, wants
from affluent.sandbox.errors import ApiError, not_found
from affluent.sandbox.faults import FaultInjector
from affluent.sandbox.persistence import SqliteBackend
from affluent.sandbox.store import Doc, Store

API_VERSION = "2021-12-13"
"""The one DR API version the sandbox speaks."""

_META = "_sandbox"
_log = logging.getLogger("affluent.sandbox")
T = TypeVar("T")


class Sandbox:
    """State and behaviour of one emulated DR account (test mode)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        backend = SqliteBackend(config.persist_path) if config.persist_path else None
        self.store = Store(backend)
        self.dispatcher = WebhookDispatcher(
            secrets=self.webhook_secrets,
            transport=config.webhook_transport,
            timeout=config.webhook_timeout,
            retry_delays=config.webhook_retry_delays,
            duplicate=config.duplicate_deliveries,
            shuffle=config.shuffle_deliveries,
        )
        self.faults: FaultInjector | None = None
        self._lock = threading.RLock()
        self._outbox: list[Doc] = []
        self._follow_ups: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rng = random.Random()

    # -- time and ids ----------------------------------------------------------------------

    def now(self) -> datetime:
        """Current time from the configured clock, in UTC."""
        return self.config.clock().astimezone(UTC)

    def timestamp(self) -> str:
        """A resource timestamp: whole seconds, ``Z``."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def event_timestamp(self) -> str:
        """An event timestamp: microseconds, ``Z``."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def new_uuid() -> str:
        """A random UUID string."""
        return str(uuid.uuid4())

    def numeric_id(self, digits: int, taken: Callable[[str], bool]) -> str:
        """A numeric-string id ending in ``0336`` (like DR's), not ``taken``."""
        while True:
            head = self._rng.randrange(10 ** (digits - 5), 10 ** (digits - 4))
            candidate = f"{head}0336"
            if not taken(candidate):
                return candidate

    # -- transactions ------------------------------------------------------------------------

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(self, *args)`` as one all-or-nothing transaction."""
        with self._lock:
            try:
                result = fn(self, *args)
            except ApiError as exc:
                if exc.commit:
                    self._commit()
                else:
                    self._rollback()
                raise
            except BaseException:
                self._rollback()
                raise
            self._commit()
            return result

    def _rollback(self) -> None:
        self.store.rollback()
        self._outbox.clear()
        self._follow_ups.clear()

    def _commit(self) -> None:
        try:
            self.store.commit()
        except BaseException:
            self._rollback()
            raise
        events, self._outbox = self._outbox, []
        follow_ups, self._follow_ups = self._follow_ups, []
        for event in events:
            self._deliver(event)
        for order_id in dict.fromkeys(follow_ups):
            self._schedule(order_id)

    # -- events ------------------------------------------------------------------------------

    def emit(self, event_type: str, obj: Doc, previous: Doc | None = None) -> Doc:
        """Record an event whose ``data.object`` is a snapshot of ``obj``."""
        hooks = [w for w in self.store.values("webhooks") if wants(w, event_type)]
        data: Doc = {"object": copy.deepcopy(obj)}
        if previous:
            data["previousAttributes"] = copy.deepcopy(previous)
        event: Doc = {
            "id": self.new_uuid(),
            "type": event_type,
            "data": data,
            "liveMode": False,
            "createdTime": self.event_timestamp(),
            "webhookIds": [w["id"] for w in hooks],
            "digitalriverVersion": API_VERSION,
        }
        self.store.put("events", event)
        self._outbox.append(event)
        return event

    def _deliver(self, event: Doc) -> None:
        if not event["webhookIds"]:
            return
        wanted = set(event["webhookIds"])
        hooks = [w for w in self.store.values("webhooks") if w["id"] in wanted]
        try:
            self.dispatcher.enqueue(event, hooks)
        except RuntimeError:  # no running event loop (state changed from plain sync code)
            _log.warning("event %s not delivered: no running event loop", event["id"])

    def redeliver(self, event_id: str) -> Doc:
        """Send a stored event again to the webhooks that currently want it."""
        with self._lock:
            event = self.store.peek("events", event_id)
            if event is None:
                raise not_found("eventId", event_id, "Event")
            hooks = [w for w in self.store.values("webhooks") if wants(w, event["type"])]
        self.dispatcher.enqueue(event, hooks)
        return event

    # -- webhook secrets ---------------------------------------------------------------------

    def webhook_secrets(self) -> list[str]:
        """Active signing secrets, newest first (every one signs each delivery)."""
        doc = self.store.peek(_META, "webhookSecrets")
        return list(doc["secrets"]) if doc else list(self.config.webhook_secrets)

    def set_webhook_secrets(self, secrets: Sequence[str]) -> None:
        """Replace the active secrets (rotation: list the new one first, keep the old)."""

        def write(sb: Sandbox) -> None:
            sb.store.put(_META, {"id": "webhookSecrets", "secrets": list(secrets)})

        self.run(write)

    # -- background resolution ---------------------------------------------------------------

    def follow_up(self, order_id: str) -> None:
        """After commit, let the order's pending outcome happen on its own after the delay."""
        self._follow_ups.append(order_id)

    def _schedule(self, order_id: str) -> None:
        delay = self.config.resolve_delay
        if delay is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._resolve_later(order_id, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_later(self, order_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            self.run(outcomes.auto_resolve, order_id)
        except Exception:
            _log.exception("automatic resolution of order %s failed", order_id)

    # -- lifecycle ---------------------------------------------------------------------------

    def bind_loop(self) -> None:
        """Remember the event loop serving the app (for calls from other threads)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        """App startup: bind the loop and re-arm automatic outcomes of persisted orders."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            due = [o["id"] for o in self.store.values("orders") if outcomes.next_outcome(self, o)]
        for order_id in due:
            self._schedule(order_id)

    async def aclose(self) -> None:
        """App shutdown: stop timers, cancel deliveries, close the database."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.dispatcher.aclose()
        if self.store.backend is not None:
            self.store.backend.close()
        self._loop = None

    async def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the app's event loop (it may be serving from another thread)."""
        loop = self._loop
        current = asyncio.get_running_loop()
        if loop is None or loop is current or not loop.is_running():
            return fn()

        async def call() -> T:
            return fn()

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(call(), loop)
        return await asyncio.wrap_future(future)

    # -- Python backdoor (tests) ---------------------------------------------------------------

    async def resolve_order(self, order_id: str, outcome: str) -> Doc:
        """Force an order outcome: accept, block, fail_charge, funds_arrived or settle."""
        return await self._on_loop(lambda: self.run(outcomes.resolve, order_id, outcome))

    async def approve_source(self, source_id: str) -> Doc:
        """Complete a redirect (or receiver) source, as the shopper would."""
        return await self._on_loop(lambda: self.run(outcomes.approve_source, source_id))

    async def reset(self) -> None:
        """Forget everything (state, timers, fault rules, delivery log)."""

        def wipe() -> None:
            with self._lock:
                for task in list(self._tasks):
                    task.cancel()
                self._rollback()
                self.store.clear()
                self.dispatcher.attempts.clear()
                if self.faults is not None:
                    self.faults.reset()

        await self._on_loop(wipe)

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until every webhook delivery is done (including retries)."""

        async def wait() -> None:
            await self.dispatcher.drain(timeout)

        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop() or not loop.is_running():
            await wait()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(wait(), loop))

    def events(self, event_type: str | None = None) -> list[Doc]:
        """Recorded events, oldest first (optionally of one type)."""
        with self._lock:
            events = self.store.values("events")
        return [copy.deepcopy(e) for e in events if event_type in (None, e["type"])]

    def get(self, collection: str, doc_id: str) -> Doc | None:
        """A copy of a stored document (internal fields included), e.g. ``("orders", id)``."""
        with self._lock:
            return self.store.get(collection, doc_id)

    def all(self, collection: str) -> list[Doc]:
        """Copies of every document of a collection, oldest first."""
        with self._lock:
            return copy.deepcopy(self.store.values(collection))
