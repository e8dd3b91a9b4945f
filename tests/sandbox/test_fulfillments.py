"""Fulfillments: captures and cancels per line, the ledger, order and item states."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox_support import Api

D = Decimal


async def _three_widgets(api: Api, number: str = "4444222233331111") -> dict[str, Any]:
    # 3 x 10.00 in MN: amount 30.00, tax 2.33; shipping 4.00 + 0.31 → total 36.64
    return await api.order(number, items=[{"skuId": "widget", "price": 10.00, "quantity": 3}])


async def test_partial_fulfillment_then_cancel_the_rest(api: Api) -> None:
    order = await _three_widgets(api)
    item_id = order["items"][0]["id"]
    shipped = await api.ok(
        "POST",
        "/fulfillments",
        {
            "orderId": order["id"],
            "trackingCompany": "UPS",
            "trackingNumber": "1Z9",
            "items": [{"itemId": item_id, "quantity": 1}],
        },
        201,
    )
    assert shipped["id"].startswith("ful_")
    assert shipped["items"] == [
        {"itemId": item_id, "skuId": "widget", "quantity": 1, "cancelQuantity": 0}
    ]
    assert shipped["trackingCompany"] == "UPS"
    assert "orderDetails" not in shipped

    middle = await api.ok("GET", f"/orders/{order['id']}")
    assert middle["state"] == "accepted"
    assert middle["items"][0]["state"] == "created"
    [charge] = middle["payment"]["charges"]
    # one unit of (30.00 + 2.33) = 10.78, plus shipping 4.31 on the first shipment
    assert [(c["amount"], c["state"], c["fulfillmentId"]) for c in charge["captures"]] == [
        (D("15.09"), "complete", shipped["id"])
    ]
    assert (charge["state"], charge["captured"]) == ("capturable", True)
    assert middle["capturedAmount"] == D("15.09")
    assert middle["availableToRefundAmount"] == D("15.09")
    ledger = await api.ok("GET", f"/_sandbox/orders/{order['id']}/ledger")
    assert ledger["items"] == [
        {
            "itemId": item_id,
            "skuId": "widget",
            "quantity": 3,
            "fulfilled": 1,
            "cancelled": 0,
            "returned": 0,
            "open": 2,
            "state": "created",
        }
    ]

    await api.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": item_id, "cancelQuantity": 2}]},
        201,
    )
    final = await api.ok("GET", f"/orders/{order['id']}")
    assert final["state"] == "complete"
    assert set(final["stateTransitions"]) == {"accepted", "fulfilled", "complete"}
    assert final["items"][0]["state"] == "fulfilled"
    [charge] = final["payment"]["charges"]
    assert [(c["amount"], c["state"]) for c in charge["cancels"]] == [(D("21.55"), "complete")]
    assert charge["state"] == "complete"
    assert final["capturedAmount"] + final["cancelledAmount"] == final["totalAmount"]
    assert (final["capturedAmount"], final["cancelledAmount"]) == (D("15.09"), D("21.55"))
    ledger = await api.ok("GET", f"/_sandbox/orders/{order['id']}/ledger")
    assert (ledger["items"][0]["fulfilled"], ledger["items"][0]["cancelled"]) == (1, 2)
    assert await api.event_types(order["id"]) == [
        "order.created",
        "order.charge.capturable",
        "order.accepted",
        "fulfillment.created",
        "order.charge.capture.pending",
        "order.charge.capture.complete",
        "fulfillment.created",
        "order.charge.cancel.pending",
        "order.charge.cancel.complete",
        "order.charge.complete",
        "order.fulfilled",
        "order.complete",
    ]
    await api.fails(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 1}]},
        409,
        "order_fulfilled",
        "orderId",
    )


async def test_over_quantity_is_refused_and_nothing_changes(local: Api) -> None:
    order = await _three_widgets(local)
    item_id = order["items"][0]["id"]
    before_events = await local.events()
    await local.fails(
        "POST",
        "/fulfillments",
        {
            "orderId": order["id"],
            "items": [{"itemId": item_id, "quantity": 2, "cancelQuantity": 2}],
        },
        409,
        "quantity_too_large",
        "items[0].cancelQuantity",
    )
    await local.fails(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 4}]},
        409,
        "quantity_too_large",
        "items[0].quantity",
    )
    assert await local.ok("GET", f"/orders/{order['id']}") == order
    assert await local.events() == before_events
    assert (await local.ok("GET", "/fulfillments"))["data"] == []


async def test_fulfillment_validation(local: Api) -> None:
    order = await _three_widgets(local)
    item_id = order["items"][0]["id"]
    cases: list[tuple[Any, int, str, str | None]] = [
        ({"items": [{"itemId": item_id, "quantity": 1}]}, 400, "missing_parameter", "orderId"),
        (
            {"orderId": "999", "items": [{"itemId": item_id, "quantity": 1}]},
            404,
            "not_found",
            "orderId",
        ),
        ({"orderId": order["id"]}, 400, "missing_parameter", "items"),
        (
            {"orderId": order["id"], "items": [{"itemId": "nope", "quantity": 1}]},
            400,
            "invalid_parameter",
            "items[0].itemId",
        ),
        (
            {"orderId": order["id"], "items": [{"skuId": "gizmo", "quantity": 1}]},
            400,
            "invalid_parameter",
            "items[0].skuId",
        ),
        (
            {"orderId": order["id"], "items": [{"itemId": item_id}]},
            400,
            "invalid_parameter",
            "items[0].quantity",
        ),
        (
            {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": -1}]},
            400,
            "invalid_parameter",
            "items[0].quantity",
        ),
        (
            {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 1.5}]},
            400,
            "invalid_parameter",
            "items[0].quantity",
        ),
        (
            {"orderId": order["id"], "items": [{"itemId": item_id, "qty": 1}]},
            400,
            "invalid_parameter",
            "items[0].qty",
        ),
        (
            {
                "orderId": order["id"],
                "items": [{"itemId": item_id, "quantity": 1}, {"itemId": item_id, "quantity": 1}],
            },
            400,
            "invalid_parameter",
            "items[1].itemId",
        ),
    ]
    for body, status, code, parameter in cases:
        await local.fails("POST", "/fulfillments", body, status, code, parameter)
    by_sku = await local.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"skuId": "widget", "quantity": "1"}]},
        201,
    )
    assert by_sku["items"][0]["itemId"] == item_id


async def test_cancel_everything_cancels_the_order(api: Api) -> None:
    order = await _three_widgets(api)
    item_id = order["items"][0]["id"]
    await api.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": item_id, "cancelQuantity": 3}]},
        201,
    )
    final = await api.ok("GET", f"/orders/{order['id']}")
    assert final["state"] == "cancelled"
    assert final["items"][0]["state"] == "cancelled"
    [charge] = final["payment"]["charges"]
    assert charge["state"] == "cancelled"
    assert [c["amount"] for c in charge["cancels"]] == [D("36.64")]
    assert (final["capturedAmount"], final["cancelledAmount"]) == (0, D("36.64"))
    assert (await api.event_types(order["id"]))[-2:] == [
        "order.charge.cancelled",
        "order.cancelled",
    ]
    await api.fails(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": item_id, "quantity": 1}]},
        409,
        "invalid_order_state",
        "orderId",
    )


async def test_two_lines_shipped_in_two_fulfillments(local: Api) -> None:
    await local.sku("gadget")
    order = await local.order(
        items=[
            {"skuId": "widget", "price": 10.00, "quantity": 1},
            {"skuId": "gadget", "price": 20.00, "quantity": 1},
        ]
    )
    widget, gadget = (i["id"] for i in order["items"])
    await local.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": widget, "quantity": 1}]},
        201,
    )
    assert (await local.ok("GET", f"/orders/{order['id']}"))["state"] == "accepted"
    await local.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": gadget, "quantity": 1}]},
        201,
    )
    final = await local.ok("GET", f"/orders/{order['id']}")
    assert final["state"] == "complete"
    assert final["capturedAmount"] == final["totalAmount"]
    listed = await local.ok("GET", "/fulfillments", params={"orderId": order["id"]})
    assert len(listed["data"]) == 2
    assert [f["items"][0]["itemId"] for f in listed["data"]] == [gadget, widget]
    full = await local.ok("GET", f"/fulfillments/{listed['data'][0]['id']}")
    assert full["orderDetails"]["id"] == order["id"]
    assert "payment" not in full["orderDetails"]
    [charge] = final["payment"]["charges"]
    assert full["chargeOperationIds"] == [charge["captures"][1]["id"]]
    await local.fails("GET", "/fulfillments?orderId=nope", None, 404, "not_found", "orderId")
    await local.fails("GET", "/fulfillments/ful_nope", None, 404, "not_found", "fulfillmentId")


async def test_capture_failure_card(local: Api) -> None:
    order = await _three_widgets(local, "4000000000004103")
    await local.ok(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": order["items"][0]["id"], "quantity": 3}]},
        201,
    )
    final = await local.ok("GET", f"/orders/{order['id']}")
    [charge] = final["payment"]["charges"]
    assert [c["state"] for c in charge["captures"]] == ["failed"]
    assert final["state"] == "fulfilled"  # never complete: the money was not captured
    assert final["capturedAmount"] == 0
    [event] = await local.events(type="order.charge.capture.failed")
    assert event["data"]["object"]["orderId"] == order["id"]


async def test_delayed_capture_failure_and_stuck_capture(local: Api) -> None:
    delayed = await _three_widgets(local, "4485951788521565")
    stuck = await _three_widgets(local, "4024007120579635")
    for order in (delayed, stuck):
        await local.ok(
            "POST",
            "/fulfillments",
            {"orderId": order["id"], "items": [{"itemId": order["items"][0]["id"], "quantity": 3}]},
            201,
        )
        view = await local.ok("GET", f"/orders/{order['id']}")
        assert view["payment"]["charges"][0]["captures"][0]["state"] == "pending"
        assert view["payment"]["charges"][0]["state"] == "processing"
        assert view["state"] == "fulfilled"
    settled = await local.resolve(delayed["id"], "settle")
    assert settled["payment"]["charges"][0]["captures"][0]["state"] == "failed"
    await local.fails(
        "POST",
        f"/_sandbox/orders/{stuck['id']}/resolve",
        {"outcome": "settle"},
        409,
        "nothing_to_settle",
        "orderId",
    )


async def test_cancel_failure_card(local: Api) -> None:
    order = await _three_widgets(local, "4000000000004442")
    await local.ok(
        "POST",
        "/fulfillments",
        {
            "orderId": order["id"],
            "items": [{"itemId": order["items"][0]["id"], "cancelQuantity": 1}],
        },
        201,
    )
    view = await local.ok("GET", f"/orders/{order['id']}")
    assert [c["state"] for c in view["payment"]["charges"][0]["cancels"]] == ["failed"]
    assert view["cancelledAmount"] == 0
    assert len(await local.events(type="order.charge.cancel.failed")) == 1
