"""Every Shopify fixture that is an order, cart or customer becomes a valid canonical object."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from affluent.errors import InvalidInput
from affluent.flow.translate import checkout_request
from affluent.models import Address, Contact, ShopperKind
from affluent_shopify_like import translate_in
from affluent_shopify_like.config import load as load_config

ORDER_LINES = [
    # line id, sku, variant id, variant title
    ("466157049", "IPOD2008GREEN", "39072856", "green"),
    ("518995019", "IPOD2008RED", "49148385", "red"),
    ("703073504", "IPOD2008BLACK", "457924702", "black"),
]
BOB = Address(
    line1="Chestnut Street 92",
    line2=None,
    city="Louisville",
    postal_code="40202",
    state="KY",
    country="US",
)


def config(**values: Any) -> Any:
    return load_config(values)


def test_order_fixture_becomes_a_cart_field_by_field(load: Any) -> None:
    cart = translate_in.cart(load("order.json"), config())

    assert cart.order_ref == "450789469"
    assert cart.currency == "USD"
    assert cart.email == "bob.norman@hostmail.com"
    assert cart.browser_ip == "0.0.0.0"  # order.browser_ip is null: client_details has it
    assert cart.tax_inclusive is False
    assert cart.metadata == {"shopifyOrderId": "450789469", "shopifyOrderName": "#1001"}
    assert [line.line_ref for line in cart.lines] == [ref for ref, *_ in ORDER_LINES]
    for line, (_, sku, variant, _) in zip(cart.lines, ORDER_LINES, strict=True):
        assert line.sku_id == sku
        assert line.product is None
        assert line.quantity == 1
        assert line.unit_price == Decimal("199.00")
        assert isinstance(line.unit_price, Decimal)
        assert line.discount_per_unit == Decimal(0)
        assert line.physical is True
        assert line.metadata == {"shopifyVariantId": variant, "shopifySku": sku}
    expected = Contact(
        name="Bob Norman",
        email="bob.norman@hostmail.com",
        phone="555-625-1199",
        organization=None,
        address=BOB,
    )
    assert cart.ship_to == expected
    assert cart.bill_to == expected
    assert cart.shipping is not None
    assert cart.shipping.amount == Decimal("0.00")
    assert cart.shipping.description == "Free Shipping"
    assert cart.shipping.service_level is None
    shopper = translate_in.shopper(load("order.json"), config())
    assert shopper.kind is ShopperKind.registered
    assert shopper.customer_id == "shopify-207119551"
    assert shopper.email == "bob.norman@hostmail.com"
    assert shopper.name == "Bob Norman"


def test_order_fixture_becomes_a_dr_checkout_request(load: Any) -> None:
    cfg = config(ship_from={"country": "US", "state": "KY", "postal_code": "40202"})
    payload = load("order.json")
    cart = translate_in.cart(payload, cfg)
    shopper = translate_in.shopper(payload, cfg)

    request = checkout_request(cart, shopper, shopper.customer_id)

    assert request["upstreamId"] == "450789469"
    assert request["currency"] == "USD"
    assert request["taxInclusive"] is False
    assert request["customerId"] == "shopify-207119551"
    assert request["email"] == "bob.norman@hostmail.com"
    assert request["browserIp"] == "0.0.0.0"
    assert request["shipFrom"] == {
        "address": {"state": "KY", "postalCode": "40202", "country": "US"}
    }
    assert request["shippingChoice"] == {
        "amount": Decimal("0.00"),
        "description": "Free Shipping",
    }
    address = {
        "line1": "Chestnut Street 92",
        "city": "Louisville",
        "postalCode": "40202",
        "state": "KY",
        "country": "US",
    }
    for contact in ("shipTo", "billTo"):
        assert request[contact] == {
            "name": "Bob Norman",
            "email": "bob.norman@hostmail.com",
            "phone": "555-625-1199",
            "address": address,
        }
    assert [item["skuId"] for item in request["items"]] == [sku for _, sku, *_ in ORDER_LINES]
    for item, (ref, sku, variant, _) in zip(request["items"], ORDER_LINES, strict=True):
        assert item["quantity"] == 1
        assert item["price"] == Decimal("199.00")
        assert "discount" not in item
        assert item["metadata"] == {
            "shopifyVariantId": variant,
            "shopifySku": sku,
            "affluentLineRef": ref,
        }


def test_sku_identity_from_the_variant_id(load: Any) -> None:
    cart = translate_in.cart(load("order.json"), config(sku_source="variant_id"))
    assert [line.sku_id for line in cart.lines] == [variant for _, _, variant, _ in ORDER_LINES]


def test_product_details_when_the_store_has_no_dr_catalog(load: Any) -> None:
    payload = load("order.json")
    cart = translate_in.cart(payload, config(sku_source="product_details"))
    request = checkout_request(cart, translate_in.shopper(payload, config()), None)

    for line, item, (_, _, variant, colour) in zip(
        cart.lines, request["items"], ORDER_LINES, strict=True
    ):
        assert line.sku_id is None
        assert line.product is not None
        assert line.product.id == variant
        assert line.product.name == f"IPod Nano - 8gb - {colour}"
        assert line.product.weight == Decimal(200)
        assert line.product.weight_unit == "g"
        assert "skuId" not in item
        assert item["productDetails"] == {
            "id": variant,
            "name": f"IPod Nano - 8gb - {colour}",
            "weight": Decimal(200),
            "weightUnit": "g",
            "physical": True,  # from requires_shipping
        }


def test_orders_fixture_shopper_and_addresses(load: Any) -> None:
    """orders.json lists an order without line items: shopper and addresses still translate."""
    (order,) = load("orders.json")["orders"]
    payload = {"order": order}

    shopper = translate_in.shopper(payload, config())
    assert shopper.kind is ShopperKind.registered
    assert shopper.customer_id == "shopify-207119551"
    assert shopper.email == "bob.norman@hostmail.com"
    assert shopper.name == "Bob Norman"
    for field in ("shipping_address", "billing_address"):
        contact = translate_in.contact(order[field], field, order["email"])
        assert contact == Contact(
            name="Bob Norman", email="bob.norman@hostmail.com", phone="555-625-1199", address=BOB
        )
    with pytest.raises(InvalidInput) as caught:
        translate_in.cart(payload, config())
    assert caught.value.field == "line_items"
    assert "450789469" in caught.value.message


def test_order_level_discount_is_prorated_to_the_cent(load: Any) -> None:
    """orders.json has ``total_discounts`` 10.00 and no allocations: spread over the lines."""
    (order,) = load("orders.json")["orders"]
    order["line_items"] = load("order.json")["order"]["line_items"]

    cart = translate_in.cart({"order": order}, config())

    assert [line.discount_per_unit for line in cart.lines] == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    assert sum(line.discount_per_unit * line.quantity for line in cart.lines) == Decimal("10.00")
    assert cart.browser_ip == "0.0.0.0"
    assert cart.metadata["shopifyOrderName"] == "#1001"


def test_line_discount_allocations_win_over_the_order_total(load: Any) -> None:
    payload = load("order.json")
    lines = payload["order"]["line_items"]
    lines[0]["quantity"] = 2
    lines[0]["discount_allocations"] = [{"amount": "10.00"}, {"amount": "4.00"}]
    payload["order"]["total_discounts"] = "99.00"

    cart = translate_in.cart(payload, config())

    assert [line.discount_per_unit for line in cart.lines] == [
        Decimal("7.00"),
        Decimal(0),
        Decimal(0),
    ]
    request = checkout_request(cart, translate_in.shopper(payload, config()), None)
    assert request["items"][0]["discount"] == {"amountOff": Decimal("7.00")}
    assert request["items"][0]["quantity"] == 2


@pytest.mark.parametrize("index", [0, 1])
def test_carts_fixture_with_a_default_currency(load: Any, index: int) -> None:
    raw = load("carts.json")["carts"][index]
    cfg = config(default_currency="USD", sku_source="variant_id")
    cart = translate_in.cart({"cart": raw}, cfg)
    shopper = translate_in.shopper({"cart": raw}, cfg)

    assert cart.order_ref == raw["token"]
    assert cart.currency == "USD"
    assert shopper.kind is ShopperKind.guest
    assert shopper.customer_id is None
    assert cart.ship_to is None and cart.bill_to is None and cart.shipping is None
    assert cart.metadata == {"shopifyToken": raw["token"]}
    (line,) = cart.lines
    assert line.line_ref == "1"
    assert line.sku_id == "1"
    assert line.quantity == 1
    assert line.unit_price == Decimal("1.00")


def test_carts_fixture_refuses_an_empty_sku_when_the_sku_is_the_identity(load: Any) -> None:
    raw = load("carts.json")["carts"][0]
    with pytest.raises(InvalidInput) as caught:
        translate_in.cart({"cart": raw}, config(default_currency="USD"))
    assert caught.value.field == "line_items[0].sku"
    assert "sku_source" in caught.value.message


def test_carts_fixture_without_any_currency_names_the_setting(load: Any) -> None:
    raw = load("carts.json")["carts"][0]
    with pytest.raises(InvalidInput) as caught:
        translate_in.cart({"cart": raw}, config(sku_source="variant_id"))
    assert caught.value.field == "currency"
    assert "default_currency" in caught.value.message


def test_customer_fixture_is_a_registered_shopper(load: Any) -> None:
    payload = load("customer.json")
    shopper = translate_in.shopper(payload, config())

    assert shopper.kind is ShopperKind.registered
    assert shopper.customer_id == "shopify-207119551"
    assert shopper.email == "bob.norman@hostmail.com"
    assert shopper.name == "Bob Norman"
    default = translate_in.contact(
        payload["customer"]["default_address"], "default_address", shopper.email
    )
    assert default is not None
    assert default.address == BOB
    assert default.name is None  # the fixture's address has an empty name and no first/last
    assert default.phone == "555-625-1199"


def test_customer_prefix_and_guest_states_are_configurable(load: Any) -> None:
    payload = load("order.json")
    prefixed = translate_in.shopper(payload, config(customer_id_prefix="acme-"))
    assert prefixed.customer_id == "acme-207119551"

    guest = translate_in.shopper(payload, config(guest_customer_states=["disabled"]))
    assert guest.kind is ShopperKind.guest
    assert guest.customer_id is None
    assert guest.email == "bob.norman@hostmail.com"


def test_an_order_without_a_customer_is_a_guest(load: Any) -> None:
    payload = load("order.json")
    del payload["order"]["customer"]
    shopper = translate_in.shopper(payload, config())
    assert shopper.kind is ShopperKind.guest
    assert shopper.email == "bob.norman@hostmail.com"


@pytest.mark.parametrize("name", ["transaction.json", "order_risk.json", "fulfillment_event.json"])
def test_fixtures_that_are_not_carts_are_refused_precisely(load: Any, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        translate_in.cart(load(name), config())
    assert caught.value.field == "line_items"
