"""Refunds and returns against captured money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox_support import Api

D = Decimal


async def _complete_order(api: Api, number: str = "4444222233331111") -> dict[str, Any]:
    order = await api.order(number)
    await api.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": order["items"][0]["id"], "quantity": 2}]},
        201,
    )
    return dict(await api.ok("GET", f"/orders/{order['id']}"))


async def test_partial_refund_pending_then_succeeded(api: Api) -> None:
    order = await _complete_order(api)
    assert order["availableToRefundAmount"] == D("36.64")
    refund = await api.ok(
        "POST",
        "/refunds",
        {"orderId": order["id"], "currency": "USD", "amount": "10.00", "reason": "damaged"},
        201,
    )
    assert refund["id"].startswith("re_")
    assert (refund["state"], refund["amount"], refund["refundedAmount"]) == (
        "pending",
        D("10.0"),
        0,
    )
    pending = await api.ok("GET", f"/orders/{order['id']}")
    assert pending["availableToRefundAmount"] == D("26.64")
    assert pending["refundedAmount"] == 0
    await api.resolve(order["id"], "settle")
    done = await api.ok("GET", f"/refunds/{refund['id']}")
    assert (done["state"], done["refundedAmount"]) == ("succeeded", D("10.0"))
    final = await api.ok("GET", f"/orders/{order['id']}")
    assert (final["refundedAmount"], final["availableToRefundAmount"]) == (D("10.0"), D("26.64"))
    assert final["state"] == "complete"
    [charge] = final["payment"]["charges"]
    assert [(r["amount"], r["state"]) for r in charge["refunds"]] == [(D("10.0"), "complete")]
    assert charge["refunded"] is False
    types = await api.event_types(order["id"])
    assert types[-5:] == [
        "order.charge.refund.pending",
        "refund.pending",
        "order.charge.refund.complete",
        "refund.complete",
        "order.refunded",
    ]
    assert [e["data"]["object"]["state"] for e in await api.events(type="refund.*")] == [
        "pending",
        "succeeded",
    ]
    listed = await api.ok("GET", "/refunds", params={"orderId": order["id"], "state": "succeeded"})
    assert [r["id"] for r in listed["data"]] == [refund["id"]]


async def test_full_refund_returns_the_order(local: Api) -> None:
    order = await _complete_order(local)
    await local.ok(
        "POST", "/refunds", {"orderId": order["id"], "currency": "USD", "percent": 100}, 201
    )
    await local.resolve(order["id"], "settle")
    final = await local.ok("GET", f"/orders/{order['id']}")
    assert final["state"] == "returned"
    assert final["refundedAmount"] == D("36.64")
    assert final["availableToRefundAmount"] == 0
    assert final["items"][0]["state"] == "returned"
    assert final["payment"]["charges"][0]["refunded"] is True


async def test_refund_checks(local: Api) -> None:
    accepted = await local.order()
    order = await _complete_order(local)
    base = {"orderId": order["id"], "currency": "USD"}
    await local.fails(
        "POST",
        "/refunds",
        {**base, "currency": "EUR", "amount": 1},
        400,
        "invalid_parameter",
        "currency",
    )
    await local.fails(
        "POST", "/refunds", {**base, "amount": 36.65}, 400, "invalid_parameter", "amountRequested"
    )
    await local.fails(
        "POST", "/refunds", {**base, "amount": 1, "percent": 5}, 400, "invalid_parameter", "amount"
    )
    await local.fails(
        "POST", "/refunds", {**base, "amount": 0.001}, 400, "invalid_parameter", "amount"
    )
    await local.fails(
        "POST", "/refunds", {**base, "percent": 101}, 400, "invalid_parameter", "percent"
    )
    await local.fails(
        "POST", "/refunds", {**base, "orderId": "0", "amount": 1}, 404, "not_found", "orderId"
    )
    await local.fails(
        "POST",
        "/refunds",
        {"orderId": accepted["id"], "currency": "USD", "amount": 1},
        400,
        "invalid_parameter",
        "amountRequested",
    )
    await local.ok("POST", "/refunds", {**base, "amount": 30}, 201)
    await local.fails(
        "POST", "/refunds", {**base, "amount": 7}, 400, "invalid_parameter", "amountRequested"
    )


async def test_item_refund(local: Api) -> None:
    order = await _complete_order(local)
    item_id = order["items"][0]["id"]
    refund = await local.ok(
        "POST",
        "/refunds",
        {"orderId": order["id"], "currency": "USD", "items": [{"itemId": item_id, "quantity": 1}]},
        201,
    )
    # one of two units of a 32.33 line
    assert refund["items"] == [
        {"itemId": item_id, "amount": D("16.17"), "skuId": "widget", "quantity": 1}
    ]
    assert refund["amount"] == D("16.17")
    view = await local.ok("GET", f"/orders/{order['id']}")
    assert view["items"][0]["availableToRefundAmount"] == D("16.16")
    await local.fails(
        "POST",
        "/refunds",
        {"orderId": order["id"], "currency": "USD", "items": [{"itemId": item_id, "amount": 20}]},
        400,
        "invalid_parameter",
        "items[0].amount",
    )


async def test_refund_failure_cards(local: Api) -> None:
    now = await _complete_order(local, "4000000000004111")
    refund = await local.ok(
        "POST", "/refunds", {"orderId": now["id"], "currency": "USD", "amount": 5}, 201
    )
    assert (refund["state"], refund["failureReason"]) == ("failed", "failed-request")
    assert (await local.ok("GET", f"/orders/{now['id']}"))["availableToRefundAmount"] == D("36.64")

    later = await _complete_order(local, "4556602564240839")
    refund = await local.ok(
        "POST", "/refunds", {"orderId": later["id"], "currency": "USD", "amount": 5}, 201
    )
    assert refund["state"] == "pending"
    await local.resolve(later["id"], "settle")
    assert (await local.ok("GET", f"/refunds/{refund['id']}"))["state"] == "failed"
    assert len(await local.events(type="refund.failed")) == 2


async def test_return_accepted_issues_a_refund(api: Api) -> None:
    order = await _complete_order(api)
    item_id = order["items"][0]["id"]
    created = await api.ok(
        "POST",
        "/returns",
        {
            "orderId": order["id"],
            "reason": "too big",
            "items": [{"itemId": item_id, "quantity": 1}],
        },
        201,
    )
    assert created["id"].startswith("ret_")
    assert created["state"] == "created"
    assert created["items"] == [
        {
            "itemId": item_id,
            "skuId": "widget",
            "quantity": 1,
            "quantityAccepted": 0,
            "amount": D("16.17"),
            "state": "created",
        }
    ]
    await api.fails(
        "POST",
        "/returns",
        {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 2}]},
        409,
        "quantity_too_large",
        "items[0].qty",
    )
    accepted = await api.ok("POST", f"/returns/{created['id']}", {"state": "accepted"})
    assert accepted["state"] == "accepted"
    assert accepted["items"][0]["quantityAccepted"] == 1
    [refund_id] = accepted["refundIds"]
    refund = await api.ok("GET", f"/refunds/{refund_id}")
    assert (refund["amount"], refund["state"], refund["reason"]) == (
        D("16.17"),
        "pending",
        "too big",
    )
    await api.fails(
        "POST",
        f"/returns/{created['id']}",
        {"state": "accepted"},
        409,
        "invalid_return_state",
        "state",
    )
    types = [e["type"] for e in await api.events(type="return.*")]
    assert types == ["return.created", "return.accepted"]
    ledger = await api.ok("GET", f"/_sandbox/orders/{order['id']}/ledger")
    assert ledger["items"][0]["returned"] == 1
    listed = await api.ok("GET", "/returns", params={"orderId": order["id"]})
    assert [r["id"] for r in listed["data"]] == [created["id"]]


async def test_return_accepted_item_by_item(local: Api) -> None:
    order = await _complete_order(local)
    item_id = order["items"][0]["id"]
    created = await local.ok(
        "POST",
        "/returns",
        {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 2}]},
        201,
    )
    partly = await local.ok(
        "POST",
        f"/returns/{created['id']}",
        {"items": [{"itemId": item_id, "quantity": 1, "state": "accepted"}]},
    )
    assert (partly["state"], partly["refundIds"]) == ("created", [])
    whole = await local.ok(
        "POST",
        f"/returns/{created['id']}",
        {"items": [{"itemId": item_id, "quantity": 2, "state": "accepted"}]},
    )
    assert whole["state"] == "accepted"
    assert len(whole["refundIds"]) == 1
    await local.resolve(order["id"], "settle")
    final = await local.ok("GET", f"/orders/{order['id']}")
    assert final["state"] == "returned"  # every shipped unit came back
    assert final["refundedAmount"] == D("32.33")
