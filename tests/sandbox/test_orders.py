"""Orders: every outcome of POST /orders, asynchronous resolution, reads, updates, lists."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import httpx
import pytest
from sandbox_support import MN, Api, FakeClock, card
from starlette.applications import Starlette

from affluent.sandbox import SandboxConfig, create_app

D = Decimal
NUMERIC = re.compile(r"^\d+$")


async def test_accepted_order(api: Api) -> None:
    checkout = await api.funded()
    order = await api.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert NUMERIC.match(order["id"])
    assert order["checkoutId"] == checkout["id"]
    assert order["upstreamId"] == "shop-order-1"
    assert order["state"] == "accepted"
    assert order["stateTransitions"] == {"accepted": "2024-03-05T10:15:00Z"}
    assert order["fraudState"] == "passed"
    assert order["fraudStateTransitions"] == {"passed": "2024-03-05T10:15:00Z"}
    for key in ("subtotal", "totalTax", "totalShipping", "totalAmount", "sellingEntity"):
        assert order[key] == checkout[key], key
    assert (order["capturedAmount"], order["cancelledAmount"]) == (0, 0)
    assert (order["refundedAmount"], order["availableToRefundAmount"]) == (0, 0)
    item = order["items"][0]
    assert NUMERIC.match(item["id"])
    assert item["id"] != checkout["items"][0]["id"]
    assert (item["state"], item["quantity"], item["amount"]) == ("created", 2, D("30.0"))
    [charge] = order["payment"]["charges"]
    assert charge["amount"] == D("36.64")
    assert (charge["state"], charge["captured"], charge["refunded"]) == ("capturable", False, False)
    assert (charge["captures"], charge["cancels"]) == ([], [])
    [source] = order["payment"]["sources"]
    assert source["creditCard"]["lastFourDigits"] == "1111"
    assert "clientSecret" not in source
    assert order["payment"]["session"]["state"] == "complete"
    assert (await api.ok("GET", f"/sources/{source['id']}"))["state"] == "consumed"
    assert await api.event_types(order["id"]) == [
        "order.created",
        "order.charge.capturable",
        "order.accepted",
    ]
    assert await api.ok("GET", f"/orders/{order['id']}") == order
    assert await api.ok("GET", f"/charges/{charge['id']}") == charge


async def test_consumed_checkout_gives_404_order_id(api: Api) -> None:
    order = await api.order()
    error = await api.fails(
        "POST", "/orders", {"checkoutId": order["checkoutId"]}, 404, "not_found", "orderId"
    )
    assert order["id"] in error["message"]
    listed = await api.ok("GET", "/orders", params={"checkoutId": order["checkoutId"]})
    assert [o["id"] for o in listed["data"]] == [order["id"]]
    await api.fails(
        "POST",
        f"/checkouts/{order['checkoutId']}",
        {"email": "x@example.com"},
        409,
        "checkout_already_submitted",
        "checkoutId",
    )


@pytest.mark.parametrize("number", ["4000000000003600", "4000 0000 0000 3600"])
async def test_declined_card_creates_no_order(local: Api, number: str) -> None:
    checkout = await local.funded(number)
    error = await local.fails(
        "POST", "/orders", {"checkoutId": checkout["id"]}, 409, "failed-request"
    )
    assert error["message"] == "Failed to charge source."
    assert (await local.ok("GET", "/orders"))["data"] == []
    assert await local.events() == []
    view = await local.ok("GET", f"/checkouts/{checkout['id']}")
    assert view["payment"]["session"]["state"] == "failed"
    await local.fails("POST", "/orders", {"checkoutId": checkout["id"]}, 400, "order_submit_failed")


async def test_charge_fail_last_name_declines(local: Api) -> None:
    checkout = await local.funded(last_name="ChargeFail")
    await local.fails("POST", "/orders", {"checkoutId": checkout["id"]}, 409, "failed-request")


async def test_fraud_reject_email_declines(local: Api) -> None:
    checkout = await local.funded(email="block@example.com")
    await local.fails("POST", "/orders", {"checkoutId": checkout["id"]}, 409, "failed-request")


async def test_review_then_accept(api: Api, fake_clock: FakeClock) -> None:
    order = await api.order(email="review+accept@example.com")
    assert order["state"] == "in_review"
    assert order["fraudState"] == "review_opened"
    assert order["payment"]["charges"][0]["state"] == "capturable"
    await api.fails(
        "POST",
        "/fulfillments",
        {"orderId": order["id"], "items": [{"itemId": order["items"][0]["id"], "quantity": 1}]},
        409,
        "invalid_order_state",
        "orderId",
    )
    fake_clock.advance(60)
    accepted = await api.resolve(order["id"], "accept")
    assert accepted["state"] == "accepted"
    assert accepted["stateTransitions"] == {
        "in_review": "2024-03-05T10:15:00Z",
        "accepted": "2024-03-05T10:16:00Z",
    }
    assert accepted["fraudStateTransitions"] == {
        "review_opened": "2024-03-05T10:15:00Z",
        "passed": "2024-03-05T10:16:00Z",
    }
    types = await api.event_types(order["id"])
    assert types == [
        "order.created",
        "order.charge.capturable",
        "order.review_opened",
        "order.review_closed",
        "order.accepted",
    ]
    [event] = await api.events(type="order.accepted")
    assert event["data"]["previousAttributes"]["state"] == "in_review"
    await api.resolve(order["id"], "block", 409)


async def test_review_then_block(local: Api) -> None:
    order = await local.order(email="review+block@example.com")
    blocked = await local.resolve(order["id"], "block")
    assert (blocked["state"], blocked["fraudState"]) == ("blocked", "blocked")
    assert [i["state"] for i in blocked["items"]] == ["blocked"]
    [charge] = blocked["payment"]["charges"]
    assert charge["state"] == "cancelled"
    assert [(c["amount"], c["state"]) for c in charge["cancels"]] == [(D("36.64"), "complete")]
    assert blocked["cancelledAmount"] == 0  # DR's documented quirk on blocked orders
    types = await local.event_types(order["id"])
    assert types[-3:] == ["order.charge.cancel.complete", "order.charge.cancelled", "order.blocked"]


async def test_manual_review_waits_for_the_control_endpoint(local: Api) -> None:
    order = await local.order(email="Review@example.com")
    assert order["state"] == "in_review"
    error = (
        await local.call(
            "POST", f"/_sandbox/orders/{order['id']}/resolve", {"outcome": "fail_charge"}
        )
    ).error()
    assert (error["code"], error["parameter"]) == ("invalid_order_state", "orderId")
    await local.fails(
        "POST",
        f"/_sandbox/orders/{order['id']}/resolve",
        {"outcome": "maybe"},
        400,
        "invalid_parameter",
        "outcome",
    )
    await local.fails(
        "POST", "/_sandbox/orders/404/resolve", {"outcome": "accept"}, 404, "not_found", "orderId"
    )
    assert (await local.ok("GET", f"/orders/{order['id']}"))["state"] == "in_review"


async def test_wire_transfer_pending_then_funds_arrive(api: Api) -> None:
    checkout = await api.checkout()
    source = await api.source(checkout, "wireTransfer")
    assert (source["state"], source["flow"]) == ("pending_funds", "receiver")
    assert source["wireTransfer"]["accountNumber"]
    await api.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
    order = await api.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert order["state"] == "pending_payment"
    assert "fraudState" not in order
    session = order["payment"]["session"]
    assert session["state"] == "pending_funds"
    assert session["nextAction"] == {
        "action": "show_payment_instructions",
        "data": {"sourceId": source["id"], "sourceClientSecret": source["clientSecret"]},
    }
    assert order["payment"]["charges"][0]["state"] == "pending"
    accepted = await api.resolve(order["id"], "funds_arrived")
    assert accepted["state"] == "accepted"
    assert accepted["payment"]["charges"][0]["state"] == "capturable"
    assert accepted["payment"]["session"]["state"] == "complete"
    assert "nextAction" not in accepted["payment"]["session"]
    assert (await api.ok("GET", f"/sources/{source['id']}"))["state"] == "consumed"
    assert await api.event_types(order["id"]) == [
        "order.created",
        "order.charge.pending",
        "order.pending_payment",
        "order.charge.capturable",
        "order.accepted",
    ]


async def test_wire_transfer_that_never_pays(local: Api) -> None:
    checkout = await local.checkout()
    owner = {"firstName": "Ada", "lastName": "SourceFailWithDelay", "address": MN}
    source = await local.source(checkout, "wireTransfer", owner=owner)
    await local.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
    order = await local.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert order["state"] == "pending_payment"
    failed = await local.resolve(order["id"], "fail_charge")
    assert failed["state"] == "cancelled"
    assert failed["payment"]["session"]["state"] == "failed"
    [charge] = failed["payment"]["charges"]
    assert (charge["state"], charge["failureCode"]) == ("failed", "failed-request")
    assert [i["state"] for i in failed["items"]] == ["cancelled"]
    [charge_failed] = await local.events(type="order.charge.failed")
    assert charge_failed["data"]["object"]["state"] == "cancelled"
    assert charge_failed["data"]["previousAttributes"]["state"] == "pending_payment"
    assert (await local.event_types(order["id"]))[-2:] == ["order.charge.failed", "order.cancelled"]


async def test_paypal_redirect_approved_by_control_endpoint(local: Api) -> None:
    checkout = await local.checkout(email="review+accept@example.com")
    source = await local.source(checkout, "payPal", payPal={"returnUrl": "https://shop/ok"})
    assert (source["state"], source["flow"]) == ("pending_redirect", "redirect")
    assert source["redirect"]["returnUrl"] == "https://shop/ok"
    await local.ok("POST", f"/checkouts/{checkout['id']}/sources/{source['id']}")
    order = await local.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert order["payment"]["session"]["nextAction"]["action"] == "redirect"
    await local.ok("POST", f"/_sandbox/sources/{source['id']}/approve")
    reviewed = await local.ok("GET", f"/orders/{order['id']}")
    assert reviewed["state"] == "in_review"  # funds arrived, then the email's fraud review
    accepted = await local.resolve(order["id"], "accept")
    assert accepted["state"] == "accepted"
    await local.fails(
        "POST",
        f"/_sandbox/sources/{source['id']}/approve",
        None,
        409,
        "source_state_invalid",
        "sourceId",
    )


async def test_paypal_approved_before_the_order_is_accepted_at_once(local: Api) -> None:
    checkout = await local.checkout()
    source = await local.source(checkout, "payPal")
    approved = await local.ok("POST", f"/_sandbox/sources/{source['id']}/approve")
    assert approved["state"] == "chargeable"
    await local.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
    order = await local.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert order["state"] == "accepted"
    [event] = await local.events(type="source.chargeable")
    assert event["data"]["previousAttributes"] == {"state": "pending_redirect"}


async def test_order_preconditions(local: Api) -> None:
    unfunded = await local.checkout()
    await local.fails("POST", "/orders", {"checkoutId": unfunded["id"]}, 400, "order_submit_failed")
    no_email = await local.funded(email=None)
    await local.fails(
        "POST", "/orders", {"checkoutId": no_email["id"]}, 400, "order_create_failed", "email"
    )
    bad_email = await local.funded(email="not-an-email")
    await local.fails(
        "POST", "/orders", {"checkoutId": bad_email["id"]}, 400, "order_create_failed", "email"
    )
    for part, parameter in [
        ({"city": None}, "billTo.address.city"),
        ({"postalCode": None}, "billTo.address.postalCode"),
        ({"line1": None}, "billTo.address.line1"),
    ]:
        address = {k: v for k, v in {**MN, **part}.items() if v is not None}
        checkout = await local.funded(billTo={"name": "Ada", "address": address})
        await local.fails(
            "POST", "/orders", {"checkoutId": checkout["id"]}, 400, "missing_parameter", parameter
        )
    nameless = await local.funded(billTo={"address": MN})
    await local.fails(
        "POST", "/orders", {"checkoutId": nameless["id"]}, 400, "missing_parameter", "billTo.name"
    )
    no_ship_from = await local.funded(shipFrom=None)
    await local.fails(
        "POST",
        "/orders",
        {"checkoutId": no_ship_from["id"]},
        400,
        "missing_parameter",
        "shipFrom.address",
    )
    await local.fails("POST", "/orders", {}, 400, "missing_parameter", "checkoutId")
    await local.fails("POST", "/orders", {"checkoutId": "nope"}, 404, "not_found", "checkoutId")
    assert (await local.ok("GET", "/orders"))["data"] == []


async def test_billing_comes_from_the_source_owner(local: Api) -> None:
    checkout = await local.checkout(billTo=None)
    owner = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address": MN}
    source = await local.source(checkout, owner=owner)
    updated = await local.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
    assert updated["billTo"] == {"address": MN, "name": "Ada Lovelace", "email": "ada@example.com"}
    order = await local.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert order["billTo"]["name"] == "Ada Lovelace"


async def test_fields_sent_with_post_orders_are_ignored(local: Api) -> None:
    checkout = await local.funded()
    body = {"checkoutId": checkout["id"], "email": "other@example.com", "upstreamId": "other"}
    order = await local.ok("POST", "/orders", body, 201)
    assert (order["email"], order["upstreamId"]) == ("ada@example.com", "shop-order-1")


async def test_get_expand_and_update(local: Api) -> None:
    await local.ok(
        "PUT", "/skus/widget", {"name": "Widget", "physical": True, "metadata": {"colour": "blue"}}
    )
    order = await local.order()
    plain = await local.ok("GET", f"/orders/{order['id']}")
    assert "physical" not in plain["items"][0]["productDetails"]
    expanded = await local.ok("GET", f"/orders/{order['id']}", params={"expand": "true"})
    details = expanded["items"][0]["productDetails"]
    assert (details["physical"], details["metadata"]) == (True, {"colour": "blue"})

    updated = await local.ok(
        "POST",
        f"/orders/{order['id']}",
        {"upstreamId": "shop-9", "metadata": {"k": 1}, "requestToBeForgotten": True},
    )
    assert (updated["upstreamId"], updated["metadata"]) == ("shop-9", {"k": 1})
    assert updated["requestToBeForgotten"] is True
    await local.fails(
        "POST",
        f"/orders/{order['id']}",
        {"email": "x@example.com"},
        400,
        "invalid_parameter",
        "email",
    )
    await local.fails(
        "POST",
        f"/orders/{order['id']}",
        {"requestToBeForgotten": "yes"},
        400,
        "invalid_parameter",
        "requestToBeForgotten",
    )
    await local.fails("GET", "/orders/123", None, 404, "not_found", "orderId")


async def test_list_orders_with_filters(local: Api, fake_clock: FakeClock) -> None:
    first = await local.order(upstreamId="u-1")
    fake_clock.advance(10)
    second = await local.order(upstreamId="u-2", email="review@example.com")
    fake_clock.advance(10)
    third = await local.order(upstreamId="u-3", currency="EUR")

    async def ids(**params: object) -> list[str]:
        page = await local.ok("GET", "/orders", params=params)
        return [o["id"] for o in page["data"]]

    assert await ids() == [third["id"], second["id"], first["id"]]
    assert await ids(state="in_review") == [second["id"]]
    assert await ids(upstreamIds=["u-1", "u-3"]) == [third["id"], first["id"]]
    assert await ids(upstreamIds="u-1,u-2") == [second["id"], first["id"]]
    assert await ids(currency="EUR") == [third["id"]]
    assert await ids(**{"createdTime[gt]": "2024-03-05T10:15:00Z"}) == [third["id"], second["id"]]
    assert await ids(**{"createdTime[lte]": "2024-03-05T10:15:10Z"}) == [second["id"], first["id"]]
    assert await ids(createdTime="2024-03-05T10:15:20Z") == [third["id"]]
    assert await ids(**{"accepted[gte]": "2024-03-05T10:15:05Z"}) == [third["id"]]
    assert await ids(fraudState="review_opened") == [second["id"]]
    assert await ids(skuId="widget", limit=1) == [third["id"]]
    assert await ids(ids=[first["id"]]) == [first["id"]]
    await local.fails("GET", "/orders?stat=accepted", None, 400, "invalid_parameter", "stat")
    await local.fails(
        "GET",
        "/orders?createdTime[gt]=yesterday",
        None,
        400,
        "invalid_parameter",
        "createdTime[gt]",
    )


async def test_source_in_use_when_customer_is_missing(local: Api) -> None:
    await local.ok("POST", "/customers", {"id": "cust-1", "email": "ada@example.com"}, 201)
    first = await local.checkout(customerId="cust-1")
    source = await local.source(first)
    await local.ok("POST", f"/customers/cust-1/sources/{source['id']}")
    guest = await local.checkout()
    await local.ok("POST", f"/checkouts/{guest['id']}", {"sourceId": source["id"]})
    await local.fails(
        "POST", "/orders", {"checkoutId": guest["id"]}, 409, "source_in_use", "sourceId"
    )


async def test_disabled_customer_cannot_order(local: Api) -> None:
    await local.ok("POST", "/customers", {"id": "cust-x", "enabled": False}, 201)
    checkout = await local.funded(customerId="cust-x")
    await local.fails(
        "POST", "/orders", {"checkoutId": checkout["id"]}, 409, "create-order-failed", "customerId"
    )


async def test_outcomes_resolve_on_their_own_after_the_delay() -> None:
    app: Starlette = create_app(SandboxConfig(rate_limit=None, resolve_delay=0.05))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            api = Api(client, app.state.sandbox)
            reviewed = await api.order(email="review+accept@example.com")
            blocked = await api.order(email="review+block@example.com")
            manual = await api.order(email="review@example.com")
            checkout = await api.checkout()
            wire = await api.source(checkout, "wireTransfer")
            await api.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": wire["id"]})
            paid = await api.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
            for _ in range(100):
                states = [
                    (await api.ok("GET", f"/orders/{o['id']}"))["state"]
                    for o in (reviewed, blocked, manual, paid)
                ]
                if states == ["accepted", "blocked", "in_review", "accepted"]:
                    break
                await asyncio.sleep(0.02)
            assert states == ["accepted", "blocked", "in_review", "accepted"]


async def test_card_source_is_masked(local: Api) -> None:
    checkout = await local.checkout()
    reply = await local.call(
        "POST",
        "/sources",
        {
            "type": "creditCard",
            "paymentSessionId": checkout["payment"]["session"]["id"],
            "creditCard": card("5466 1600 0000 0008"),
        },
    )
    assert reply.status == 201
    assert reply.body["creditCard"] == {
        "brand": "MasterCard",
        "expirationMonth": 7,
        "expirationYear": 2040,
        "lastFourDigits": "0008",
    }
    assert "5466160000000008" not in str(reply.body)
    assert reply.body["reusable"] is False
    assert reply.body["amount"] == D("36.64")
    failed = await local.source(checkout, creditCard=card("4000000000003295"))
    assert failed["state"] == "failed"
    await local.fails(
        "POST",
        f"/checkouts/{checkout['id']}/sources/{failed['id']}",
        None,
        409,
        "source_status_invalid_for_session",
        "sourceId",
    )
