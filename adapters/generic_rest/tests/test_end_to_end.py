"""Both example platforms through the whole standard flow, against the DR sandbox over loopback.

Every platform -> affluent step arrives as a signed webhook built by the platform fake and
parsed by the adapter; every affluent -> platform write goes over HTTP to the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from affluent.dr import AsyncDigitalRiver
from affluent.errors import UnknownOrder
from affluent.flow import Flow
from affluent.lifecycle import OrderStatus
from affluent.models import DemoCart, PlatformEventKind
from affluent.plugins import Adapters
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent.testing.sources import DECLINED, browser_source
from affluent_generic_rest.plugin import GenericRestAdapter
from affluent_generic_rest.testing import GenericRestFake, example_fakes

K = PlatformEventKind
S = OrderStatus


async def pump(flow: Flow, dr: AsyncDigitalRiver) -> list[str]:
    """Hand every DR event so far, oldest first, to the flow."""
    events = [event async for event in dr.events.iterate(limit=100)]
    outcomes = []
    for event in reversed(events):
        try:
            outcomes.append(await flow.handle_dr_event(event))
        except UnknownOrder:
            outcomes.append("unknown_order")
    return outcomes


async def resolve(sandbox_url: str, order_id: str, outcome: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        response = await client.post(
            f"/_sandbox/orders/{order_id}/resolve", json={"outcome": outcome}
        )
        assert response.status_code == 200, response.text


def words(fake: GenericRestFake) -> dict[OrderStatus, str]:
    status = fake.shape.mapping.push.status
    assert status is not None
    return dict(status.words)


@pytest.fixture
async def flow(
    dr: AsyncDigitalRiver, store: Store, fake: GenericRestFake, fake_url: str
) -> AsyncIterator[Flow]:
    adapters = Adapters.from_plugins({"generic_rest": GenericRestAdapter()})
    flow = Flow(
        dr=dr,
        store=store,
        adapters=adapters,
        configs={"generic_rest": fake.client_config(fake_url)},
        lookup_delay=0.05,
    )
    yield flow
    await flow.aclose()


def demo_cart(ref: str, *, email: str = "ada@example.com", customer: str | None = None) -> DemoCart:
    return DemoCart(
        order_ref=ref,
        email=email,
        customer_id=customer,
        lines=[
            ("L1", "sku-widget-blue", 3, Decimal("15.00")),
            ("L2", "sku-gadget", 1, Decimal("9.99")),
        ],
    )


async def test_full_flow_checkout_review_partial_shipment_and_cancel(
    flow: Flow, fake: GenericRestFake, dr: AsyncDigitalRiver, sandbox_url: str
) -> None:
    hooks = flow.hooks("generic_rest")
    ref = f"{fake.key}-1001"
    said = words(fake)

    async def deliver(kind: PlatformEventKind, payload: Any) -> Any:
        headers, body = fake.webhook(kind, payload)
        event = hooks.parse_webhook(headers, body)
        assert event.kind is kind
        assert event.order_ref == ref
        assert event.delivery_id
        return await flow.handle_platform_event("generic_rest", event)

    # checkout (steps 10-15): registered shopper, tax written back to the platform
    cart = demo_cart(ref, email="review+accept@example.com", customer="c-42")
    summary = await deliver(K.cart_ready, fake.checkout_payload(cart))
    checkout = await dr.checkouts.get(summary.checkout_id)
    assert checkout.upstream_id == ref
    assert checkout.customer_id is not None and checkout.customer_id.endswith("c-42")
    assert [item.quantity for item in checkout.items or []] == [3, 1]
    assert summary.total_tax > 0
    [tax_write] = fake.checkout_writes(ref)

    # payment hand-off (22-29), saving the card to the customer
    source = await browser_source(dr, summary.checkout_id)
    final = await deliver(K.payment, fake.payment_payload(ref, source, True))
    assert final.final is True
    assert len(fake.checkout_writes(ref)) == 2
    customer = await dr.customers.get(str(checkout.customer_id))
    assert customer.id == checkout.customer_id

    # submit (32-39): fraud review first
    result = await deliver(K.submit, fake.submit_payload(ref))
    assert result.status is S.in_review and result.dr_order_id
    assert fake.platform_status(ref) == said[S.in_review]

    # asynchronous acceptance (40-41)
    await resolve(sandbox_url, result.dr_order_id, "accept")
    await pump(flow, dr)
    assert flow.order("generic_rest", ref).status == S.ready_to_fulfill
    assert fake.platform_status(ref) == said[S.ready_to_fulfill]

    # partial shipment with tracking (48-52); the same platform event twice is one change
    tracking = {"company": "UPS", "number": "1Z999AA10123456784"}
    shipment = fake.line_payload(ref, "ship-1", [("L1", 1, 0), ("L2", 1, 0)], tracking)
    sent = await deliver(K.line_changes, shipment)
    assert sent.outcome == "sent"
    assert (await deliver(K.line_changes, shipment)).outcome == "duplicate"
    [fulfillment] = await dr.fulfillments.list_for_order(result.dr_order_id)
    assert fulfillment.tracking_number == "1Z999AA10123456784"

    # cancel the rest (53-57)
    cancelled = await deliver(K.line_changes, fake.line_payload(ref, "cancel-1", [("L1", 0, 2)]))
    assert cancelled.outcome == "sent"
    await pump(flow, dr)

    view = flow.order("generic_rest", ref)
    ledger = {line.line_ref: (line.ordered, line.fulfilled, line.cancelled) for line in view.lines}
    assert ledger == {"L1": (3, 1, 2), "L2": (1, 1, 0)}
    assert view.status == S.complete
    assert fake.platform_status(ref) == said[S.complete]
    expected = [said[s] for s in (S.in_review, S.ready_to_fulfill, S.fulfilled, S.complete)]
    assert fake.statuses(ref) == expected
    assert fake.rejected == []
    assert tax_write  # the platform accepted the first tax write in its own shape


async def test_declined_payment_is_written_as_payment_failed(
    flow: Flow, fake: GenericRestFake, dr: AsyncDigitalRiver
) -> None:
    ref = f"{fake.key}-decline"
    summary = await flow.begin_checkout("generic_rest", fake.checkout_payload(demo_cart(ref)))
    source = await browser_source(dr, summary.checkout_id, number=DECLINED)
    await flow.hand_off_payment("generic_rest", fake.payment_payload(ref, source, False))
    result = await flow.submit("generic_rest", ref)
    assert result.status is S.payment_failed and result.dr_order_id is None
    assert fake.platform_status(ref) == words(fake)[S.payment_failed]
    last = fake.writes[-1]
    assert last.kind == "status"
    assert result.shopper_message is not None
    assert result.shopper_message in str(last.body)


async def test_platform_outage_keeps_the_write_until_a_retry_succeeds(
    flow: Flow, fake: GenericRestFake
) -> None:
    ref = f"{fake.key}-outage"
    flow.write_retry_base = 0.0
    fake.fail_next(1)
    await flow.begin_checkout("generic_rest", fake.checkout_payload(demo_cart(ref)))
    assert fake.checkout_writes(ref) == []
    assert await flow.deliver_writes("generic_rest", ref) == 1
    assert len(fake.checkout_writes(ref)) == 1


async def test_both_example_platforms_side_by_side_in_one_flow(
    dr: AsyncDigitalRiver, store: Store, sandbox_url: str
) -> None:
    """How the demo runs both: one adapter instance per example, each under its own name."""
    fakes = example_fakes()
    adapters = Adapters.from_plugins({name: GenericRestAdapter(example=name) for name in fakes})
    with (
        serve_in_thread(fakes["nested_shop"].app) as nested_url,
        serve_in_thread(fakes["flat_shop"].app) as flat_url,
    ):
        urls = {"nested_shop": nested_url, "flat_shop": flat_url}
        configs = {name: fake.client_config(urls[name]) for name, fake in fakes.items()}
        flow = Flow(dr=dr, store=store, adapters=adapters, configs=configs, lookup_delay=0.05)
        try:
            for name, fake in fakes.items():
                assert adapters.hooks(name).platform_fake().key == name  # type: ignore[union-attr]
                ref = f"{name}-guest"
                summary = await flow.begin_checkout(name, fake.checkout_payload(demo_cart(ref)))
                source = await browser_source(dr, summary.checkout_id)
                await flow.hand_off_payment(name, fake.payment_payload(ref, source, False))
                result = await flow.submit(name, ref)
                assert result.status is S.ready_to_fulfill
                changes = [("L1", 3, 0), ("L2", 1, 0)]
                await flow.apply_line_changes(name, fake.line_payload(ref, "all", changes))
            await pump(flow, dr)
            for name, fake in fakes.items():
                assert flow.order(name, f"{name}-guest").status == S.complete
                assert fake.platform_status(f"{name}-guest") == words(fake)[S.complete]
        finally:
            await flow.aclose()


@pytest.mark.slow
async def test_every_demo_scenario_passes_for_both_example_platforms() -> None:
    from affluent.demo import run_demo
    from affluent_generic_rest.plugin import example_adapters

    report = await run_demo(Adapters.from_plugins(example_adapters()))
    failed = [(row.adapter, row.scenario, row.error) for row in report.rows if not row.ok]
    assert failed == []
    assert {row.adapter for row in report.rows} == {"generic_rest", "generic_rest_flat"}
