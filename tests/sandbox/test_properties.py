"""Money invariants for any cart and any order of shipping and cancelling (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_support import MN, SHIP_FROM, card

from affluent.sandbox import Sandbox, SandboxConfig, catalog, checkouts, fulfillments, orders
from affluent.sandbox import sources as source_api
from affluent.sandbox.money import dec

cents = st.integers(min_value=1, max_value=100_000)


def _line(price: int) -> st.SearchStrategy[tuple[Decimal, int, dict[str, float] | None]]:
    discount = st.one_of(
        st.none(),
        st.integers(min_value=1, max_value=99).map(lambda p: {"percentOff": float(p)}),
        st.integers(min_value=1, max_value=price).map(lambda c: {"amountOff": c / 100}),
    )
    return st.tuples(st.just(Decimal(price) / 100), st.integers(min_value=1, max_value=4), discount)


lines = st.lists(cents.flatmap(_line), min_size=1, max_size=4)


def _place(sb: Sandbox, cart: list[Any], shipping: Decimal, state: str, inclusive: bool) -> Any:
    sb.run(catalog.create, {"id": "thing", "name": "Thing", "physical": True})
    address = {**MN, "state": state}
    body = {
        "currency": "USD",
        "email": "p@example.com",
        "taxInclusive": inclusive,
        "shipFrom": SHIP_FROM,
        "shipTo": {"name": "P", "address": address},
        "billTo": {"name": "P", "address": address},
        "shippingChoice": {"amount": str(shipping)},
        "items": [
            {"skuId": "thing", "price": str(price), "quantity": quantity}
            | ({"discount": discount} if discount else {})
            for price, quantity, discount in cart
        ],
    }
    checkout = sb.run(checkouts.create, body)
    total = dec(checkout["totalAmount"])
    assert total == dec(checkout["subtotal"]) + dec(checkout["totalTax"])
    assert dec(checkout["subtotal"]) == sum(
        (dec(i["amount"]) for i in checkout["items"]), dec(checkout["totalShipping"])
    )
    assert dec(checkout["totalTax"]) == sum(
        (dec(i["tax"]["amount"]) for i in checkout["items"]),
        dec(checkout["shippingChoice"]["taxAmount"]),
    )
    session_id = checkout["payment"]["session"]["id"]
    source = sb.run(
        source_api.create,
        {
            "type": "creditCard",
            "paymentSessionId": session_id,
            "creditCard": card("4444222233331111"),
        },
    )
    sb.run(checkouts.attach_source, checkout["id"], source["id"])
    return sb.run(orders.create, {"checkoutId": checkout["id"]})


@settings(max_examples=60, deadline=None)
@given(
    cart=lines,
    shipping=cents.map(lambda c: Decimal(c) / 100),
    state=st.sampled_from(["MN", "CA", "OR", "NY", "WA"]),
    inclusive=st.booleans(),
    data=st.data(),
)
def test_captured_plus_cancelled_is_the_total(
    cart: list[Any], shipping: Decimal, state: str, inclusive: bool, data: st.DataObject
) -> None:
    sb = Sandbox(SandboxConfig(rate_limit=None, resolve_delay=None))
    order = _place(sb, cart, shipping, state, inclusive)
    assert order["state"] == "accepted"
    steps: list[dict[str, Any]] = []
    for item in order["items"]:
        left = item["quantity"]
        while left:
            take = data.draw(st.integers(min_value=1, max_value=left))
            ship = data.draw(st.integers(min_value=0, max_value=take))
            steps.append({"itemId": item["id"], "quantity": ship, "cancelQuantity": take - ship})
            left -= take
    for step in data.draw(st.permutations(steps)):
        sb.run(fulfillments.create, {"orderId": order["id"], "items": [step]})

    final = sb.run(orders.get, order["id"])
    captured, cancelled = dec(final["capturedAmount"]), dec(final["cancelledAmount"])
    assert captured + cancelled == dec(final["totalAmount"])
    shipped = sum(s["quantity"] for s in steps)
    assert final["state"] == ("complete" if shipped else "cancelled")
    [charge] = final["payment"]["charges"]
    assert charge["state"] == ("complete" if shipped else "cancelled")
    for item in final["items"]:
        sent = sum(s["quantity"] for s in steps if s["itemId"] == item["id"])
        assert item["state"] == ("fulfilled" if sent else "cancelled")
