"""The standard flow against the DR sandbox over loopback HTTP (real uvicorn), branch by branch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from flow_support import cart, paid, pump, resolve, source
from sqlalchemy import func, select

from affluent.dr import AsyncDigitalRiver
from affluent.dr.errors import ConflictError, NotFoundError
from affluent.errors import FlowStateError, InvalidInput, QuantityExceeded, UnknownOrder
from affluent.flow import DECLINE_MESSAGE, Flow
from affluent.hookspecs import hookimpl
from affluent.lifecycle import OrderStatus
from affluent.models import OrderView
from affluent.plugins import Adapters
from affluent.store import HandledEvent, LineChangeRecord, Order, Store, Transition
from affluent.testing.memory import DictPlatform
from affluent.testing.sources import DECLINED


def counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Order, Transition, HandledEvent, LineChangeRecord)
        }


# -- begin checkout -----------------------------------------------------------------------------


async def test_guest_checkout_creates_a_checkout_with_tax_and_pushes_it(
    flow: Flow, dr: AsyncDigitalRiver, platform: DictPlatform
) -> None:
    summary = await flow.begin_checkout("dict", cart("o-1"))
    checkout = await dr.checkouts.get(summary.checkout_id)
    assert checkout.upstream_id == "o-1"
    assert checkout.customer_id is None
    assert [item.quantity for item in checkout.items or []] == [3, 1]
    assert summary.total_amount == checkout.total_amount
    assert summary.total_tax > 0 and summary.total_tax == checkout.total_tax
    assert summary.total_amount == summary.subtotal + summary.total_tax
    assert summary.selling_entity is not None and summary.selling_entity.id
    assert [line.line_ref for line in summary.lines] == ["L1", "L2"]
    assert summary.final is False
    [update] = platform.client.pushed
    assert update.kind == "checkout" and update.body["tax"] == str(summary.total_tax)
    view = flow.order("dict", "o-1")
    assert view.status is None and view.dr_checkout_id == summary.checkout_id
    assert [(line.line_ref, line.ordered) for line in view.lines] == [("L1", 3), ("L2", 1)]


async def test_same_cart_twice_reuses_the_checkout(flow: Flow) -> None:
    first = await flow.begin_checkout("dict", cart("o-1"))
    second = await flow.begin_checkout("dict", cart("o-1"))
    assert first.checkout_id == second.checkout_id


async def test_changed_cart_replaces_the_checkout(flow: Flow, dr: AsyncDigitalRiver) -> None:
    first = await flow.begin_checkout("dict", cart("o-1"))
    changed = cart("o-1")
    changed["lines"][0]["qty"] = 5
    second = await flow.begin_checkout("dict", changed)
    assert second.checkout_id != first.checkout_id
    with pytest.raises(NotFoundError):
        await dr.checkouts.get(first.checkout_id)
    assert flow.order("dict", "o-1").lines[0].ordered == 5


async def test_registered_shopper_gets_one_dr_customer(flow: Flow, dr: AsyncDigitalRiver) -> None:
    await flow.begin_checkout("dict", cart("o-1", customer="cust-42"))
    await flow.begin_checkout("dict", cart("o-2", customer="cust-42"))
    customer = await dr.customers.get("cust-42")
    assert customer.email == "ada@example.com"
    assert flow.order("dict", "o-2").dr_customer_id == "cust-42"
    checkout = await dr.checkouts.get(flow.order("dict", "o-2").dr_checkout_id or "")
    assert checkout.customer_id == "cust-42"


async def test_unknown_currency_is_refused_before_any_call(flow: Flow, store: Store) -> None:
    with pytest.raises(InvalidInput) as info:
        await flow.begin_checkout("dict", cart("o-1", currency="XYZ"))
    assert info.value.field == "currency"
    assert "XYZ" in str(info.value)
    assert counts(store)["orders"] == 0


@pytest.mark.parametrize("qty", [0, -2, 10_001])
async def test_bad_quantities_are_refused(flow: Flow, store: Store, qty: int) -> None:
    payload = cart("o-1")
    payload["lines"][0]["qty"] = qty
    with pytest.raises(InvalidInput) as info:
        await flow.begin_checkout("dict", payload)
    assert info.value.field == "lines[0].quantity"
    assert counts(store)["orders"] == 0


# -- payment ------------------------------------------------------------------------------------


async def test_payment_applies_the_source_and_pushes_final_totals(
    flow: Flow, dr: AsyncDigitalRiver, platform: DictPlatform
) -> None:
    await flow.begin_checkout("dict", cart("o-1"))
    summary = await flow.hand_off_payment(
        "dict", {"ref": "o-1", "source": await source(dr, flow, "o-1")}
    )
    checkout = await dr.checkouts.get(summary.checkout_id)
    assert checkout.payment is not None and checkout.payment.session is not None
    assert checkout.payment.session.state == "requires_confirmation"
    assert summary.final is True
    assert platform.client.pushed[-1].body["final"] is True


async def test_saving_the_card_attaches_it_to_the_customer_first(
    flow: Flow, dr: AsyncDigitalRiver
) -> None:
    await flow.begin_checkout("dict", cart("o-1", customer="cust-7"))
    source_id = await source(dr, flow, "o-1")
    await flow.hand_off_payment("dict", {"ref": "o-1", "source": source_id, "save": True})
    saved = await dr.sources.get(source_id)
    assert saved.reusable is True
    assert saved.customer_id == "cust-7"
    result = await flow.submit("dict", "o-1")
    assert result.status is OrderStatus.ready_to_fulfill
    assert (await dr.sources.get(source_id)).state == "chargeable"


async def test_a_guest_cannot_save_a_card(flow: Flow, dr: AsyncDigitalRiver) -> None:
    await flow.begin_checkout("dict", cart("o-1"))
    with pytest.raises(InvalidInput) as info:
        await flow.hand_off_payment(
            "dict", {"ref": "o-1", "source": await source(dr, flow, "o-1"), "save": True}
        )
    assert info.value.field == "save"


# -- submit -------------------------------------------------------------------------------------


async def test_accepted_order_is_ready_to_fulfill(
    flow: Flow, dr: AsyncDigitalRiver, platform: DictPlatform, store: Store
) -> None:
    await paid(flow, dr, "o-1")
    result = await flow.submit("dict", "o-1")
    assert result.status is OrderStatus.ready_to_fulfill
    assert result.dr_state == "accepted"
    view = flow.order("dict", "o-1")
    dr_order = await dr.orders.get(result.dr_order_id or "")
    assert {line.dr_item_id for line in view.lines} == {
        str(item.id) for item in dr_order.items or []
    }
    assert platform.client.statuses("o-1") == ["ready_to_fulfill"]
    assert (await flow.submit("dict", "o-1")).dr_order_id == result.dr_order_id
    listed = await dr.orders.list(checkout_id=view.dr_checkout_id)
    assert len(listed.data) == 1
    assert counts(store)["transitions"] == 1


async def test_decline_is_payment_failed_with_a_shopper_message(
    flow: Flow, dr: AsyncDigitalRiver, platform: DictPlatform
) -> None:
    await flow.begin_checkout("dict", cart("o-1"))
    await flow.hand_off_payment(
        "dict", {"ref": "o-1", "source": await source(dr, flow, "o-1", number=DECLINED)}
    )
    result = await flow.submit("dict", "o-1")
    assert result.status is OrderStatus.payment_failed
    assert result.dr_order_id is None
    assert result.shopper_message == DECLINE_MESSAGE
    assert "failed-request" not in DECLINE_MESSAGE
    assert platform.client.statuses("o-1") == ["payment_failed"]


async def test_submit_without_email_is_refused(
    flow: Flow, dr: AsyncDigitalRiver, store: Store
) -> None:
    await flow.begin_checkout("dict", cart("o-1", email=None))
    before = counts(store)
    with pytest.raises(InvalidInput) as info:
        await flow.submit("dict", "o-1")
    assert info.value.field == "email"
    assert counts(store) == before
    assert flow.order("dict", "o-1").status is None


async def test_consumed_checkout_finds_the_existing_order(
    flow: Flow, dr: AsyncDigitalRiver
) -> None:
    await paid(flow, dr, "o-1")
    checkout_id = flow.order("dict", "o-1").dr_checkout_id or ""
    created = await dr.orders.create(checkout_id)  # e.g. a previous process that crashed
    result = await flow.submit("dict", "o-1")
    assert result.dr_order_id == str(created.id)
    assert len((await dr.orders.list(checkout_id=checkout_id)).data) == 1


async def test_ambiguous_failure_is_resolved_by_lookup(
    flow: Flow, dr: AsyncDigitalRiver, sandbox_url: str
) -> None:
    await paid(flow, dr, "o-1")
    async with httpx.AsyncClient(base_url=sandbox_url) as control:
        response = await control.post(
            "/_sandbox/faults",
            json={"method": "POST", "path": "/orders", "kind": "drop_after_commit"},
        )
        assert response.status_code in (200, 201), response.text
    result = await flow.submit("dict", "o-1")
    assert result.status is OrderStatus.ready_to_fulfill
    checkout_id = flow.order("dict", "o-1").dr_checkout_id
    assert len((await dr.orders.list(checkout_id=checkout_id)).data) == 1


# -- asynchronous outcomes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "outcome", "held", "final"),
    [
        ("review@example.com", "accept", OrderStatus.in_review, OrderStatus.ready_to_fulfill),
        ("review@example.com", "block", OrderStatus.in_review, OrderStatus.blocked),
    ],
)
async def test_fraud_review_outcomes(
    flow: Flow,
    dr: AsyncDigitalRiver,
    platform: DictPlatform,
    sandbox_url: str,
    email: str,
    outcome: str,
    held: OrderStatus,
    final: OrderStatus,
) -> None:
    await paid(flow, dr, "o-1", email=email)
    result = await flow.submit("dict", "o-1")
    assert result.status is held
    await resolve(sandbox_url, result.dr_order_id or "", outcome)
    await pump(flow, dr)
    assert flow.order("dict", "o-1").status == final
    assert platform.client.statuses("o-1") == [held.value, final.value]


@pytest.mark.parametrize(
    ("outcome", "last_name", "final"),
    [
        ("accept", "Lovelace", OrderStatus.ready_to_fulfill),
        ("fail_charge", "Lovelace", OrderStatus.payment_failed),
    ],
)
async def test_delayed_payment_outcomes(
    flow: Flow,
    dr: AsyncDigitalRiver,
    sandbox_url: str,
    outcome: str,
    last_name: str,
    final: OrderStatus,
) -> None:
    await flow.begin_checkout("dict", cart("o-1"))
    await flow.hand_off_payment(
        "dict",
        {"ref": "o-1", "source": await source(dr, flow, "o-1", kind="wire", last_name=last_name)},
    )
    result = await flow.submit("dict", "o-1")
    assert result.status is OrderStatus.awaiting_payment
    await resolve(sandbox_url, result.dr_order_id or "", outcome)
    await pump(flow, dr)
    assert flow.order("dict", "o-1").status == final


async def test_events_are_deduplicated_and_stale_ones_ignored(
    flow: Flow, dr: AsyncDigitalRiver, sandbox_url: str, store: Store
) -> None:
    await paid(flow, dr, "o-1", email="review@example.com")
    result = await flow.submit("dict", "o-1")
    await resolve(sandbox_url, result.dr_order_id or "", "accept")
    first = await pump(flow, dr)
    assert "applied" in first
    transitions = counts(store)["transitions"]
    again = await pump(flow, dr)
    assert set(again) <= {"duplicate", "ignored"}
    assert counts(store)["transitions"] == transitions


async def test_event_for_an_unknown_order_changes_nothing(flow: Flow, store: Store) -> None:
    before = counts(store)
    event = {
        "id": "evt-1",
        "type": "order.accepted",
        "liveMode": False,
        "data": {"object": {"id": "999", "state": "accepted"}},
    }
    with pytest.raises(UnknownOrder, match="999"):
        await flow.handle_dr_event(event)
    assert counts(store) == before


# -- fulfillments -------------------------------------------------------------------------------


async def accepted(flow: Flow, dr: AsyncDigitalRiver, ref: str = "o-1") -> str:
    await paid(flow, dr, ref)
    result = await flow.submit("dict", ref)
    assert result.dr_order_id
    return result.dr_order_id


async def test_partial_shipment_then_cancel_of_the_rest(
    flow: Flow, dr: AsyncDigitalRiver, platform: DictPlatform
) -> None:
    order_id = await accepted(flow, dr)
    view = flow.order("dict", "o-1")
    item = {line.line_ref: line.dr_item_id for line in view.lines}
    first = await flow.apply_line_changes(
        "dict",
        {
            "ref": "o-1",
            "event": "ship-1",
            "carrier": "UPS",
            "lines": [{"id": "L1", "shipped": 2}, {"id": "L2", "shipped": 1}],
        },
    )
    assert first.outcome == "sent"
    second = await flow.apply_line_changes(
        "dict", {"ref": "o-1", "event": "cancel-1", "lines": [{"id": "L1", "cancelled": 1}]}
    )
    fulfillments = {f.id: f for f in await dr.fulfillments.list_for_order(order_id)}
    sent = fulfillments[first.dr_fulfillment_id]
    assert sent.tracking_company == "UPS"
    assert {(i.item_id, i.quantity, i.cancel_quantity) for i in sent.items or []} == {
        (item["L1"], 2, 0),
        (item["L2"], 1, 0),
    }
    cancel = fulfillments[second.dr_fulfillment_id]
    assert [(i.item_id, i.quantity, i.cancel_quantity) for i in cancel.items or []] == [
        (item["L1"], 0, 1)
    ]
    await pump(flow, dr)
    view = flow.order("dict", "o-1")
    assert [(line.fulfilled, line.cancelled) for line in view.lines] == [(2, 1), (1, 0)]
    assert view.status == OrderStatus.complete
    assert (await dr.orders.get(order_id)).state == "complete"
    assert platform.client.statuses("o-1")[-1] == "complete"


async def test_the_same_change_twice_is_one_fulfillment(flow: Flow, dr: AsyncDigitalRiver) -> None:
    order_id = await accepted(flow, dr)
    payload = {"ref": "o-1", "event": "ship-1", "lines": [{"id": "L1", "shipped": 1}]}
    first = await flow.apply_line_changes("dict", payload)
    again = await flow.apply_line_changes("dict", payload)
    assert again.outcome == "duplicate" and again.dr_fulfillment_id == first.dr_fulfillment_id
    assert len(await dr.fulfillments.list_for_order(order_id)) == 1
    assert flow.order("dict", "o-1").lines[0].fulfilled == 1


async def test_events_without_line_changes_are_ignored(flow: Flow, dr: AsyncDigitalRiver) -> None:
    await accepted(flow, dr)
    assert (await flow.apply_line_changes("dict", {"ref": "o-1", "lines": []})).outcome == "ignored"


async def test_shipping_before_acceptance_is_refused_and_nothing_is_sent(
    flow: Flow, dr: AsyncDigitalRiver, store: Store
) -> None:
    await paid(flow, dr, "o-1", email="review@example.com")
    result = await flow.submit("dict", "o-1")
    before = counts(store)
    with pytest.raises(FlowStateError, match="in_review"):
        await flow.apply_line_changes(
            "dict", {"ref": "o-1", "event": "ship-1", "lines": [{"id": "L1", "shipped": 1}]}
        )
    assert counts(store) == before
    assert await dr.fulfillments.list_for_order(result.dr_order_id or "") == []


@pytest.mark.parametrize(
    ("lines", "error", "field"),
    [
        ([{"id": "L1", "shipped": 4}], QuantityExceeded, "changes[0]"),
        (
            [{"id": "L2", "shipped": 1}, {"id": "L1", "shipped": 2, "cancelled": 2}],
            QuantityExceeded,
            "changes[1]",
        ),
        ([{"id": "L9", "shipped": 1}], InvalidInput, "changes[0].line_ref"),
        ([{"id": "L1", "shipped": -1}], InvalidInput, "changes[0].shipped"),
    ],
)
async def test_bad_line_changes_are_refused_and_nothing_changes(
    flow: Flow,
    dr: AsyncDigitalRiver,
    store: Store,
    lines: list[dict[str, Any]],
    error: type[Exception],
    field: str,
) -> None:
    order_id = await accepted(flow, dr)
    before, ledger = counts(store), flow.order("dict", "o-1").lines
    with pytest.raises(error) as info:
        await flow.apply_line_changes("dict", {"ref": "o-1", "event": "bad", "lines": lines})
    assert isinstance(info.value, InvalidInput) and info.value.field == field
    assert counts(store) == before
    assert flow.order("dict", "o-1").lines == ledger
    assert await dr.fulfillments.list_for_order(order_id) == []


async def test_line_change_for_an_unknown_order(flow: Flow) -> None:
    with pytest.raises(UnknownOrder, match="nope"):
        await flow.apply_line_changes(
            "dict", {"ref": "nope", "event": "e", "lines": [{"id": "L1", "shipped": 1}]}
        )


async def test_money_survives_as_decimal(flow: Flow) -> None:
    summary = await flow.begin_checkout("dict", cart("o-1"))
    assert isinstance(summary.total_amount, Decimal)
    assert summary.total_amount.as_tuple().exponent >= -2


async def test_redelivered_cart_after_submit_is_a_no_op_but_a_changed_one_is_refused(
    flow: Flow, dr: AsyncDigitalRiver
) -> None:
    await paid(flow, dr, "o-1")
    result = await flow.submit("dict", "o-1")
    again = await flow.begin_checkout("dict", cart("o-1"))
    assert again.checkout_id == flow.order("dict", "o-1").dr_checkout_id
    changed = cart("o-1")
    changed["lines"][0]["qty"] = 1
    with pytest.raises(FlowStateError, match="already submitted"):
        await flow.begin_checkout("dict", changed)
    assert flow.order("dict", "o-1").dr_order_id == result.dr_order_id


class Recorder:
    """An observer plugin, as a logging or metrics plugin would be."""

    def __init__(self) -> None:
        self.transitions: list[tuple[str | None, str, str]] = []
        self.errors: list[tuple[str, str | None, str]] = []

    @hookimpl
    def affluent_order_transitioned(
        self, order: OrderView, old: OrderStatus | None, new: OrderStatus, cause: str
    ) -> None:
        self.transitions.append((old, new.value, cause.split(":")[0]))
        assert order.status == new.value  # observers see the stored state

    @hookimpl
    def affluent_flow_error(self, step: str, order_ref: str | None, error: BaseException) -> None:
        self.errors.append((step, order_ref, type(error).__name__))


async def test_observers_see_transitions_and_errors(
    dr: AsyncDigitalRiver, store: Store, platform: DictPlatform, sandbox_url: str
) -> None:
    recorder = Recorder()
    flow = Flow(
        dr=dr, store=store, adapters=Adapters.from_plugins({"dict": platform}, observers=[recorder])
    )
    await flow.begin_checkout("dict", cart("o-1", email=None))
    with pytest.raises(InvalidInput):
        await flow.submit("dict", "o-1")
    assert recorder.errors == [("submit", "o-1", "InvalidInput")]
    await paid(flow, dr, "o-2", email="review@example.com")
    result = await flow.submit("dict", "o-2")
    await resolve(sandbox_url, result.dr_order_id or "", "accept")
    await pump(flow, dr)
    assert recorder.transitions == [
        (None, "in_review", "submit"),
        ("in_review", "ready_to_fulfill", "event"),
    ]


async def test_charge_failed_alone_is_enough_for_payment_failed(
    flow: Flow, dr: AsyncDigitalRiver, sandbox_url: str
) -> None:
    await flow.begin_checkout("dict", cart("o-1"))
    await flow.hand_off_payment(
        "dict", {"ref": "o-1", "source": await source(dr, flow, "o-1", kind="wire")}
    )
    result = await flow.submit("dict", "o-1")
    await resolve(sandbox_url, result.dr_order_id or "", "fail_charge")
    [failed] = [event async for event in dr.events.iterate(type="order.charge.failed")]
    assert await flow.handle_dr_event(failed) == "applied"  # order.cancelled never arrives
    assert flow.order("dict", "o-1").status == OrderStatus.payment_failed


async def test_a_definite_refusal_by_dr_gives_the_units_back(
    flow: Flow, dr: AsyncDigitalRiver, sandbox_url: str
) -> None:
    await accepted(flow, dr)
    async with httpx.AsyncClient(base_url=sandbox_url) as control:
        rule = {
            "method": "POST",
            "path": "/fulfillments",
            "kind": "status",
            "status": 409,
            "times": 1,
        }
        assert (await control.post("/_sandbox/faults", json=rule)).status_code == 201
    payload = {"ref": "o-1", "event": "ship-1", "lines": [{"id": "L1", "shipped": 2}]}
    with pytest.raises(ConflictError):
        await flow.apply_line_changes("dict", payload)
    assert flow.order("dict", "o-1").lines[0].fulfilled == 0
    assert (await flow.apply_line_changes("dict", payload)).outcome == "sent"  # not a "duplicate"
    assert flow.order("dict", "o-1").lines[0].fulfilled == 2
