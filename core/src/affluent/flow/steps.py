"""The standard flow's integration lane, implemented once for every adapter.

Each public coroutine is one platform -> integration event of the standard flow
(``reference/standard-flow.md``): begin checkout (step 10), payment hand-off (22), submit (32),
a Digital River event (40-47 and later), a line-item change (49, 54).

Writes to the store happen in short transactions around the DR calls, never across one; a
flag written before each non-repeatable DR call (``submit_attempted``, a ``sending`` line
change) tells a later attempt to ask DR what happened before sending again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from affluent.dr import AsyncDigitalRiver
from affluent.dr.errors import (
    ConflictError,
    DigitalRiverError,
    NotFoundError,
    OrderDeclinedError,
)
from affluent.dr.models import Checkout, Event
from affluent.dr.models import Order as DROrder
from affluent.errors import FlowStateError, InvalidInput, UnknownOrder
from affluent.flow import translate
from affluent.lifecycle import SHIPPABLE, LineLedger, OrderStatus, advance, status_for_state
from affluent.models import (
    CheckoutSummary,
    LineItemChanges,
    OrderView,
    PlatformEvent,
    PlatformEventKind,
    PlatformUpdate,
    ShopperKind,
)
from affluent.platform import PlatformClient
from affluent.plugins import AdapterHooks, Adapters
from affluent.store import (
    HandledEvent,
    LineChangeRecord,
    LineItem,
    Order,
    PlatformWrite,
    Store,
    Transition,
)
from affluent.store.tables import utcnow

log = logging.getLogger(__name__)

DECLINE_MESSAGE = (
    "We could not complete your payment. No money was taken; please try another payment method."
)
"""What the shopper sees after a decline (DR's error codes are never shown)."""

_ORDER_LOOKUP_ATTEMPTS = 5


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of submitting an order: the status, DR's order id, and any shopper message."""

    status: OrderStatus
    dr_order_id: str | None
    dr_state: str | None
    shopper_message: str | None = None


@dataclass(frozen=True)
class ChangeResult:
    """Outcome of a line-item change: ``sent``, ``duplicate`` or ``ignored``."""

    outcome: str
    dr_fulfillment_id: str | None = None


class Flow:
    """Runs the standard flow for every loaded adapter against one DR account and one store."""

    def __init__(
        self,
        *,
        dr: AsyncDigitalRiver,
        store: Store,
        adapters: Adapters,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        lookup_delay: float = 0.2,
        write_retry_base: float = 1.0,
    ) -> None:
        self.dr = dr
        self.store = store
        self.adapters = adapters
        self._configs = dict(configs or {})
        self._hooks: dict[str, AdapterHooks] = {}
        self._clients: dict[str, PlatformClient] = {}
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._lookup_delay = lookup_delay
        self.write_retry_base = write_retry_base

    # -- plumbing ------------------------------------------------------------------------------

    def hooks(self, platform: str) -> AdapterHooks:
        hooks = self._hooks.get(platform)
        if hooks is None:
            hooks = self.adapters.hooks(platform, self._configs.get(platform))
            self._hooks[platform] = hooks
        return hooks

    def _lock(self, platform: str, order_ref: str) -> asyncio.Lock:
        key = (platform, order_ref)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _client(self, platform: str) -> PlatformClient:
        client = self._clients.get(platform)
        if client is None:
            client = self.hooks(platform).platform_client()
            self._clients[platform] = client
        return client

    @staticmethod
    def _enqueue(session: Session, order: Order, update: PlatformUpdate | None) -> None:
        """Store a platform write in the caller's transaction (the outbox)."""
        if update is not None:
            session.add(
                PlatformWrite(
                    order_id=order.id,
                    platform=order.platform,
                    kind=update.kind,
                    body=json.dumps(update.body, default=str),
                )
            )

    async def deliver_writes(self, platform: str, order_ref: str) -> int:
        """Send the order's pending platform writes in order; return how many were sent.

        A failed write stays pending with its error and a later retry time, and the writes
        after it wait, so the platform never sees a newer status before an older one.
        """
        now = utcnow()
        with self.store.session() as session:
            order_id = self._order_id(session, platform, order_ref)
            pending = session.scalars(
                select(PlatformWrite)
                .where(PlatformWrite.order_id == order_id, PlatformWrite.state == "pending")
                .order_by(PlatformWrite.id)
            ).all()
        sent = 0
        for write in pending:
            if write.next_attempt_at.replace(tzinfo=UTC) > now:
                break
            change = PlatformUpdate(
                order_ref=order_ref,
                kind=write.kind,
                body=json.loads(write.body),
            )
            try:
                await self._client(platform).push(change)
            except Exception as exc:
                self.hooks(platform).flow_error("platform_write", order_ref, exc)
                with self.store.session() as session:
                    row = session.get_one(PlatformWrite, write.id)
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    delay = min(self.write_retry_base * 2 ** (row.attempts - 1), 3600.0)
                    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning("platform write %s for %s failed: %s", write.id, order_ref, exc)
                break
            with self.store.session() as session:
                session.execute(
                    update(PlatformWrite)
                    .where(PlatformWrite.id == write.id)
                    .values(state="sent", sent_at=utcnow(), attempts=PlatformWrite.attempts + 1)
                )
            sent += 1
        return sent

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    @staticmethod
    def _find(session: Session, platform: str, order_ref: str) -> Order | None:
        query = (
            select(Order)
            .where(Order.platform == platform, Order.order_ref == order_ref)
            .options(selectinload(Order.lines))
        )
        return session.scalars(query).one_or_none()

    @staticmethod
    def _order_id(session: Session, platform: str, order_ref: str) -> int:
        """The order's primary key alone: cheaper than loading the order and its lines."""
        order_id = session.scalar(
            select(Order.id).where(Order.platform == platform, Order.order_ref == order_ref)
        )
        if order_id is None:
            raise UnknownOrder(order_ref, platform=platform)
        return order_id

    def _get(self, session: Session, platform: str, order_ref: str) -> Order:
        order = self._find(session, platform, order_ref)
        if order is None:
            raise UnknownOrder(order_ref, platform=platform)
        return order

    def order(self, platform: str, order_ref: str) -> OrderView:
        """The stored view of one order."""
        with self.store.session() as session:
            return translate.view(self._get(session, platform, order_ref))

    def write_counts(self, platform: str, order_ref: str) -> dict[str, int]:
        """How many of the order's platform writes are ``sent`` and ``pending``."""
        with self.store.session() as session:
            order_id = self._order_id(session, platform, order_ref)
            rows = session.execute(
                select(PlatformWrite.state, func.count())
                .where(PlatformWrite.order_id == order_id)
                .group_by(PlatformWrite.state)
            ).all()
        return {"sent": 0, "pending": 0} | {state: count for state, count in rows}

    def _transition(
        self, session: Session, order: Order, target: OrderStatus, dr_state: str | None, cause: str
    ) -> OrderStatus | None:
        """Record ``target`` if it is a step forward; return the old status's successor or None."""
        current = OrderStatus(order.status) if order.status else None
        new = advance(current, target)
        if new is None:
            return None
        session.add(
            Transition(order_id=order.id, old=order.status, new=new, dr_state=dr_state, cause=cause)
        )
        order.status = new
        if dr_state:
            order.dr_state = dr_state
        return new

    def _queue_status(self, session: Session, order: Order, new: OrderStatus) -> OrderView:
        """In the transition's transaction: queue the platform's status write."""
        view = translate.view(order)
        self._enqueue(session, order, self.hooks(order.platform).map_status(view, new))
        return view

    async def _announce(
        self, view: OrderView, old: str | None, new: OrderStatus, cause: str
    ) -> None:
        """After commit: tell observers, then send the queued platform writes."""
        hooks = self.hooks(view.platform)
        hooks.order_transitioned(view, OrderStatus(old) if old else None, new, cause)
        await self.deliver_writes(view.platform, view.order_ref)

    # -- step 10: begin checkout ---------------------------------------------------------------

    async def begin_checkout(self, platform: str, payload: Mapping[str, Any]) -> CheckoutSummary:
        """Create (or reuse) the DR customer and the checkout; push tax and selling entity."""
        hooks = self.hooks(platform)
        shopper = hooks.map_shopper(payload)
        cart = hooks.map_cart(payload)
        async with self._lock(platform, cart.order_ref):
            try:
                return await self._begin_checkout(platform, hooks, shopper, cart)
            except Exception as exc:
                hooks.flow_error("begin_checkout", cart.order_ref, exc)
                raise

    async def _begin_checkout(
        self, platform: str, hooks: AdapterHooks, shopper: Any, cart: Any
    ) -> CheckoutSummary:
        digest = translate.fingerprint(cart, shopper)
        with self.store.session() as session:
            existing = self._find(session, platform, cart.order_ref)
            old_checkout = existing.dr_checkout_id if existing else None
            reuse = existing is not None and existing.cart_fingerprint == digest and old_checkout
            if (
                existing is not None
                and (existing.status or existing.submit_attempted)
                and not reuse
            ):
                raise FlowStateError(
                    f"order {cart.order_ref!r} was already submitted; its cart cannot change"
                )
        if reuse and old_checkout:
            checkout = await self.dr.checkouts.get(old_checkout)
        else:
            customer_id = None
            if shopper.kind is ShopperKind.registered:
                customer_id = await self._ensure_customer(shopper, cart)
            request = translate.checkout_request(cart, shopper, customer_id)
            checkout = await self.dr.checkouts.create(request)
            if old_checkout:
                await self._discard_checkout(old_checkout)
            summary = translate.summarize(cart.order_ref, checkout, final=False)
            self._save_checkout(platform, cart, digest, customer_id, checkout, summary)
            await self.deliver_writes(platform, cart.order_ref)
            return summary
        return translate.summarize(cart.order_ref, checkout, final=False)

    async def _ensure_customer(self, shopper: Any, cart: Any) -> str:
        """Create the DR customer unless one of our orders already uses it; 409 means reuse."""
        customer_id = str(shopper.customer_id)
        with self.store.session() as session:
            known = session.scalar(
                select(Order.id).where(Order.dr_customer_id == customer_id).limit(1)
            )
        if known is None:
            with contextlib.suppress(ConflictError):  # it exists at DR already: reuse it
                await self.dr.customers.create(translate.customer_request(shopper, cart))
        return customer_id

    async def _discard_checkout(self, checkout_id: str) -> None:
        try:
            await self.dr.checkouts.delete(checkout_id)
        except DigitalRiverError as exc:
            log.info("old checkout %s not deleted: %s", checkout_id, exc)

    def _save_checkout(
        self,
        platform: str,
        cart: Any,
        digest: str,
        customer_id: str | None,
        checkout: Checkout,
        summary: CheckoutSummary,
    ) -> None:
        item_ids = {
            translate.line_ref_of(item.metadata): str(item.id) for item in checkout.items or []
        }
        with self.store.session() as session:
            order = self._find(session, platform, cart.order_ref)
            if order is None:
                order = Order(platform=platform, order_ref=cart.order_ref, currency=cart.currency)
                session.add(order)
            order.currency = cart.currency
            order.email = checkout.email or cart.email
            order.dr_customer_id = customer_id
            order.dr_checkout_id = str(checkout.id)
            order.cart_fingerprint = digest
            order.total_amount = checkout.total_amount
            self._set_entity(order, checkout)
            order.lines.clear()
            session.flush()  # old lines go before new ones take their (order, line_ref) keys
            order.lines = [
                LineItem(
                    line_ref=line.line_ref,
                    sku_id=line.sku_id or (line.product.id if line.product else None),
                    dr_checkout_item_id=item_ids.get(line.line_ref),
                    ordered=line.quantity,
                )
                for line in cart.lines
            ]
            session.flush()
            self._enqueue(session, order, self.hooks(platform).map_checkout(summary))

    @staticmethod
    def _set_entity(order: Order, source: Checkout | DROrder) -> None:
        entity = source.selling_entity
        if entity is not None and entity.id:
            order.selling_entity_id = entity.id
            order.selling_entity_name = entity.name

    # -- step 22: payment hand-off -------------------------------------------------------------

    async def hand_off_payment(self, platform: str, payload: Mapping[str, Any]) -> CheckoutSummary:
        """Save the source to the customer if asked, apply it to the checkout, push final tax."""
        hooks = self.hooks(platform)
        handoff = hooks.map_payment(payload)
        async with self._lock(platform, handoff.order_ref):
            with self.store.session() as session:
                order = self._get(session, platform, handoff.order_ref)
                if order.status or order.submit_attempted:
                    raise FlowStateError(f"order {handoff.order_ref!r} was already submitted")
                checkout_id, customer_id = order.dr_checkout_id, order.dr_customer_id
            if checkout_id is None:
                raise FlowStateError(f"order {handoff.order_ref!r} has no checkout yet")
            if handoff.save:
                if customer_id is None:
                    raise InvalidInput("save", "a guest shopper cannot save a payment source")
                await self.dr.customers.attach_source(customer_id, handoff.source_id)
            checkout = await self.dr.checkouts.update(checkout_id, {"sourceId": handoff.source_id})
            summary = translate.summarize(handoff.order_ref, checkout, final=True)
            with self.store.session() as session:
                order = self._get(session, platform, handoff.order_ref)
                order.total_amount = checkout.total_amount
                self._set_entity(order, checkout)
                self._enqueue(session, order, hooks.map_checkout(summary))
            await self.deliver_writes(platform, handoff.order_ref)
        return summary

    # -- step 32: submit -----------------------------------------------------------------------

    async def submit(self, platform: str, order_ref: str) -> SubmitResult:
        """Create the DR order once; map 201 states and 409 declines onto the platform order."""
        async with self._lock(platform, order_ref):
            try:
                return await self._submit(platform, order_ref)
            except Exception as exc:
                self.hooks(platform).flow_error("submit", order_ref, exc)
                raise

    async def _submit(self, platform: str, order_ref: str) -> SubmitResult:
        with self.store.session() as session:
            order = self._get(session, platform, order_ref)
            if order.status is not None:
                return SubmitResult(
                    OrderStatus(order.status),
                    order.dr_order_id,
                    order.dr_state,
                    order.shopper_message,
                )
            if order.dr_checkout_id is None:
                raise FlowStateError(f"order {order_ref!r} has no checkout yet")
            if not order.email:
                raise InvalidInput("email", f"order {order_ref!r} needs an email before submit")
            checkout_id = order.dr_checkout_id
            attempted = order.submit_attempted
            order.submit_attempted = True
        dr_order = await self._find_dr_order(checkout_id) if attempted else None
        if dr_order is None:
            try:
                dr_order = await self.dr.orders.create(checkout_id)
            except OrderDeclinedError:
                return await self._declined(platform, order_ref)
            except NotFoundError as exc:
                if not exc.is_consumed_checkout:
                    raise
                dr_order = await self._find_dr_order(checkout_id, wait=True)
            except DigitalRiverError as exc:
                if not exc.ambiguous:
                    raise
                dr_order = await self._find_dr_order(checkout_id, wait=True)
                if dr_order is None:
                    dr_order = await self.dr.orders.create(checkout_id)
            if dr_order is None:
                raise FlowStateError(
                    f"DR reports checkout {checkout_id} already used, but no order for it was found"
                )
        return await self._record_order(platform, order_ref, dr_order, cause="submit")

    async def _find_dr_order(self, checkout_id: str, *, wait: bool = False) -> DROrder | None:
        attempts = _ORDER_LOOKUP_ATTEMPTS if wait else 1
        for attempt in range(attempts):
            found = await self.dr.orders.find_by_checkout(checkout_id)
            if found is not None:
                return found
            if attempt + 1 < attempts:
                await asyncio.sleep(self._lookup_delay * (attempt + 1))
        return None

    async def _declined(self, platform: str, order_ref: str) -> SubmitResult:
        with self.store.session() as session:
            order = self._get(session, platform, order_ref)
            old = order.status
            order.shopper_message = DECLINE_MESSAGE
            new = self._transition(session, order, OrderStatus.payment_failed, None, "submit")
            view = self._queue_status(session, order, new) if new else translate.view(order)
        if new is not None:
            await self._announce(view, old, new, "submit")
        return SubmitResult(OrderStatus.payment_failed, None, None, DECLINE_MESSAGE)

    async def _record_order(
        self, platform: str, order_ref: str, dr_order: DROrder, *, cause: str
    ) -> SubmitResult:
        state = str(dr_order.state)
        target = status_for_state(state, was_accepted=False)
        items = {translate.line_ref_of(item.metadata): item for item in dr_order.items or []}
        with self.store.session() as session:
            order = self._get(session, platform, order_ref)
            order.dr_order_id = str(dr_order.id)
            order.total_amount = dr_order.total_amount
            self._set_entity(order, dr_order)
            for line in order.lines:
                item = items.get(line.line_ref)
                if item is not None:
                    line.dr_order_item_id = str(item.id)
            old = order.status
            new = self._transition(session, order, target, state, cause)
            view = self._queue_status(session, order, new) if new else translate.view(order)
            result = SubmitResult(OrderStatus(order.status or target), order.dr_order_id, state)
        if new is not None:
            await self._announce(view, old, new, cause)
        return result

    # -- steps 40-47 and later: Digital River events --------------------------------------------

    async def handle_dr_event(self, event: Event | Mapping[str, Any]) -> str:
        """Apply one DR event; return ``applied``, ``stale``, ``duplicate`` or ``ignored``.

        Raises :class:`~affluent.errors.UnknownOrder` (recording nothing) when the event is
        about an order this store does not know.
        """
        if not isinstance(event, Event):
            event = Event.model_validate(event)
        key = f"dr:{event.id}"
        obj: Mapping[str, Any] = (event.data.object if event.data else None) or {}
        event_type = str(event.type)
        dr_order_id = translate.event_order_id(event_type, obj)
        if dr_order_id is None:
            return self._note_event(key, event, None, "ignored")
        with self.store.session() as session:
            if session.get(HandledEvent, key) is not None:
                return "duplicate"
            order = session.scalars(
                select(Order).where(Order.dr_order_id == dr_order_id)
            ).one_or_none()
            if order is None:
                raise UnknownOrder(dr_order_id)
            platform, order_ref = order.platform, order.order_ref
        async with self._lock(platform, order_ref):
            return await self._apply_event(key, event, event_type, obj, platform, order_ref)

    def _note_event(self, key: str, event: Event, order_id: int | None, outcome: str) -> str:
        with self.store.session() as session:
            if session.get(HandledEvent, key) is not None:
                return "duplicate"
            session.add(
                HandledEvent(key=key, order_id=order_id, type=str(event.type), outcome=outcome)
            )
        return outcome

    async def _apply_event(
        self,
        key: str,
        event: Event,
        event_type: str,
        obj: Mapping[str, Any],
        platform: str,
        order_ref: str,
    ) -> str:
        if event_type == "order.charge.failed":
            target, state = OrderStatus.payment_failed, None
        else:
            state = str(obj["state"])
            if state == "dispute" or event_type == "order.dispute.resolved":
                return self._note_event(key, event, None, "ignored")
            transitions = obj.get("stateTransitions") or {}
            target = status_for_state(state, was_accepted="accepted" in transitions)
        with self.store.session() as session:
            if session.get(HandledEvent, key) is not None:
                return "duplicate"
            order = self._get(session, platform, order_ref)
            old = order.status
            new = self._transition(session, order, target, state, f"event:{event.id}")
            outcome = "applied" if new is not None else "stale"
            session.add(HandledEvent(key=key, order_id=order.id, type=event_type, outcome=outcome))
            view = self._queue_status(session, order, new) if new else translate.view(order)
        hooks = self.hooks(platform)
        hooks.dr_event_handled(str(event.id), event_type, outcome)
        if new is not None:
            await self._announce(view, old, new, f"event:{event.id}")
        return outcome

    # -- steps 49-56: line-item changes -> fulfillments -----------------------------------------

    async def apply_line_changes(self, platform: str, payload: Mapping[str, Any]) -> ChangeResult:
        """Send a platform's shipped / cancelled quantities to DR as one fulfillment."""
        hooks = self.hooks(platform)
        changes = hooks.map_line_changes(payload)
        if changes is None:
            return ChangeResult("ignored")
        async with self._lock(platform, changes.order_ref):
            try:
                return await self._apply_line_changes(platform, changes)
            except Exception as exc:
                hooks.flow_error("line_changes", changes.order_ref, exc)
                raise

    async def _apply_line_changes(self, platform: str, changes: LineItemChanges) -> ChangeResult:
        with self.store.session() as session:
            order = self._get(session, platform, changes.order_ref)
            record = session.scalars(
                select(LineChangeRecord).where(
                    LineChangeRecord.order_id == order.id,
                    LineChangeRecord.change_ref == changes.change_ref,
                )
            ).one_or_none()
            if record is not None and record.state == "sent":
                return ChangeResult("duplicate", record.dr_fulfillment_id)
            dr_order_id = order.dr_order_id
            if record is None:
                request = self._reserve(session, order, changes)
                record = LineChangeRecord(
                    order_id=order.id,
                    change_ref=changes.change_ref,
                    state="sending",
                    request=json.dumps(request, default=str),
                )
                session.add(record)
                resend = False
            else:
                request = json.loads(record.request)
                resend = True
        fulfillment_id = await self._send_change(
            record.id, str(dr_order_id), changes.change_ref, request, ask_first=resend
        )
        return ChangeResult("sent", fulfillment_id)

    async def _send_change(
        self,
        record_id: int,
        dr_order_id: str,
        change_ref: str,
        request: dict[str, Any],
        *,
        ask_first: bool,
    ) -> str:
        """Send one recorded line change to DR and record the fulfillment id.

        With ``ask_first`` (an earlier send may have reached DR) DR is asked for a fulfillment
        carrying the change's ref before anything is sent. A definite refusal gives the
        reserved units back; an ambiguous failure leaves the change ``sending`` for later.
        """
        found = await self._find_fulfillment(dr_order_id, change_ref) if ask_first else None
        if found is None:
            try:
                found = str((await self.dr.fulfillments.create(request)).id)
            except DigitalRiverError as exc:
                if not exc.ambiguous:  # DR surely did nothing: give the units back
                    self._release_record(record_id)
                raise
        with self.store.session() as session:
            session.execute(
                update(LineChangeRecord)
                .where(LineChangeRecord.id == record_id)
                .values(state="sent", dr_fulfillment_id=found)
            )
        return found

    def _reserve(self, session: Session, order: Order, changes: LineItemChanges) -> dict[str, Any]:
        status = OrderStatus(order.status) if order.status else None
        if status not in SHIPPABLE:
            raise FlowStateError(
                f"order {order.order_ref!r} is {status or 'not submitted'}; lines can be shipped "
                "or cancelled only once the order is accepted (ready_to_fulfill)"
            )
        lines = {line.line_ref: line for line in order.lines}
        items = []
        for index, change in enumerate(changes.changes):
            field = f"changes[{index}]"
            line = lines.get(change.line_ref)
            if line is None:
                raise InvalidInput(
                    f"{field}.line_ref",
                    f"line {change.line_ref!r} is not in order {order.order_ref!r}",
                )
            ledger = LineLedger(line.ordered, line.fulfilled, line.cancelled, line.returned)
            ledger = ledger.apply(shipped=change.shipped, cancelled=change.cancelled, field=field)
            line.fulfilled, line.cancelled = ledger.fulfilled, ledger.cancelled
            item: dict[str, Any] = {"itemId": line.dr_order_item_id}
            if change.shipped:
                item["quantity"] = change.shipped
            if change.cancelled:
                item["cancelQuantity"] = change.cancelled
            items.append(item)
        request: dict[str, Any] = {
            "orderId": order.dr_order_id,
            "items": items,
            "metadata": {translate.CHANGE_REF_KEY: changes.change_ref},
        }
        if changes.tracking is not None:
            tracking = {
                "trackingCompany": changes.tracking.company,
                "trackingNumber": changes.tracking.number,
                "trackingUrl": changes.tracking.url,
            }
            request.update({k: v for k, v in tracking.items() if v is not None})
        return request

    async def _find_fulfillment(self, dr_order_id: str, change_ref: str) -> str | None:
        for fulfillment in await self.dr.fulfillments.list_for_order(dr_order_id):
            if (fulfillment.metadata or {}).get(translate.CHANGE_REF_KEY) == change_ref:
                return str(fulfillment.id)
        return None

    # -- platform webhooks ----------------------------------------------------------------------

    async def handle_platform_event(self, platform: str, event: PlatformEvent) -> object:
        """Run the flow step a parsed platform webhook asks for."""
        match event.kind:
            case PlatformEventKind.cart_ready:
                return await self.begin_checkout(platform, event.payload)
            case PlatformEventKind.payment:
                return await self.hand_off_payment(platform, event.payload)
            case PlatformEventKind.submit:
                if not event.order_ref:
                    raise InvalidInput("order_ref", "a submit event must name the order")
                return await self.submit(platform, event.order_ref)
            case PlatformEventKind.line_changes:
                return await self.apply_line_changes(platform, event.payload)

    # -- appended for the connector service (affluent.service) ----------------------------------

    async def resume_line_changes(self, platform: str, order_ref: str) -> int:
        """Finish the order's line changes whose DR call has an unknown outcome (``sending``).

        For each one DR is asked first (a fulfillment whose ``affluentChangeRef`` metadata is
        the change's ref); only a change DR does not have is sent again. A definite refusal by
        DR gives the reserved quantities back. Returns how many changes were settled.
        """
        async with self._lock(platform, order_ref):
            with self.store.session() as session:
                order = self._get(session, platform, order_ref)
                dr_order_id = order.dr_order_id
                pending = [
                    (record.id, record.change_ref, record.request)
                    for record in session.scalars(
                        select(LineChangeRecord)
                        .where(
                            LineChangeRecord.order_id == order.id,
                            LineChangeRecord.state == "sending",
                        )
                        .order_by(LineChangeRecord.id)
                    )
                ]
            for record_id, change_ref, request in pending:
                await self._send_change(
                    record_id, str(dr_order_id), change_ref, json.loads(request), ask_first=True
                )
            return len(pending)

    def _release_record(self, record_id: int) -> None:
        """Undo the reservation of one ``sending`` line change DR definitely refused."""
        with self.store.session() as session:
            record = session.get_one(LineChangeRecord, record_id)
            request = json.loads(record.request)
            lines = {
                line.dr_order_item_id: line
                for line in session.scalars(
                    select(LineItem).where(LineItem.order_id == record.order_id)
                )
            }
            for item in request.get("items", []):
                line = lines.get(item.get("itemId"))
                if line is not None:
                    line.fulfilled -= int(item.get("quantity") or 0)
                    line.cancelled -= int(item.get("cancelQuantity") or 0)
            session.delete(record)
