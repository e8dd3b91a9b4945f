"""Checkouts: tax and totals, selling entity, update rules, payment session, errors."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sandbox_support import MN, VISA, Api, card, checkout_body

D = Decimal
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def test_guest_checkout_tax_and_totals(api: Api) -> None:
    checkout = await api.checkout()
    assert UUID.match(checkout["id"])
    assert checkout["createdTime"] == "2024-03-05T10:15:00Z"
    item = checkout["items"][0]
    assert UUID.match(item["id"])
    assert item["skuId"] == "widget"
    assert item["productDetails"] == {"id": "widget", "name": "Widget"}
    assert (item["amount"], item["quantity"]) == (D("30.0"), 2)
    assert item["tax"] == {"rate": D("0.0775"), "amount": D("2.33")}  # 2.325 rounds half up
    assert checkout["shippingChoice"] == {
        "amount": D("4.0"),
        "taxAmount": D("0.31"),
        "description": "Ground",
        "serviceLevel": "SG",
        "shippingTerms": "DDP",
    }
    assert checkout["subtotal"] == D("34.0")
    assert checkout["totalTax"] == D("2.64")
    assert checkout["totalShipping"] == D("4.0")
    assert checkout["totalDiscount"] == 0
    assert checkout["totalAmount"] == D("36.64")
    assert checkout["totalAmount"] == checkout["subtotal"] + checkout["totalTax"]
    assert checkout["sellingEntity"] == {"id": "C5_INC-ENTITY", "name": "DR globalTech Inc."}
    assert checkout["upstreamId"] == "shop-order-1"
    assert checkout["locale"] == "en_US"
    assert checkout["liveMode"] is False
    session = checkout["payment"]["session"]
    assert UUID.match(session["id"])
    assert session["clientSecret"].startswith(session["id"] + "_")
    assert session["state"] == "requires_source"
    assert session["amountContributed"] == 0
    assert session["amountRemainingToBeContributed"] == D("36.64")
    assert checkout["payment"]["sources"] == []
    assert not any(key.startswith("_") for key in checkout)
    fetched = await api.ok("GET", f"/checkouts/{checkout['id']}")
    assert fetched == checkout


async def test_tax_inclusive_extracts_tax(local: Api) -> None:
    de = {"line1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "DE"}
    checkout = await local.checkout(
        currency="EUR",
        taxInclusive=True,
        shipTo={"name": "Ada", "address": de},
        billTo={"name": "Ada", "address": de},
        shippingChoice={"amount": 5.95},
        items=[{"skuId": "widget", "price": 11.90, "quantity": 1}],
    )
    item = checkout["items"][0]
    assert item["tax"] == {"rate": D("0.19"), "amount": D("1.9")}
    assert item["amount"] == D("10.0")
    assert checkout["shippingChoice"]["amount"] == D("5.0")
    assert checkout["shippingChoice"]["taxAmount"] == D("0.95")
    assert checkout["subtotal"] == D("15.0")
    assert checkout["totalTax"] == D("2.85")
    assert checkout["totalAmount"] == D("17.85")  # what the shopper was shown
    assert checkout["sellingEntity"]["id"] == "DR_IRELAND-ENTITY"


async def test_item_and_checkout_discounts(local: Api) -> None:
    await local.sku("gadget")
    checkout = await local.checkout(
        items=[
            {
                "skuId": "widget",
                "price": 15.00,
                "quantity": 3,
                "discount": {"amountOff": 2.00, "quantity": 2},
            },
            {"skuId": "gadget", "price": 40.00, "quantity": 1, "discount": {"percentOff": 25}},
        ],
        discount={"amountOff": 10.00},
    )
    widget, gadget = checkout["items"]
    # widget: 45 - 2x2 = 41; gadget: 40 - 25% = 30; checkout 10 off split 41:30 → 5.77 / 4.23
    assert widget["amount"] == D("35.23")
    assert gadget["amount"] == D("25.77")
    assert widget["discount"] == {"amountOff": D("2.0"), "quantity": 2}
    assert checkout["totalDiscount"] == D("4") + D("10") + D("10")
    assert widget["tax"]["amount"] == D("2.73")  # 35.23 x 0.0775 = 2.730325
    assert gadget["tax"]["amount"] == D("2.00")  # 25.77 x 0.0775 = 1.997175
    assert checkout["subtotal"] == D("35.23") + D("25.77") + D("4")
    assert checkout["totalTax"] == D("2.73") + D("2.00") + D("0.31")
    assert checkout["totalAmount"] == checkout["subtotal"] + checkout["totalTax"]


async def test_aggregate_price_and_product_details(local: Api) -> None:
    checkout = await local.ok(
        "POST",
        "/checkouts",
        {
            "currency": "USD",
            "billTo": {"name": "Ada", "address": {**MN, "state": "OR"}},
            "items": [
                {
                    "productDetails": {"id": "ebook-1", "name": "E-book", "skuGroupId": "books"},
                    "aggregatePrice": 9.99,
                    "quantity": 3,
                }
            ],
        },
        201,
    )
    item = checkout["items"][0]
    assert "skuId" not in item
    assert item["productDetails"] == {"id": "ebook-1", "name": "E-book", "skuGroupId": "books"}
    assert item["amount"] == D("9.99")
    assert item["tax"] == {"rate": D("0"), "amount": D("0")}  # Oregon: no sales tax
    assert checkout["totalAmount"] == D("9.99")
    assert "shippingChoice" not in checkout


@pytest.mark.parametrize(
    ("address", "entity"),
    [
        ({"country": "CA", "state": "ON", "postalCode": "M5V 2T6"}, "C5_INC-ENTITY"),
        ({"country": "GB", "postalCode": "SW1A 1AA"}, "DR_IRELAND-ENTITY"),
        ({"country": "FR", "postalCode": "75001"}, "DR_IRELAND-ENTITY"),
        ({"country": "TW", "postalCode": "100"}, "DR_TAIWAN-ENTITY"),
        ({"country": "JP", "postalCode": "100-0001"}, "DR_JAPAN-ENTITY"),
    ],
)
async def test_selling_entity_follows_the_address(
    local: Api, address: dict[str, str], entity: str
) -> None:
    full = {"line1": "1 Road", "city": "Town", **address}
    checkout = await local.checkout(
        shipTo={"name": "A", "address": full}, billTo={"name": "A", "address": full}
    )
    assert checkout["sellingEntity"]["id"] == entity


async def test_selling_entity_empty_until_an_address_is_known(local: Api) -> None:
    await local.sku("ebook", physical=False)
    checkout = await local.ok(
        "POST",
        "/checkouts",
        {"currency": "USD", "items": [{"skuId": "ebook", "price": 5}]},
        201,
    )
    assert checkout["sellingEntity"] == {}
    assert checkout["totalTax"] == 0
    updated = await local.ok(
        "POST", f"/checkouts/{checkout['id']}", {"billTo": {"name": "A", "address": MN}}
    )
    assert updated["sellingEntity"]["id"] == "C5_INC-ENTITY"
    assert updated["totalTax"] == D("0.39")  # 5 x 0.0775 = 0.3875


async def test_update_changes_shipping_and_keeps_item_ids(local: Api) -> None:
    checkout = await local.checkout()
    item_id = checkout["items"][0]["id"]
    updated = await local.ok(
        "POST",
        f"/checkouts/{checkout['id']}",
        {
            "shippingChoice": {"amount": 10.00, "description": "Express"},
            "items": [{"id": item_id, "metadata": {"gift": True}}],
            "upstreamId": "shop-order-2",
        },
    )
    assert updated["items"][0]["id"] == item_id
    assert updated["items"][0]["metadata"] == {"gift": True}
    assert updated["upstreamId"] == "shop-order-2"
    assert updated["totalShipping"] == D("10.0")
    assert updated["totalAmount"] == D("30") + D("2.33") + D("10") + D("0.78")


@pytest.mark.parametrize(
    ("item", "parameter"),
    [
        ({"quantity": 3}, "items[0].quantity"),
        ({"price": 1.0}, "items[0].price"),
        ({"skuId": "widget"}, "items[0].skuId"),
    ],
)
async def test_items_are_immutable(local: Api, item: dict[str, Any], parameter: str) -> None:
    checkout = await local.checkout()
    body = {"items": [{"id": checkout["items"][0]["id"], **item}]}
    error = await local.fails(
        "POST", f"/checkouts/{checkout['id']}", body, 400, "invalid_parameter", parameter
    )
    assert "create a new checkout" in error["message"]
    again = await local.ok("GET", f"/checkouts/{checkout['id']}")
    assert again == checkout


async def test_update_rejects_unknown_item_and_create_only_fields(local: Api) -> None:
    checkout = await local.checkout()
    path = f"/checkouts/{checkout['id']}"
    await local.fails(
        "POST", path, {"items": [{"id": "nope"}]}, 400, "invalid_parameter", "items[0].id"
    )
    await local.fails(
        "POST", path, {"items": [{"metadata": {}}]}, 400, "missing_parameter", "items[0].id"
    )
    await local.fails(
        "POST", path, {"taxInclusive": True}, 400, "invalid_parameter", "taxInclusive"
    )
    await local.fails(
        "POST", path, {"discount": {"percentOff": 5}}, 400, "invalid_parameter", "discount"
    )


CU = {"line1": "1 Calle", "city": "Havana", "postalCode": "10400", "country": "CU"}
ONE = {"skuId": "widget", "price": 1}


@pytest.mark.parametrize(
    ("overrides", "status", "code", "parameter"),
    [
        ({"currency": None}, 400, "missing_parameter", "currency"),
        ({"currency": "usd"}, 400, "invalid_parameter", "currency"),
        ({"currency": "BRL"}, 409, "currency_unactivated", "currency"),
        ({"items": []}, 400, "missing_parameter", "items"),
        ({"items": "widget"}, 400, "invalid_parameter", "items"),
        ({"items": [{**ONE, "price": "abc"}]}, 400, "invalid_parameter", "items[0].price"),
        ({"items": [{**ONE, "quantity": 0}]}, 400, "invalid_parameter", "items[0].quantity"),
        ({"items": [{**ONE, "quantity": True}]}, 400, "invalid_parameter", "items[0].quantity"),
        ({"items": [{"skuId": "widget"}]}, 400, "missing_parameter", "items[0].price"),
        ({"items": [{"price": 1}]}, 400, "missing_parameter", "items[0].skuId"),
        ({"items": [{**ONE, "skuId": "ghost"}]}, 404, "not_found", "items[0].skuId"),
        (
            {"items": [{**ONE, "discount": {"amountOff": 2}}]},
            400,
            "invalid_parameter",
            "items[0].discount",
        ),
        (
            {"shipTo": {"address": {**MN, "city": None}}},
            400,
            "missing_parameter",
            "shipTo.address.city",
        ),
        (
            {"shipTo": {"address": {**MN, "state": None}}},
            400,
            "missing_parameter",
            "shipTo.address.state",
        ),
        (
            {"shipTo": {"address": {**MN, "postalCode": "5510"}}},
            400,
            "invalid_parameter",
            "shipTo.address.postalCode",
        ),
        (
            {"shipTo": {"address": {**MN, "state": "XX"}}},
            400,
            "invalid_parameter",
            "shipTo.address.state",
        ),
        (
            {"shipTo": {"address": {**MN, "country": "usa"}}},
            400,
            "invalid_parameter",
            "shipTo.address.country",
        ),
        ({"shipTo": {"address": CU}}, 409, "country_unsupported", "shipTo.address.country"),
        ({"shippingChoice": None}, 400, "invalid_shipping_choice", "shippingChoice"),
        (
            {"shippingChoice": {"description": "Ground"}},
            400,
            "internal_error",
            "shippingChoice.amount",
        ),
        ({"customerId": "nobody"}, 404, "not_found", "customerId"),
        ({"email": 5}, 400, "invalid_parameter", "email"),
        ({"metadata": {"a": [1]}}, 400, "invalid_parameter", "metadata.a"),
        ({"colour": "red"}, 400, "invalid_parameter", "colour"),
        (
            {"discount": {"amountOff": 1, "percentOff": 2}},
            400,
            "invalid_parameter",
            "discount.amountOff",
        ),
    ],
)
async def test_checkout_errors_name_the_field(
    local: Api, overrides: dict[str, Any], status: int, code: str, parameter: str
) -> None:
    await local.sku("widget")
    await local.fails("POST", "/checkouts", checkout_body(**overrides), status, code, parameter)
    assert await local.ok("GET", "/checkouts") == {"hasMore": False, "data": []}


async def test_delete_checkout(local: Api) -> None:
    checkout = await local.checkout()
    reply = await local.call("DELETE", f"/checkouts/{checkout['id']}")
    assert (reply.status, reply.body) == (204, None)
    await local.fails("GET", f"/checkouts/{checkout['id']}", None, 404, "not_found", "checkoutId")


async def test_attach_and_detach_source(local: Api) -> None:
    checkout = await local.checkout()
    source = await local.source(checkout)
    assert source["amount"] == D("36.64")
    attached = await local.ok("POST", f"/checkouts/{checkout['id']}/sources/{source['id']}")
    assert attached["id"] == source["id"]
    view = await local.ok("GET", f"/checkouts/{checkout['id']}")
    session = view["payment"]["session"]
    assert session["state"] == "requires_confirmation"
    assert session["amountContributed"] == D("36.64")
    assert session["amountRemainingToBeContributed"] == 0
    assert [s["id"] for s in view["payment"]["sources"]] == [source["id"]]
    assert view["payment"]["sources"][0]["creditCard"]["lastFourDigits"] == "1111"

    reply = await local.call("DELETE", f"/checkouts/{checkout['id']}/sources/{source['id']}")
    assert reply.status == 204
    view = await local.ok("GET", f"/checkouts/{checkout['id']}")
    assert view["payment"]["session"]["state"] == "requires_source"
    assert (await local.ok("GET", f"/sources/{source['id']}"))["state"] == "cancelled"
    await local.fails(
        "POST",
        f"/checkouts/{checkout['id']}/sources/{source['id']}",
        None,
        409,
        "source_status_invalid_for_session",
        "sourceId",
    )


async def test_new_primary_replaces_old_and_credit_is_secondary(local: Api) -> None:
    checkout = await local.checkout()
    first = await local.source(checkout)
    credit = await local.source(checkout, "customerCredit", amount=10.00, customerCredit={})
    path = f"/checkouts/{checkout['id']}"
    await local.ok("POST", f"{path}/sources/{credit['id']}")
    await local.ok("POST", path, {"sourceId": first["id"]})
    view = await local.ok("GET", path)
    amounts = {s["type"]: s["amount"] for s in view["payment"]["sources"]}
    assert amounts == {"customerCredit": D("10.0"), "creditCard": D("26.64")}
    assert view["payment"]["session"]["state"] == "requires_confirmation"

    second = await local.source(checkout, creditCard=card("5466160000000008"))
    await local.ok("POST", path, {"sourceId": second["id"]})
    view = await local.ok("GET", path)
    assert [s["id"] for s in view["payment"]["sources"]] == [credit["id"], second["id"]]
    assert (await local.ok("GET", f"/sources/{first['id']}"))["state"] == "cancelled"

    more = await local.source(checkout, "customerCredit", amount=1.00, customerCredit={})
    await local.fails(
        "POST", f"{path}/sources/{more['id']}", None, 409, "session_update_not_allowed", "sourceId"
    )


async def test_credit_larger_than_total_is_refused(local: Api) -> None:
    checkout = await local.checkout()
    credit = await local.source(checkout, "customerCredit", amount=40.00, customerCredit={})
    await local.fails(
        "POST",
        f"/checkouts/{checkout['id']}/sources/{credit['id']}",
        None,
        409,
        "session_source_amount_too_large",
        "sourceId",
    )


async def test_list_checkouts_filters(local: Api) -> None:
    first = await local.checkout(upstreamId="u-1")
    second = await local.checkout(upstreamId="u-2", currency="EUR")
    listed = await local.ok("GET", "/checkouts")
    assert [c["id"] for c in listed["data"]] == [second["id"], first["id"]]
    by_upstream = await local.ok("GET", "/checkouts", params={"upstreamIds": ["u-1", "u-3"]})
    assert [c["id"] for c in by_upstream["data"]] == [first["id"]]
    by_currency = await local.ok("GET", "/checkouts", params={"currency": "EUR"})
    assert [c["id"] for c in by_currency["data"]] == [second["id"]]
    expensive = await local.ok("GET", "/checkouts", params={"totalAmount[gt]": "36.64"})
    assert expensive["data"] == []
    exact = await local.ok("GET", "/checkouts", params={"totalAmount[gte]": "36.64"})
    assert len(exact["data"]) == 2


async def test_unknown_card_number_is_rejected(local: Api) -> None:
    checkout = await local.checkout()
    body = {
        "type": "creditCard",
        "paymentSessionId": checkout["payment"]["session"]["id"],
        "creditCard": card("4111111111111111"),
    }
    await local.fails("POST", "/sources", body, 400, "invalid_parameter", "creditCard.number")
    body["creditCard"] = card(VISA, year=2020)
    await local.fails(
        "POST", "/sources", body, 400, "invalid_parameter", "creditCard.expirationYear"
    )
    body["creditCard"] = card(VISA)
    body["paymentSessionId"] = "nope"
    await local.fails("POST", "/sources", body, 404, "not_found", "paymentSessionId")
