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
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

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
from affluent.flow import records, translate
from affluent.flow.records import PendingWrite, StoredLine, StoredOrder
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
from affluent.store import Store
from affluent.store.tables import aware, utcnow

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
class _Announcement:
    """A committed status change, to announce to observers and the platform after commit."""

    view: OrderView
    old: str | None
    new: OrderStatus
    pending: list[PendingWrite]


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

    async def deliver_writes(self, platform: str, order_ref: str) -> int:
        """Send the order's pending platform writes in order; return how many were sent.

        A failed write stays pending with its error and a later retry time, and the writes
        after it wait, so the platform never sees a newer status before an older one.
        """
        with self.store.transaction() as conn:
            order = records.get(conn, platform, order_ref, with_lines=False)
            pending = records.pending_writes(conn, order.id)
        return await self._push(platform, order_ref, pending)

    async def _push(self, platform: str, order_ref: str, pending: list[PendingWrite]) -> int:
        now = utcnow()
        sent = 0
        for write in pending:
            if aware(write.next_attempt_at) > now:
                break
            change = PlatformUpdate(
                order_ref=order_ref, kind=write.kind, body=json.loads(write.body)
            )
            try:
                await self._client(platform).push(change)
            except Exception as exc:
                self.hooks(platform).flow_error("platform_write", order_ref, exc)
                delay = min(self.write_retry_base * 2**write.attempts, 3600.0)
                with self.store.transaction() as conn:
                    records.write_failed(
                        conn,
                        write.id,
                        f"{type(exc).__name__}: {exc}",
                        utcnow() + timedelta(seconds=delay),
                    )
                log.warning("platform write %s for %s failed: %s", write.id, order_ref, exc)
                break
            with self.store.transaction() as conn:
                records.write_sent(conn, write.id)
            sent += 1
        return sent

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def order(self, platform: str, order_ref: str) -> OrderView:
        """The stored view of one order."""
        with self.store.transaction() as conn:
            return translate.view(records.get(conn, platform, order_ref))

    def write_counts(self, platform: str, order_ref: str) -> dict[str, int]:
        """How many of the order's platform writes are ``sent`` and ``pending``."""
        with self.store.transaction() as conn:
            order = records.get(conn, platform, order_ref, with_lines=False)
            counts = records.write_counts(conn, order.id)
        return {"sent": 0, "pending": 0} | counts

    @staticmethod
    def _transition(
        conn: Connection,
        order: StoredOrder,
        target: OrderStatus,
        dr_state: str | None,
        cause: str,
        **also: Any,
    ) -> OrderStatus | None:
        """Record ``target`` if it is a step forward (with ``also``, other columns to set in the
        same update); return the new status, or None when it is not a step forward."""
        current = OrderStatus(order.status) if order.status else None
        new = advance(current, target)
        values = dict(also)
        if new is not None:
            records.add_transition(conn, order, order.status, new, dr_state, cause)
            values["status"] = str(new)
            if dr_state:
                values["dr_state"] = dr_state
        if values:
            records.update_order(conn, order, **values)
        return new

    def _settle(
        self, conn: Connection, order: StoredOrder, old: str | None, new: OrderStatus | None
    ) -> _Announcement | None:
        """In the transition's transaction: queue the platform's status write."""
        if new is None:
            return None
        if not order.lines:
            order.lines = records.load_lines(conn, order.id)
        view = translate.view(order)
        records.enqueue_write(conn, order, self.hooks(order.platform).map_status(view, new))
        return _Announcement(view, old, new, records.pending_writes(conn, order.id))

    async def _announce(self, note: _Announcement | None, cause: str) -> None:
        """After commit: tell observers, then send the queued platform writes."""
        if note is None:
            return
        view = note.view
        hooks = self.hooks(view.platform)
        hooks.order_transitioned(view, OrderStatus(note.old) if note.old else None, note.new, cause)
        await self._push(view.platform, view.order_ref, note.pending)

    @staticmethod
    def _entity(source: Checkout | DROrder) -> dict[str, Any]:
        entity = source.selling_entity
        if entity is None or not entity.id:
            return {}
        return {"selling_entity_id": entity.id, "selling_entity_name": entity.name}

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
        registered = shopper.kind is ShopperKind.registered
        with self.store.transaction() as conn:
            existing = records.find(conn, platform, cart.order_ref, with_lines=False)
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
            known = (
                registered and not reuse and records.customer_known(conn, str(shopper.customer_id))
            )
        if reuse and old_checkout:
            checkout = await self.dr.checkouts.get(old_checkout)
            return translate.summarize(cart.order_ref, checkout, final=False)
        customer_id = str(shopper.customer_id) if registered else None
        if registered and not known:  # none of our orders uses this customer yet: create it
            with contextlib.suppress(ConflictError):  # it exists at DR already: reuse it
                await self.dr.customers.create(translate.customer_request(shopper, cart))
        checkout = await self.dr.checkouts.create(
            translate.checkout_request(cart, shopper, customer_id)
        )
        if old_checkout:
            await self._discard_checkout(old_checkout)
        summary = translate.summarize(cart.order_ref, checkout, final=False)
        pending = self._save_checkout(platform, cart, digest, customer_id, checkout, summary)
        await self._push(platform, cart.order_ref, pending)
        return summary

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
    ) -> list[PendingWrite]:
        item_ids = {
            translate.line_ref_of(item.metadata): str(item.id) for item in checkout.items or []
        }
        values = {
            "currency": cart.currency,
            "email": checkout.email or cart.email,
            "dr_customer_id": customer_id,
            "dr_checkout_id": str(checkout.id),
            "cart_fingerprint": digest,
            "total_amount": checkout.total_amount,
            **self._entity(checkout),
        }
        with self.store.transaction() as conn:
            order = records.find(conn, platform, cart.order_ref, with_lines=False)
            if order is None:
                order = records.insert_order(conn, platform, cart.order_ref, **values)
            else:
                records.update_order(conn, order, **values)
            records.replace_lines(
                conn,
                order,
                [
                    {
                        "line_ref": line.line_ref,
                        "sku_id": line.sku_id or (line.product.id if line.product else None),
                        "dr_checkout_item_id": item_ids.get(line.line_ref),
                        "ordered": line.quantity,
                    }
                    for line in cart.lines
                ],
            )
            records.enqueue_write(conn, order, self.hooks(platform).map_checkout(summary))
            return records.pending_writes(conn, order.id)

    # -- step 22: payment hand-off -------------------------------------------------------------

    async def hand_off_payment(self, platform: str, payload: Mapping[str, Any]) -> CheckoutSummary:
        """Save the source to the customer if asked, apply it to the checkout, push final tax."""
        hooks = self.hooks(platform)
        handoff = hooks.map_payment(payload)
        async with self._lock(platform, handoff.order_ref):
            with self.store.transaction() as conn:
                order = records.get(conn, platform, handoff.order_ref, with_lines=False)
                if order.status or order.submit_attempted:
                    raise FlowStateError(f"order {handoff.order_ref!r} was already submitted")
            if order.dr_checkout_id is None:
                raise FlowStateError(f"order {handoff.order_ref!r} has no checkout yet")
            if handoff.save:
                if order.dr_customer_id is None:
                    raise InvalidInput("save", "a guest shopper cannot save a payment source")
                await self.dr.customers.attach_source(order.dr_customer_id, handoff.source_id)
            checkout = await self.dr.checkouts.update(
                order.dr_checkout_id, {"sourceId": handoff.source_id}
            )
            summary = translate.summarize(handoff.order_ref, checkout, final=True)
            with self.store.transaction() as conn:
                records.update_order(
                    conn, order, total_amount=checkout.total_amount, **self._entity(checkout)
                )
                records.enqueue_write(conn, order, hooks.map_checkout(summary))
                pending = records.pending_writes(conn, order.id)
            await self._push(platform, handoff.order_ref, pending)
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
        with self.store.transaction() as conn:
            order = records.get(conn, platform, order_ref, with_lines=False)
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
            if not attempted:
                records.update_order(conn, order, submit_attempted=True)
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
        with self.store.transaction() as conn:
            order = records.get(conn, platform, order_ref)
            old = order.status
            new = self._transition(
                conn,
                order,
                OrderStatus.payment_failed,
                None,
                "submit",
                shopper_message=DECLINE_MESSAGE,
            )
            note = self._settle(conn, order, old, new)
        await self._announce(note, "submit")
        return SubmitResult(OrderStatus.payment_failed, None, None, DECLINE_MESSAGE)

    async def _record_order(
        self, platform: str, order_ref: str, dr_order: DROrder, *, cause: str
    ) -> SubmitResult:
        state = str(dr_order.state)
        target = status_for_state(state, was_accepted=False)
        items = {translate.line_ref_of(item.metadata): item for item in dr_order.items or []}
        with self.store.transaction() as conn:
            order = records.get(conn, platform, order_ref)
            linked = []
            for line in order.lines:
                item = items.get(line.line_ref)
                if item is not None:
                    line.dr_order_item_id = str(item.id)
                    linked.append(line)
            records.update_lines(conn, linked, "dr_order_item_id")
            old = order.status
            new = self._transition(
                conn,
                order,
                target,
                state,
                cause,
                dr_order_id=str(dr_order.id),
                total_amount=dr_order.total_amount,
                **self._entity(dr_order),
            )
            note = self._settle(conn, order, old, new)
            result = SubmitResult(OrderStatus(order.status or target), order.dr_order_id, state)
        await self._announce(note, cause)
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
        with self.store.transaction() as conn:
            if records.is_handled(conn, key):
                return "duplicate"
            target = records.locate(conn, dr_order_id)
        if target is None:
            raise UnknownOrder(dr_order_id)
        platform, order_ref = target
        async with self._lock(platform, order_ref):
            return await self._apply_event(key, event, event_type, obj, platform, order_ref)

    def _note_event(self, key: str, event: Event, order_id: int | None, outcome: str) -> str:
        with self.store.transaction() as conn:
            if records.is_handled(conn, key):
                return "duplicate"
            records.mark_handled(conn, key, order_id, str(event.type), outcome)
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
        with self.store.transaction() as conn:
            if records.is_handled(conn, key):
                return "duplicate"
            order = records.get(conn, platform, order_ref, with_lines=False)
            old = order.status
            new = self._transition(conn, order, target, state, f"event:{event.id}")
            outcome = "applied" if new is not None else "stale"
            records.mark_handled(conn, key, order.id, event_type, outcome)
            note = self._settle(conn, order, old, new)
        self.hooks(platform).dr_event_handled(str(event.id), event_type, outcome)
        await self._announce(note, f"event:{event.id}")
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
        with self.store.transaction() as conn:
            order = records.get(conn, platform, changes.order_ref)
            record = records.find_change(conn, order.id, changes.change_ref)
            if record is not None and record.state == "sent":
                return ChangeResult("duplicate", record.dr_fulfillment_id)
            if record is None:
                request = self._reserve(conn, order, changes)
                record_id = records.add_change(conn, order.id, changes.change_ref, request)
            else:
                request, record_id = json.loads(record.request), record.id
        fulfillment_id = await self._send_change(
            record_id,
            str(order.dr_order_id),
            changes.change_ref,
            request,
            ask_first=record is not None,
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
                    with self.store.transaction() as conn:
                        records.release_change(conn, record_id)
                raise
        with self.store.transaction() as conn:
            records.change_sent(conn, record_id, found)
        return found

    @staticmethod
    def _reserve(conn: Connection, order: StoredOrder, changes: LineItemChanges) -> dict[str, Any]:
        """Take the changed units from the lines' ledgers (in the caller's transaction); return
        the ``POST /fulfillments`` body."""
        status = OrderStatus(order.status) if order.status else None
        if status not in SHIPPABLE:
            raise FlowStateError(
                f"order {order.order_ref!r} is {status or 'not submitted'}; lines can be shipped "
                "or cancelled only once the order is accepted (ready_to_fulfill)"
            )
        lines = {line.line_ref: line for line in order.lines}
        touched: dict[int, StoredLine] = {}
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
            touched[line.id] = line
        records.update_lines(conn, list(touched.values()), "fulfilled", "cancelled")
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
            with self.store.transaction() as conn:
                order = records.get(conn, platform, order_ref, with_lines=False)
                dr_order_id = order.dr_order_id
                pending = records.sending_changes(conn, order.id)
            for record_id, change_ref, request in pending:
                await self._send_change(
                    record_id, str(dr_order_id), change_ref, json.loads(request), ask_first=True
                )
            return len(pending)
