"""Helpers for tests that walk orders through the flow against the sandbox."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from affluent.dr import AsyncDigitalRiver
from affluent.errors import UnknownOrder
from affluent.flow import Flow
from affluent.testing.sources import VISA, browser_source


def cart(
    ref: str, *, customer: str | None = None, email: str = "ada@example.com", **extra: Any
) -> dict[str, Any]:
    lines = [
        {"id": "L1", "sku": "sku-widget-blue", "qty": 3, "price": "15.00"},
        {"id": "L2", "sku": "sku-widget-blue", "qty": 1, "price": "9.99"},
    ]
    return {
        "ref": ref,
        "currency": "USD",
        "email": email,
        "customer": customer,
        "lines": lines,
    } | extra


async def source(
    dr: AsyncDigitalRiver,
    flow: Flow,
    ref: str,
    *,
    kind: Literal["card", "wire"] = "card",
    number: str = VISA,
    last_name: str = "Lovelace",
) -> str:
    checkout_id = flow.order("dict", ref).dr_checkout_id or ""
    return await browser_source(dr, checkout_id, kind=kind, number=number, last_name=last_name)


async def pump(flow: Flow, dr: AsyncDigitalRiver) -> list[str]:
    """Feed every DR event so far, oldest first, to the flow; return the outcomes."""
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


async def paid(flow: Flow, dr: AsyncDigitalRiver, ref: str, **kwargs: Any) -> None:
    await flow.begin_checkout("dict", cart(ref, **kwargs))
    await flow.hand_off_payment("dict", {"ref": ref, "source": await source(dr, flow, ref)})
