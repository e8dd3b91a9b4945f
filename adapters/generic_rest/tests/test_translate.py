"""Translations driven by the mapping, through the adapter's hooks, for both example shapes."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from affluent.errors import InvalidInput
from affluent.lifecycle import OrderStatus
from affluent.models import (
    CheckoutSummary,
    DemoCart,
    LineTax,
    LineView,
    OrderView,
    SellingEntity,
    ShopperKind,
)
from affluent_generic_rest.expressions import Context, TranslationError, convert
from affluent_generic_rest.plugin import GenericRestAdapter
from affluent_generic_rest.testing import GenericRestFake

adapter = GenericRestAdapter()
BASE = "http://127.0.0.1:9"


def cfg(fake: GenericRestFake) -> Any:
    return fake.client_config(BASE)


def demo(customer: str | None = "42", currency: str = "USD") -> DemoCart:
    return DemoCart(
        order_ref="o-1",
        currency=currency,
        email="ada@example.com",
        customer_id=customer,
        country="GB",
        lines=[("L1", "sku-1", 2, Decimal("19.99")), ("L2", "sku-2", 1, Decimal("5.00"))],
    )


def view(status: str = "ready_to_fulfill", message: str | None = None) -> OrderView:
    return OrderView(
        platform="generic_rest",
        order_ref="o/1",
        status=status,
        dr_state="accepted",
        dr_order_id="dr-9",
        dr_checkout_id="co-9",
        dr_customer_id=None,
        currency="USD",
        total_amount=Decimal("44.98"),
        selling_entity=SellingEntity(id="DR_INC", name="Digital River Inc."),
        shopper_message=message,
        lines=[LineView(line_ref="L1", dr_item_id="it-1", sku_id="sku-1", ordered=2,
                        fulfilled=1, cancelled=0, returned=0)],
    )  # fmt: skip


def summary(final: bool = True) -> CheckoutSummary:
    return CheckoutSummary(
        order_ref="o-1",
        checkout_id="co-9",
        currency="USD",
        subtotal=Decimal("44.98"),
        total_tax=Decimal("3.15"),
        total_shipping=Decimal(0),
        total_discount=Decimal(0),
        total_amount=Decimal("48.13"),
        selling_entity=SellingEntity(id="DR_INC", name="Digital River Inc."),
        lines=[LineTax(line_ref="L1", amount=Decimal("39.98"), tax=Decimal("2.80"),
                       tax_rate=Decimal("0.07"))],
        final=final,
    )  # fmt: skip


# -- carts ----------------------------------------------------------------------------------------


def test_both_shapes_give_the_same_canonical_cart() -> None:
    carts = {}
    for key in ("nested_shop", "flat_shop"):
        fake = GenericRestFake(key)
        carts[key] = adapter.affluent_map_cart(
            payload=fake.checkout_payload(demo()), config=cfg(fake)
        )
    nested, flat = carts["nested_shop"], carts["flat_shop"]
    for cart in (nested, flat):
        assert cart.order_ref == "o-1" and cart.currency == "USD"
        assert [(ln.line_ref, ln.sku_id, ln.quantity, ln.unit_price) for ln in cart.lines] == [
            ("L1", "sku-1", 2, Decimal("19.99")),
            ("L2", "sku-2", 1, Decimal("5.00")),
        ]
        assert cart.ship_to is not None and cart.ship_to.address.country == "GB"
        assert cart.email == "ada@example.com"
        assert cart.ship_from is not None
    assert nested.ship_from is not None and nested.ship_from.country == "US"  # constants
    assert flat.ship_from is not None and flat.ship_from.city == "Hamburg"  # read from the order
    assert flat.metadata == {"channel": "flat-shop"}


def test_minor_units_follow_the_currency() -> None:
    fake = GenericRestFake("nested_shop")
    payload = fake.checkout_payload(demo(currency="JPY"))
    payload["order"]["items"][0]["price_cents"] = 1999
    cart = adapter.affluent_map_cart(payload=payload, config=cfg(fake))
    assert cart.lines[0].unit_price == Decimal(1999)  # yen have no minor unit


@pytest.mark.parametrize("key", ["nested_shop", "flat_shop"])
def test_registered_and_guest_shoppers(key: str) -> None:
    fake = GenericRestFake(key)
    registered = adapter.affluent_map_shopper(
        payload=fake.checkout_payload(demo("42")), config=cfg(fake)
    )
    guest = adapter.affluent_map_shopper(
        payload=fake.checkout_payload(demo(None)), config=cfg(fake)
    )
    assert registered.kind is ShopperKind.registered
    assert registered.customer_id == {"nested_shop": "nested-42", "flat_shop": "42"}[key]
    assert guest.kind is ShopperKind.guest and guest.customer_id is None
    assert guest.email == "ada@example.com"


def test_a_registered_shopper_without_an_id_is_refused() -> None:
    fake = GenericRestFake("nested_shop")
    payload = fake.checkout_payload(demo("42"))
    payload["order"]["customer"]["id"] = None
    with pytest.raises(InvalidInput) as info:
        adapter.affluent_map_shopper(payload=payload, config=cfg(fake))
    assert str(info.value) == (
        "cart.shopper.customer_id: expression returned null for this payload, "
        "but the shopper is registered"
    )


@pytest.mark.parametrize(
    ("key", "breaks", "field", "message"),
    [
        ("nested_shop", lambda p: p["order"]["items"][1].pop("quantity"), "cart.lines.quantity",
         "expression returned null for this payload (item 2 of 2)"),
        ("nested_shop", lambda p: p["order"]["items"][0].update(quantity=0), "cart.lines.quantity",
         "Input should be greater than or equal to 1 (item 1 of 2)"),
        ("nested_shop", lambda p: p["order"].update(items=[]), "cart.lines.each",
         "expression returned no line items for this payload"),
        ("nested_shop", lambda p: p["order"].update(items={"a": 1}), "cart.lines.each",
         "expected an array, got object for this payload"),
        ("nested_shop", lambda p: p["order"]["items"][0].update(price_cents=19.5),
         "cart.lines.unit_price", "cannot read 19.5 as a whole number (item 1 of 2)"),
        ("nested_shop", lambda p: p["order"]["shipping_address"].update(country="Narnia"),
         "cart.ship_to.country",
         "'Narnia' is not in the [countries] table and is not a two-letter code"),
        ("nested_shop", lambda p: p["order"]["shipping_address"].update(country=None),
         "cart.ship_to.country", "expression returned null for this payload"),
        ("flat_shop", lambda p: p["lines"][0].update(unit_price="19,99"), "cart.lines.unit_price",
         "cannot read '19,99' as a decimal number (item 1 of 2)"),
        ("flat_shop", lambda p: p.update(currency_code="eur0"), "cart.currency",
         "'EUR0' is not an ISO 4217 currency code"),
        ("flat_shop", lambda p: p.update(prices_include_tax="sometimes"), "cart.tax_inclusive",
         "cannot read 'sometimes' as true or false"),
        ("flat_shop", lambda p: p["lines"][1].update(unit_discount="6.00"),
         "cart.lines.discount_per_unit", "larger than unit_price (item 2 of 2)"),
    ],
    ids=["null", "zero", "empty", "not a list", "fractional cents", "unknown country",
         "half an address", "decimal comma", "currency", "boolean",
         "model rule"],
)  # fmt: skip
def test_live_payload_problems_name_the_mapping_key(
    key: str, breaks: Any, field: str, message: str
) -> None:
    fake = GenericRestFake(key)
    payload = fake.checkout_payload(demo())
    breaks(payload)
    with pytest.raises(InvalidInput) as info:
        adapter.affluent_map_cart(payload=payload, config=cfg(fake))
    assert (info.value.field, info.value.message) == (field, message)


def test_an_expression_failing_at_run_time_names_the_key() -> None:
    fake = GenericRestFake("nested_shop")
    payload = fake.checkout_payload(demo())
    payload["order"]["customer"]["first_name"] = None
    with pytest.raises(InvalidInput) as info:
        adapter.affluent_map_shopper(payload=payload, config=cfg(fake))
    assert info.value.field == "cart.shopper.name"
    assert info.value.message.startswith(
        "expression \"join(' ', [order.customer.first_name, order.customer.last_name])\" failed "
        "on this payload: In function join(), invalid type for value: None"
    )


def test_product_details_instead_of_skus(nested: dict[str, Any]) -> None:
    nested["cart"]["lines"]["product"] = {
        "id": "variant.product_id",
        "name": "title",
        "country_of_origin": {"default": "US"},
    }
    fake = GenericRestFake("nested_shop")
    payload = fake.checkout_payload(demo())
    payload["order"]["items"][1]["variant"] = {"product_id": "p-2"}
    payload["order"]["items"][1]["title"] = "Gadget"
    cart = adapter.affluent_map_cart(payload=payload, config={"mapping_data": nested})
    assert cart.lines[0].sku_id == "sku-1" and cart.lines[0].product is None
    assert cart.lines[1].sku_id is None and cart.lines[1].product is not None
    assert (cart.lines[1].product.id, cart.lines[1].product.name) == ("p-2", "Gadget")


# -- events ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["nested_shop", "flat_shop"])
def test_payment_hand_off(key: str) -> None:
    fake = GenericRestFake(key)
    for save in (True, False):
        handoff = adapter.affluent_map_payment(
            payload=fake.payment_payload("o-1", "src_1", save), config=cfg(fake)
        )
        assert (handoff.order_ref, handoff.source_id, handoff.save) == ("o-1", "src_1", save)


@pytest.mark.parametrize("key", ["nested_shop", "flat_shop"])
def test_line_changes_skip_untouched_lines(key: str) -> None:
    fake = GenericRestFake(key)
    payload = fake.line_payload("o-1", "ch-1", [("L1", 2, 0), ("L2", 0, 0), ("L3", 0, 1)])
    changes = adapter.affluent_map_line_changes(payload=payload, config=cfg(fake))
    assert changes is not None
    assert [(c.line_ref, c.shipped, c.cancelled) for c in changes.changes] == [
        ("L1", 2, 0),
        ("L3", 0, 1),
    ]
    assert changes.change_ref == "ch-1"
    nothing = fake.line_payload("o-1", "ch-2", [("L1", 0, 0)])
    assert adapter.affluent_map_line_changes(payload=nothing, config=cfg(fake)) is None


def test_when_selects_which_section_reads_a_payload(nested: dict[str, Any]) -> None:
    for name in ("line_shipped", "line_cancelled"):
        nested["events"][name]["lines"] = "line_items"
    nested["events"]["line_shipped"]["when"] = "kind == 'shipment'"
    nested["events"]["line_cancelled"]["when"] = "kind == 'cancellation'"
    nested["events"]["line_shipped"].pop("tracking")
    config = {"mapping_data": nested}
    payload = {"id": "c-1", "order_id": "o-1", "kind": "cancellation",
               "line_items": [{"id": "L1", "quantity": 2}]}  # fmt: skip
    changes = adapter.affluent_map_line_changes(payload=payload, config=config)
    assert changes is not None
    assert [(c.line_ref, c.shipped, c.cancelled) for c in changes.changes] == [("L1", 0, 2)]


def test_line_event_errors_name_the_key() -> None:
    fake = GenericRestFake("nested_shop")
    payload = fake.line_payload("o-1", "f-1", [("L1", 1, 0)])
    payload["fulfillment"]["line_items"][0]["quantity"] = None
    with pytest.raises(InvalidInput) as info:
        adapter.affluent_map_line_changes(payload=payload, config=cfg(fake))
    assert str(info.value) == (
        "events.line_shipped.quantity: expression returned null for this payload"
    )


# -- writes back ---------------------------------------------------------------------------------


def test_nested_status_write() -> None:
    fake = GenericRestFake("nested_shop")
    update = adapter.affluent_map_status(
        order=view(), status=OrderStatus.ready_to_fulfill, config=cfg(fake)
    )
    assert update is not None and update.kind == "status"
    assert update.body == {
        "method": "PUT",
        "url": f"{BASE}/admin/2024-07/orders/o%2F1.json",  # values never add path segments
        "json": {
            "order": {
                "id": "o/1",
                "financial_status": "authorized",
                "note_attributes": {"dr_order_id": "dr-9", "dr_state": "accepted", "message": None},
            }
        },
    }


def test_flat_payment_failure_goes_to_its_own_endpoint() -> None:
    fake = GenericRestFake("flat_shop")
    message = "We could not complete your payment."
    update = adapter.affluent_map_status(
        order=view("payment_failed", message), status=OrderStatus.payment_failed, config=cfg(fake)
    )
    assert update is not None
    assert update.body["url"] == f"{BASE}/api/v2/orders/o%2F1/payment-failure"
    assert update.body["json"] == {
        "order_number": "o/1",
        "state": "PAYMENT_FAILED",
        "shopper_message": message,
    }


def test_a_status_without_a_word_is_not_written() -> None:
    fake = GenericRestFake("flat_shop")
    config = dict(cfg(fake))
    data = tomllib.loads(Path(config.pop("mapping")).read_text())
    del data["push"]["status"]["words"]["returned"]
    config["mapping_data"] = data
    assert (
        adapter.affluent_map_status(order=view(), status=OrderStatus.returned, config=config)
        is None
    )
    assert (
        adapter.affluent_map_status(order=view(), status=OrderStatus.disputed, config=config)
        is not None
    )


def test_tax_writes_in_each_shape() -> None:
    nested = adapter.affluent_map_checkout(
        summary=summary(), config=cfg(GenericRestFake("nested_shop"))
    )
    flat = adapter.affluent_map_checkout(
        summary=summary(), config=cfg(GenericRestFake("flat_shop"))
    )
    assert nested is not None and flat is not None
    assert nested.body["json"] == {
        "tax": {
            "checkout_id": "co-9",
            "currency": "USD",
            "total_tax_cents": 315,
            "total_cents": 4813,
            "seller_of_record": "Digital River Inc.",
            "final": True,
            "lines": [{"id": "L1", "tax_cents": 280, "rate": "0.07"}],
        }
    }
    assert flat.body["method"] == "PATCH"
    assert flat.body["json"] == {
        "tax_total": "3.15",
        "grand_total": "48.13",
        "currency_code": "USD",
        "seller_of_record": "Digital River Inc.",
        "tax_final": True,
        "line_taxes": [{"line_no": "L1", "tax": "2.80"}],
    }


def test_final_only_skips_the_estimate(nested: dict[str, Any]) -> None:
    nested["push"]["checkout"]["final_only"] = True
    config = {"mapping_data": nested}
    assert adapter.affluent_map_checkout(summary=summary(final=False), config=config) is None
    assert adapter.affluent_map_checkout(summary=summary(final=True), config=config) is not None


def test_lines_without_a_line_body_carry_every_field(nested: dict[str, Any]) -> None:
    nested["push"]["checkout"].pop("line_body")
    update = adapter.affluent_map_checkout(summary=summary(), config={"mapping_data": nested})
    assert update is not None
    assert update.body["json"]["tax"]["lines"] == [
        {"line_ref": "L1", "amount": "39.98", "tax": "2.80", "tax_rate": "0.07", "currency": "USD"}
    ]


# -- conversions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "result"),
    [
        ("string", 42, "42"),
        ("string", 1.5, "1.5"),
        ("string", True, "true"),
        ("integer", "3", 3),
        ("integer", 3.0, 3),
        ("decimal", "19.99", Decimal("19.99")),
        ("decimal", 0.1, Decimal("0.1")),
        ("minor_units", 1999, Decimal("19.99")),
        ("minor_units", "500", Decimal("5.00")),
        ("boolean", "Yes", True),
        ("boolean", "off", False),
        ("boolean", 0, False),
        ("country", "united   states", "US"),
        ("country", "de", "DE"),
        ("upper", "eur", "EUR"),
        ("lower", "EUR", "eur"),
    ],
)
def test_conversions(name: str, value: Any, result: Any) -> None:
    ctx = Context({"united states": "US"}, currency="USD")
    assert convert(name, value, "k", ctx) == result


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("integer", "2.5", "cannot read '2.5' as a whole number"),
        ("integer", True, "cannot read True as a whole number"),
        ("decimal", "NaN", "'NaN' is not a finite number"),
        ("decimal", [1], "cannot read a array as a decimal number"),
        ("string", {"a": 1}, "cannot turn a object into text"),
        ("boolean", "maybe", "cannot read 'maybe' as true or false"),
        ("country", 7, "expected a country name or code, got number"),
        ("upper", 7, "upper: expected text, got number"),
    ],
)
def test_conversion_errors(name: str, value: Any, message: str) -> None:
    with pytest.raises(TranslationError) as info:
        convert(name, value, "k", Context({}, currency="USD"))
    assert info.value.render() == message
