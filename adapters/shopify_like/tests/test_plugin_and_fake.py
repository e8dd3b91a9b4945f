"""The adapter as the core loads it (real entry point), driven by its own platform fake."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from affluent.errors import AdapterError, InvalidInput
from affluent.models import DemoCart, LineChange, PlatformEventKind, ShopperKind, Tracking
from affluent.platform import PlatformClient, PlatformFake
from affluent.plugins import AdapterHooks, Adapters
from affluent_shopify_like.admin_client import AdminClient
from affluent_shopify_like.plugin import ShopifyLikeAdapter
from affluent_shopify_like.testing import ShopifyFake

TOKEN = "3eed8183d4281db6ea82ee2b8f23e9cc"
CART = DemoCart(
    order_ref="1001",
    email="ada@example.com",
    customer_id="207119551",
    lines=[("1", "SKU-RED", 2, Decimal("15.00")), ("2", "SKU-BLUE", 1, Decimal("9.99"))],
)


@pytest.fixture(scope="module")
def adapters() -> Adapters:
    return Adapters.load(["shopify_like"])


def hooks(adapters: Adapters, fake: ShopifyFake) -> AdapterHooks:
    return adapters.hooks("shopify_like", fake.client_config("http://127.0.0.1:9"))


def test_the_entry_point_loads_the_adapter(adapters: Adapters) -> None:
    info = adapters.info("shopify_like")
    assert info.distribution == "affluent-shopify-like"
    assert isinstance(info.plugin, ShopifyLikeAdapter)
    assert "affluent_parse_webhook" in info.hooks
    capabilities = adapters.hooks("shopify_like").capabilities()
    assert capabilities.platform_webhooks is True
    assert capabilities.partial_cancellation is True


def test_the_fake_and_client_satisfy_the_core_protocols(adapters: Adapters) -> None:
    fake = adapters.hooks("shopify_like").platform_fake()
    assert isinstance(fake, ShopifyFake)
    assert isinstance(fake, PlatformFake)
    client = hooks(adapters, fake).platform_client()
    assert isinstance(client, AdminClient)
    assert isinstance(client, PlatformClient)


def test_bad_config_stops_the_hook_with_the_key(adapters: Adapters) -> None:
    with pytest.raises(AdapterError, match="orders_create"):
        adapters.hooks("shopify_like", {"orders_create": "never"}).capabilities()


def test_a_demo_cart_round_trips_through_the_hooks(adapters: Adapters) -> None:
    fake = ShopifyFake()
    h = hooks(adapters, fake)
    payload = fake.checkout_payload(CART)

    cart = h.map_cart(payload)
    shopper = h.map_shopper(payload)

    assert cart.order_ref == "1001"
    assert [
        (line.line_ref, line.sku_id, line.quantity, line.unit_price) for line in cart.lines
    ] == [
        ("1", "SKU-RED", 2, Decimal("15.00")),
        ("2", "SKU-BLUE", 1, Decimal("9.99")),
    ]
    assert cart.ship_to is not None and cart.ship_to.address.state == "KY"
    assert shopper.kind is ShopperKind.registered
    assert shopper.customer_id == "shopify-207119551"
    assert fake.order("1001")["financial_status"] == "pending"


def test_a_token_ref_demo_cart_is_a_checkout(adapters: Adapters) -> None:
    fake = ShopifyFake()
    guest = CART.model_copy(update={"order_ref": TOKEN, "customer_id": None})
    payload = fake.checkout_payload(guest)
    assert set(payload) == {"checkout"}
    h = hooks(adapters, fake)
    assert h.map_cart(payload).order_ref == TOKEN
    assert h.map_shopper(payload).kind is ShopperKind.guest
    handoff = h.map_payment(fake.payment_payload(TOKEN, "src_1", False))
    assert (handoff.order_ref, handoff.source_id, handoff.save) == (TOKEN, "src_1", False)
    assert fake.platform_status(TOKEN) == "checkout/open"


def test_a_demo_ref_that_is_no_token_is_an_order(adapters: Adapters) -> None:
    fake = ShopifyFake()
    demo = CART.model_copy(update={"order_ref": "shopify_like-3-0a1b2c3d"})
    payload = fake.checkout_payload(demo)
    assert set(payload) == {"order"}
    h = hooks(adapters, fake)
    assert h.map_cart(payload).order_ref == "shopify_like-3-0a1b2c3d"
    assert h.map_payment(fake.payment_payload("shopify_like-3-0a1b2c3d", "s", True)).save is True
    assert fake.platform_status("shopify_like-3-0a1b2c3d") == "pending/unfulfilled"


def test_payment_payload_shape(adapters: Adapters) -> None:
    fake = ShopifyFake()
    h = hooks(adapters, fake)
    handoff = h.map_payment(
        {"order_id": 1001, "dr_source_id": "src_abc", "save_payment_method": True}
    )
    assert (handoff.order_ref, handoff.source_id, handoff.save) == ("1001", "src_abc", True)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"dr_source_id": "src"}, "order_id"),
        ({"order_id": 1, "dr_source_id": ""}, "dr_source_id"),
        ({"order_id": 1, "dr_source_id": "s", "save_payment_method": "yes"}, "save_payment_method"),
    ]
    for bad, field in cases:
        with pytest.raises(InvalidInput) as caught:
            h.map_payment(bad)
        assert caught.value.field == field


def test_line_payloads_become_the_changes_they_describe(adapters: Adapters) -> None:
    fake = ShopifyFake()
    h = hooks(adapters, fake)
    fake.checkout_payload(CART)

    shipped = h.map_line_changes(
        fake.line_payload("1001", "ship-1", [("1", 1, 0)], {"company": "UPS", "number": "1Z9"})
    )
    assert shipped is not None
    assert shipped.change_ref == "fulfillment:ship-1"
    assert shipped.changes == [LineChange(line_ref="1", shipped=1)]
    assert shipped.tracking == Tracking(company="UPS", number="1Z9")

    mixed = h.map_line_changes(fake.line_payload("1001", "mix-1", [("1", 1, 0), ("2", 0, 1)]))
    assert mixed is not None
    assert mixed.change_ref == "fulfillment:mix-1+refund:mix-1"
    assert mixed.changes == [
        LineChange(line_ref="1", shipped=1),
        LineChange(line_ref="2", cancelled=1),
    ]

    order = fake.order("1001")
    assert [line["fulfillable_quantity"] for line in order["line_items"]] == [0, 0]
    assert fake.platform_status("1001") == "pending/unfulfilled"  # only the adapter writes these


def test_the_fake_sends_webhooks_the_adapter_verifies(adapters: Adapters) -> None:
    fake = ShopifyFake()
    h = hooks(adapters, fake)
    fake.checkout_payload(CART)
    body = fake.store.fulfill("1001", [("1", 2)], tracking={"number": "1Z1"})

    event = h.parse_webhook(*fake.webhook("fulfillments/create", body))

    assert event.kind is PlatformEventKind.line_changes
    assert event.order_ref == "1001"
    assert event.delivery_id is not None and event.delivery_id.endswith(
        "/fulfillments/create/event:1"
    )
    with pytest.raises(Exception, match="matches no configured"):
        h.parse_webhook(*fake.webhook("fulfillments/create", body, secret="stolen"))
