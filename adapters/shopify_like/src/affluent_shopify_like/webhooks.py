"""Webhooks from the store: signature, topic, dedupe key, and the flow step each one starts.

- ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body under the app secret.
  It is compared in constant time against every configured secret (old and new during a
  rotation). Only the body is signed.
- ``X-Shopify-Topic`` picks the step (``TOPICS``); the body must be the resource that topic
  carries, and it is translated right away so a malformed one is refused with a 400 before
  anything is stored.
- The delivery id for dedupe is ``X-Shopify-Event-Id`` (falling back to
  ``X-Shopify-Webhook-Id``), qualified by shop and topic. Headers are not signed, so line-item
  events are also deduplicated on their content (``change_ref``, see
  :mod:`affluent_shopify_like.line_changes`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from affluent.errors import InvalidInput, SignatureError
from affluent.models import PlatformEvent, PlatformEventKind
from affluent_shopify_like import fields as f
from affluent_shopify_like import line_changes, translate_in
from affluent_shopify_like.config import ShopifyConfig

HMAC_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
SHOP_HEADER = "x-shopify-shop-domain"
EVENT_ID_HEADER = "x-shopify-event-id"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"

K = PlatformEventKind
TOPICS: dict[str, tuple[str, K | None]] = {
    "checkouts/create": ("checkout", K.cart_ready),
    "checkouts/update": ("checkout", K.cart_ready),
    "orders/create": ("order", None),  # cart_ready or submit, per config orders_create
    "orders/updated": ("order", K.line_changes),
    "orders/cancelled": ("order", K.line_changes),
    "fulfillments/create": ("fulfillment", K.line_changes),
    "fulfillments/update": ("fulfillment", K.line_changes),
    "refunds/create": ("refund", K.line_changes),
}
"""Topic -> (resource in the body, flow step)."""


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(headers: Mapping[str, str], body: bytes, config: ShopifyConfig) -> None:
    """Raise SignatureError unless the body is signed by one of the configured secrets."""
    if not config.webhook_secrets:
        raise SignatureError("no webhook secret configured (config webhook_secrets)")
    given = _header(headers, HMAC_HEADER)
    if given is None:
        raise SignatureError("missing X-Shopify-Hmac-Sha256 header")
    try:
        received = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("X-Shopify-Hmac-Sha256 is not valid base64") from None
    if len(received) != hashlib.sha256().digest_size:
        raise SignatureError("X-Shopify-Hmac-Sha256 has the wrong length for HMAC-SHA256")
    matched = False
    for secret in config.webhook_secrets:
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, received)
    if not matched:
        raise SignatureError("X-Shopify-Hmac-Sha256 matches no configured webhook secret")


def parse(headers: Mapping[str, str], body: bytes, config: ShopifyConfig) -> PlatformEvent:
    """Verify, read and translate one store webhook into the flow step it starts."""
    headers = {key.lower(): value for key, value in headers.items()}
    verify(headers, body, config)
    topic = _header(headers, TOPIC_HEADER)
    if topic is None:
        raise InvalidInput("X-Shopify-Topic", "missing header")
    if topic not in TOPICS:
        raise InvalidInput(
            "X-Shopify-Topic", f"unsupported topic {topic!r}; expected one of {', '.join(TOPICS)}"
        )
    shop = _header(headers, SHOP_HEADER)
    if config.shop_domain is not None and shop != config.shop_domain:
        raise InvalidInput(
            "X-Shopify-Shop-Domain", f"{shop!r} is not this store ({config.shop_domain!r})"
        )
    resource, kind = TOPICS[topic]
    data = _json(body)
    payload: dict[str, Any] = {resource: data}
    order_ref: str | None
    if kind is None:
        kind = K.submit if config.orders_create == "submit" else K.cart_ready
    if kind is K.cart_ready:
        cart = translate_in.cart(payload, config)
        translate_in.shopper(payload, config)
        order_ref = cart.order_ref
    elif kind is K.submit:
        order_ref = f.text(data.get("checkout_token"), "checkout_token") or f.ref(
            data.get("id"), "id"
        )
    else:
        _expect_ids(resource, data)
        changes = line_changes.line_changes(payload, config)
        order_ref = changes.order_ref if changes else _own_order(resource, data)
    return PlatformEvent(
        kind=kind, delivery_id=delivery_id(headers, topic), order_ref=order_ref, payload=payload
    )


def delivery_id(headers: Mapping[str, str], topic: str) -> str | None:
    """``<shop>/<topic>/event:<id>`` (or ``webhook:<id>``); ``None`` when neither header is sent."""
    event_id = _header(headers, EVENT_ID_HEADER)
    webhook_id = _header(headers, WEBHOOK_ID_HEADER)
    if event_id is None and webhook_id is None:
        return None
    shop = _header(headers, SHOP_HEADER) or "-"
    ident = f"event:{event_id}" if event_id else f"webhook:{webhook_id}"
    return f"{shop}/{topic}/{ident}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", f"expected a JSON object, got {type(data).__name__}")
    return data


def _expect_ids(resource: str, data: Mapping[str, Any]) -> None:
    f.ref(data.get("id"), f"{resource}.id")
    if resource in ("fulfillment", "refund"):
        f.ref(data.get("order_id"), f"{resource}.order_id")


def _own_order(resource: str, data: Mapping[str, Any]) -> str:
    return f.ref(data.get("id") if resource == "order" else data.get("order_id"), "order_id")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if value is None:
        return None
    return value.strip() or None
