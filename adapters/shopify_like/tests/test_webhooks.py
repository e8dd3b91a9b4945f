"""Store webhooks: signatures, topics, dedupe keys and the flow step each one starts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from affluent.errors import InvalidInput, SignatureError
from affluent.models import PlatformEventKind
from affluent_shopify_like.config import load as load_config
from affluent_shopify_like.webhooks import parse

SECRET = "new-app-secret"
OLD_SECRET = "old-app-secret"
SHOP = "example.myshopify.com"


def config(**values: Any) -> Any:
    return load_config({"webhook_secrets": [SECRET], **values})


def signed(
    topic: str, body: Any, *, secret: str = SECRET, **headers: str
) -> tuple[dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    sent = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    }
    sent.update(headers)
    return sent, raw


# -- signatures ---------------------------------------------------------------------------------


def test_a_signed_order_starts_checkout(load: Any) -> None:
    event = parse(*signed("orders/create", load("order.json")["order"]), config())

    assert event.kind is PlatformEventKind.cart_ready
    assert event.order_ref == "450789469"
    assert event.delivery_id == f"{SHOP}/orders/create/event:98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert event.payload["order"]["id"] == 450789469


def test_old_and_new_secrets_are_both_accepted_during_rotation(load: Any) -> None:
    both = config(webhook_secrets=[OLD_SECRET, SECRET])
    body = load("order.json")["order"]
    assert parse(*signed("orders/create", body, secret=OLD_SECRET), both).order_ref == "450789469"
    assert parse(*signed("orders/create", body, secret=SECRET), both).order_ref == "450789469"
    with pytest.raises(SignatureError, match="matches no configured"):
        parse(*signed("orders/create", body, secret=OLD_SECRET), config())


def test_a_single_secret_string_is_accepted_as_config(load: Any) -> None:
    cfg = load_config({"webhook_secrets": SECRET})
    assert (
        parse(*signed("orders/create", load("order.json")["order"]), cfg).order_ref == "450789469"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X-Shopify-Hmac-Sha256": ""}, "missing X-Shopify-Hmac-Sha256"),
        ({"X-Shopify-Hmac-Sha256": "not base64!"}, "not valid base64"),
        ({"X-Shopify-Hmac-Sha256": base64.b64encode(b"short").decode()}, "wrong length"),
        ({"X-Shopify-Hmac-Sha256": base64.b64encode(bytes(32)).decode()}, "matches no configured"),
    ],
)
def test_bad_signatures_are_refused_with_the_reason(
    load: Any, change: dict[str, str], message: str
) -> None:
    headers, raw = signed("orders/create", load("order.json")["order"])
    headers.update(change)
    with pytest.raises(SignatureError, match=message):
        parse(headers, raw, config())


def test_a_missing_signature_header_is_refused(load: Any) -> None:
    headers, raw = signed("orders/create", load("order.json")["order"])
    del headers["X-Shopify-Hmac-Sha256"]
    with pytest.raises(SignatureError, match="missing"):
        parse(headers, raw, config())


def test_a_tampered_body_is_refused(load: Any) -> None:
    headers, raw = signed("orders/create", load("order.json")["order"])
    with pytest.raises(SignatureError):
        parse(headers, raw.replace(b"199.00", b"1.00"), config())


def test_no_configured_secret_verifies_nothing(load: Any) -> None:
    with pytest.raises(SignatureError, match="webhook_secrets"):
        parse(*signed("orders/create", load("order.json")["order"]), load_config({}))


def test_lower_cased_headers_are_read(load: Any) -> None:
    headers, raw = signed("orders/create", load("order.json")["order"])
    lowered = {key.lower(): value for key, value in headers.items()}
    assert parse(lowered, raw, config()).order_ref == "450789469"


# -- topics and bodies --------------------------------------------------------------------------


def test_unknown_topic_is_refused_naming_the_header(load: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("products/create", load("order.json")["order"]), config())
    assert caught.value.field == "X-Shopify-Topic"
    assert (
        "products/create" in caught.value.message and "fulfillments/create" in caught.value.message
    )


def test_missing_topic_is_refused(load: Any) -> None:
    headers, raw = signed("orders/create", load("order.json")["order"])
    del headers["X-Shopify-Topic"]
    with pytest.raises(InvalidInput) as caught:
        parse(headers, raw, config())
    assert caught.value.field == "X-Shopify-Topic"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_bodies_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("orders/create", raw), config())
    assert caught.value.field == "body"
    assert message in caught.value.message


def test_a_body_that_is_not_the_topics_resource_is_refused(load: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("fulfillments/create", load("order.json")["order"]), config())
    assert caught.value.field == "fulfillment.order_id"


def test_a_malformed_order_is_refused_before_anything_runs(load: Any) -> None:
    body = load("order.json")["order"]
    body["line_items"][1]["price"] = "one hundred"
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("orders/create", body), config())
    assert caught.value.field == "line_items[1].price"


def test_the_shop_domain_is_checked_when_configured(load: Any) -> None:
    body = load("order.json")["order"]
    assert parse(*signed("orders/create", body), config(shop_domain=SHOP)).order_ref == "450789469"
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("orders/create", body), config(shop_domain="other.myshopify.com"))
    assert caught.value.field == "X-Shopify-Shop-Domain"


# -- flow steps ---------------------------------------------------------------------------------


def test_checkouts_start_checkout_keyed_by_token(load: Any) -> None:
    cart = load("carts.json")["carts"][0]
    cfg = config(default_currency="USD", sku_source="variant_id")
    for topic in ("checkouts/create", "checkouts/update"):
        event = parse(*signed(topic, cart), cfg)
        assert event.kind is PlatformEventKind.cart_ready
        assert event.order_ref == cart["token"]
        assert event.payload == {"checkout": cart}


def test_orders_create_submits_when_configured(load: Any) -> None:
    (order,) = load("orders.json")["orders"]
    event = parse(*signed("orders/create", order), config(orders_create="submit"))
    assert event.kind is PlatformEventKind.submit
    assert event.order_ref == "bd5a8aa1ecd019dd3520ff791ee3a24c"  # the checkout it came from


@pytest.mark.parametrize(
    ("topic", "fixture", "key", "order_ref"),
    [
        ("fulfillments/create", "fulfillment.json", "fulfillment", "450789469"),
        ("fulfillments/update", "fulfillment.json", "fulfillment", "450789469"),
        ("refunds/create", "refund.json", "refund", "450789469"),
        ("orders/updated", "order.json", "order", "450789469"),
        ("orders/cancelled", "order.json", "order", "450789469"),
    ],
)
def test_line_item_topics(load: Any, topic: str, fixture: str, key: str, order_ref: str) -> None:
    body = load(fixture)[key]
    event = parse(*signed(topic, body), config())
    assert event.kind is PlatformEventKind.line_changes
    assert event.order_ref == order_ref
    assert event.payload == {key: body}


def test_delivery_id_falls_back_to_the_webhook_id(load: Any) -> None:
    headers, raw = signed("refunds/create", load("refund.json")["refund"])
    del headers["X-Shopify-Event-Id"]
    event = parse(headers, raw, config())
    assert (
        event.delivery_id == f"{SHOP}/refunds/create/webhook:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    )
    del headers["X-Shopify-Webhook-Id"]
    assert parse(headers, raw, config()).delivery_id is None


def test_redelivered_fulfillment_update_has_the_same_change(load: Any) -> None:
    """Headers differ on every delivery; the business content does not."""
    from affluent_shopify_like.line_changes import line_changes

    body = load("fulfillment.json")["fulfillment"]
    body["status"] = "success"
    first = parse(*signed("fulfillments/create", body, **{"X-Shopify-Event-Id": "1"}), config())
    again = parse(*signed("fulfillments/update", body, **{"X-Shopify-Event-Id": "2"}), config())
    assert first.delivery_id != again.delivery_id
    a = line_changes(first.payload, config())
    b = line_changes(again.payload, config())
    assert a is not None and a == b
    assert a.change_ref == "fulfillment:255858046"


def test_a_refund_naming_another_orders_line_is_refused(load: Any) -> None:
    body = load("refund.json")["refund"]
    body["refund_line_items"][0]["line_item_id"] = 1
    with pytest.raises(InvalidInput) as caught:
        parse(*signed("refunds/create", body), config())
    assert caught.value.field == "refund.refund_line_items[0].line_item.id"
