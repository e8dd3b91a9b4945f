"""A Shopify-like platform fake for the adapter's tests, the conformance kit and ``affluent demo``.

:class:`ShopifyFake` holds orders as Shopify JSON (:mod:`.fake_store`), serves the Admin API
writes the adapter makes (:mod:`.fake_admin`, checking the access token and recording every
write), and emits signed webhooks the way a store does::

    fake = ShopifyFake()
    with serve_in_thread(fake.app) as url:
        config = fake.client_config(url)
        payload = fake.checkout_payload(DemoCart(order_ref="1001", ...))
        ...
        headers, body = fake.webhook("fulfillments/create", fake.store.fulfill("1001", [("1", 1)]))
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from affluent.models import DemoCart
from affluent_shopify_like.config import DEFAULT_API_VERSION
from affluent_shopify_like.fake_admin import AdminLog, AdminWrite, admin_app
from affluent_shopify_like.fake_store import FakeStore
from affluent_shopify_like.webhooks import sign

__all__ = ["SHOPIFY_TOKEN", "AdminWrite", "FakeStore", "ShopifyFake"]

SHOPIFY_TOKEN = r"^[0-9a-f]{32}$"  # noqa: S105 (a regex)
"""What the fake takes for a checkout token; any other ref (``1001``, ``demo-7``) is an order."""
WAREHOUSE = {
    "line1": "1 Warehouse Way",
    "city": "Louisville",
    "state": "KY",
    "postal_code": "40202",
    "country": "US",
}
"""The fake store ships from here (the DR checkout's ``shipFrom``)."""


class ShopifyFake:
    """The ``PlatformFake`` of the ``shopify_like`` adapter."""

    def __init__(
        self,
        *,
        access_token: str = "shpat_fake_0123456789",  # noqa: S107 (a fake's own test value)
        webhook_secret: str = "fake-shopify-app-secret",  # noqa: S107
        shop_domain: str = "affluent-fake.myshopify.com",
        api_version: str = DEFAULT_API_VERSION,
        checkout_token_pattern: str = SHOPIFY_TOKEN,
    ) -> None:
        self.store = FakeStore()
        self.admin = AdminLog(access_token=access_token, api_version=api_version)
        self.webhook_secret = webhook_secret
        self.shop_domain = shop_domain
        self.checkout_token_pattern = checkout_token_pattern
        self.app = admin_app(self.store, self.admin)
        self._events = itertools.count(1)

    # -- the PlatformFake protocol ----------------------------------------------------------------

    def client_config(self, base_url: str) -> dict[str, Any]:
        """Adapter configuration pointing the Admin client and webhook checks at this fake."""
        return {
            "admin_url": base_url,
            "access_token": self.admin.access_token,
            "api_version": self.admin.api_version,
            "webhook_secrets": [self.webhook_secret],
            "shop_domain": self.shop_domain,
            "sku_source": "sku",
            "checkout_token_pattern": self.checkout_token_pattern,
            "max_retry_after": 5.0,
            "ship_from": dict(WAREHOUSE),
        }

    def is_checkout_token(self, order_ref: str) -> bool:
        return re.search(self.checkout_token_pattern, order_ref) is not None

    def checkout_payload(self, cart: DemoCart) -> dict[str, Any]:
        """The cart as a Shopify checkout if its ref looks like a token, else as an order."""
        return self.store.render(cart, as_checkout=self.is_checkout_token(cart.order_ref))

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> dict[str, Any]:
        key = "checkout_token" if self.is_checkout_token(order_ref) else "order_id"
        return {key: order_ref, "dr_source_id": source_id, "save_payment_method": save}

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Sequence[tuple[str, int, int]],
        tracking: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Ship and/or cancel units as the store would: a fulfillment, a refund, or both.

        The fulfillment and refund take ``change_ref`` as their id, so the adapter's
        ``change_ref`` is ``fulfillment:<change_ref>`` / ``refund:<change_ref>``.
        """
        shipped = [(line, units) for line, units, _ in changes if units]
        cancelled = [(line, units) for line, _, units in changes if units]
        payload: dict[str, Any] = {}
        if shipped:
            payload["fulfillment"] = self.store.fulfill(
                order_ref, shipped, tracking=tracking, fulfillment_id=change_ref
            )
        if cancelled:
            payload["refund"] = self.store.refund(order_ref, cancelled, refund_id=change_ref)
        if not payload:
            raise ValueError("changes ship and cancel nothing")
        return payload

    def platform_status(self, order_ref: str) -> str:
        """``financial_status/fulfillment_status`` (+ ``/cancelled:<reason>``) as last written.

        A checkout has neither: ``checkout/<DR status>`` from the adapter's metafield.
        """
        order = self.store.get(order_ref)
        if order_ref in self.store.checkouts:
            status = {m["key"]: m["value"] for m in order.get("metafields", [])}.get("status")
            return f"checkout/{status or 'open'}"
        words = [
            order.get("financial_status") or "pending",
            order.get("fulfillment_status") or "unfulfilled",
        ]
        if order.get("cancelled_at"):
            words.append(f"cancelled:{order.get('cancel_reason') or 'other'}")
        return "/".join(words)

    # -- assertions -----------------------------------------------------------------------------

    def order(self, order_ref: str) -> dict[str, Any]:
        """A copy of the order (or checkout) as the store holds it now."""
        return self.store.get(order_ref)

    def tags(self, order_ref: str) -> list[str]:
        raw = self.store.get(order_ref).get("tags") or ""
        return [tag.strip() for tag in raw.split(",") if tag.strip()]

    def metafields(self, order_ref: str, namespace: str = "digital_river") -> dict[str, str]:
        return {
            m["key"]: m["value"]
            for m in self.store.get(order_ref).get("metafields", [])
            if m["namespace"] == namespace
        }

    @property
    def writes(self) -> list[AdminWrite]:
        return list(self.admin.writes)

    # -- webhooks -------------------------------------------------------------------------------

    def webhook(
        self,
        topic: str,
        body: Mapping[str, Any] | bytes,
        *,
        secret: str | None = None,
        event_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of a webhook as the store sends it, signed with its secret."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(raw, secret or self.webhook_secret),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.admin.api_version,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(next(self._events)),
            "X-Shopify-Triggered-At": self.store.now(),
        }
        return headers, raw

    def signed_line_webhook(
        self, order_ref: str, change_ref: str, changes: Sequence[tuple[str, int, int]]
    ) -> tuple[dict[str, str], bytes]:
        """The signed ``fulfillments/create`` (units shipped) or ``refunds/create`` (cancelled)."""
        payload = self.line_payload(order_ref, change_ref, changes)
        if len(payload) != 1:
            raise ValueError("a Shopify webhook carries either shipped or cancelled units")
        if "fulfillment" in payload:
            return self.webhook("fulfillments/create", payload["fulfillment"])
        return self.webhook("refunds/create", payload["refund"])

    async def send_webhook(
        self, url: str, topic: str, body: Mapping[str, Any] | bytes, **options: Any
    ) -> httpx.Response:
        """POST a signed webhook to ``url`` (e.g. the service's ``/webhooks/shopify_like``)."""
        headers, raw = self.webhook(topic, body, **options)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=raw, headers=headers)
