"""Reliability: shuffled, duplicated and dropped event histories reach the in-order state.

Each example makes a real order at the sandbox, drives it through a scenario, reads the events
DR recorded, and delivers a drawn subset of them (some dropped, some repeated, in a drawn order)
as signed webhooks to the service on uvicorn; a worker processes the inbox. The order must end
where the kept events, applied in DR's order, take it.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from conftest import Service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_support import PLATFORM, resolve, signed, submitted
from sqlalchemy import select

from affluent.lifecycle import OrderStatus, advance, status_for_state
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.store import Order, Transition

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SCENARIOS = {
    "review_accept_ship": ("review@example.com", "Lovelace"),
    "review_block": ("review@example.com", "Lovelace"),
    "accept_cancel_all": ("ada@example.com", "Lovelace"),
    "pending_then_fail": ("ada@example.com", "ChargeRemainPending"),
    "pending_then_accept": ("ada@example.com", "ChargeRemainPending"),
}
RANK = {
    None: 0,
    OrderStatus.awaiting_payment: 1,
    OrderStatus.in_review: 2,
    OrderStatus.ready_to_fulfill: 3,
    OrderStatus.fulfilled: 4,
    OrderStatus.complete: 5,
    OrderStatus.returned: 6,
    OrderStatus.blocked: 9,
    OrderStatus.payment_failed: 9,
    OrderStatus.cancelled: 9,
}
MAX_EVENTS = 30
examples: list[tuple[str, int, int, str]] = []
numbers = itertools.count()


def target(event: dict[str, Any]) -> OrderStatus | None:
    """What an event asks of the order (the documented rules), or None if it asks nothing."""
    kind, obj = event["type"], event["data"]["object"]
    if kind == "order.charge.failed":
        return OrderStatus.payment_failed
    if not kind.startswith("order.") or kind.startswith("order.charge.") or not obj.get("state"):
        return None
    if obj["state"] == "dispute" or kind == "order.dispute.resolved":
        return None
    return status_for_state(
        obj["state"], was_accepted="accepted" in (obj.get("stateTransitions") or {})
    )


async def make_history(
    service: Service, sandbox_url: str, ref: str, scenario: str
) -> tuple[OrderStatus, list[dict[str, Any]]]:
    flow, dr = service.runtime.flow, service.runtime.dr
    email, last_name = SCENARIOS[scenario]
    order_id = await submitted(flow, dr, ref, email=email, last_name=last_name)
    start = OrderStatus(flow.order(PLATFORM, ref).status or "")
    if scenario.startswith("review"):
        await resolve(
            sandbox_url, order_id, "accept" if scenario == "review_accept_ship" else "block"
        )
    if scenario == "pending_then_fail":
        await resolve(sandbox_url, order_id, "fail_charge")
    if scenario == "pending_then_accept":
        await resolve(sandbox_url, order_id, "accept")
    if scenario == "review_accept_ship":
        order = await dr.orders.get(order_id)
        items = [{"itemId": i.id, "quantity": i.quantity} for i in order.items or []]
        await dr.fulfillments.create({"orderId": order_id, "items": items})
    if scenario == "accept_cancel_all":
        order = await dr.orders.get(order_id)
        items = [{"itemId": i.id, "cancelQuantity": i.quantity} for i in order.items or []]
        await dr.fulfillments.create({"orderId": order_id, "items": items})
    listed = [e async for e in dr.events.iterate(order_id=order_id, limit=100)]
    return start, [e.to_dict() for e in reversed(listed)]  # oldest first


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scenario=st.sampled_from(sorted(SCENARIOS)),
    keep=st.lists(st.integers(0, 9), min_size=MAX_EVENTS, max_size=MAX_EVENTS),
    copies=st.lists(st.integers(1, 3), min_size=MAX_EVENTS, max_size=MAX_EVENTS),
    order=st.randoms(use_true_random=False),
)
async def test_any_delivery_order_reaches_the_in_order_state(
    service: Service,
    sandbox_url: str,
    scenario: str,
    keep: list[int],
    copies: list[int],
    order: Any,
) -> None:
    ref = f"h-{next(numbers)}-{scenario}"
    start, history = await make_history(service, sandbox_url, ref, scenario)
    assert len(history) <= MAX_EVENTS
    kept = [e for i, e in enumerate(history) if keep[i] > 0]  # 1 in 10 dropped
    delivered = [e for i, e in enumerate(history) if keep[i] > 0 for _ in range(copies[i])]
    order.shuffle(delivered)

    expected: OrderStatus = start
    for event in kept:  # the same events in DR's order
        wanted = target(event)
        moved = advance(expected, wanted) if wanted is not None else None
        expected = moved or expected

    async with httpx.AsyncClient(base_url=service.url) as client:
        for event in delivered:
            body, headers = signed(event, DEFAULT_WEBHOOK_SECRET)
            response = await client.post("/webhooks/digital-river", content=body, headers=headers)
            assert response.status_code == 202
    await service.worker.run_until_idle(limit=60)

    with service.store.session() as session:
        order = session.scalars(select(Order).where(Order.order_ref == ref)).one()
        steps = session.scalars(
            select(Transition).where(Transition.order_id == order.id).order_by(Transition.id)
        ).all()
    assert order.status == expected, (scenario, [e["type"] for e in delivered])
    for step in steps:  # forward only, never back
        old = OrderStatus(step.old) if step.old else None
        assert RANK[OrderStatus(step.new)] > RANK[old]
    examples.append((scenario, len(history), len(delivered), str(expected)))


def test_histories_figures() -> None:
    """Print what the property test covered (runs after it in this module)."""
    if not examples:
        pytest.skip("the property test did not run")
    delivered = sum(n for _, _, n, _ in examples)
    print(
        f"\n[histories] {len(examples)} real order histories ({len({s for s, *_ in examples})} "
        f"scenarios), {sum(h for _, h, _, _ in examples)} events at DR, {delivered} deliveries "
        f"after drops/duplicates/shuffles; every order ended in its in-order state"
    )
