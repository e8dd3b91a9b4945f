"""The ``shopify_like`` adapter: affluent's hooks for stores with Shopify-shaped REST payloads.

Each hook reads its configuration (:mod:`.config`) and delegates to one module:
:mod:`.translate_in` (carts, shoppers, payment hand-off), :mod:`.line_changes` (fulfillments,
refunds, cancellations), :mod:`.translate_out` (statuses and tax back to the store),
:mod:`.webhooks` (signed store webhooks), :mod:`.admin_client` (Admin API writes) and
:mod:`.testing` (the platform fake).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from affluent.hookspecs import hookimpl
from affluent.lifecycle import OrderStatus
from affluent.models import (
    Capabilities,
    Cart,
    CheckoutSummary,
    LineItemChanges,
    OrderView,
    PaymentHandoff,
    PlatformEvent,
    PlatformUpdate,
    Shopper,
)
from affluent_shopify_like import config as settings
from affluent_shopify_like import line_changes, translate_in, translate_out, webhooks
from affluent_shopify_like.admin_client import AdminClient
from affluent_shopify_like.testing import ShopifyFake


class ShopifyLikeAdapter:
    """Registered with pluggy under the entry name ``shopify_like``."""

    @hookimpl
    def affluent_capabilities(self, config: Mapping[str, Any]) -> Capabilities:
        settings.load(config)
        return Capabilities(
            registered_shoppers=True,
            saved_sources=True,
            tracking=True,
            partial_cancellation=True,
            platform_webhooks=True,
        )

    @hookimpl
    def affluent_platform_client(self, config: Mapping[str, Any]) -> AdminClient:
        return AdminClient(settings.load(config))

    @hookimpl
    def affluent_platform_fake(self) -> ShopifyFake:
        return ShopifyFake()

    @hookimpl
    def affluent_parse_webhook(
        self, headers: Mapping[str, str], body: bytes, config: Mapping[str, Any]
    ) -> PlatformEvent:
        return webhooks.parse(headers, body, settings.load(config))

    @hookimpl
    def affluent_map_shopper(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> Shopper:
        return translate_in.shopper(payload, settings.load(config))

    @hookimpl
    def affluent_map_cart(self, payload: Mapping[str, Any], config: Mapping[str, Any]) -> Cart:
        return translate_in.cart(payload, settings.load(config))

    @hookimpl
    def affluent_map_payment(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> PaymentHandoff:
        return translate_in.payment(payload, settings.load(config))

    @hookimpl
    def affluent_map_line_changes(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> LineItemChanges | None:
        return line_changes.line_changes(payload, settings.load(config))

    @hookimpl
    def affluent_map_status(
        self, order: OrderView, status: OrderStatus, config: Mapping[str, Any]
    ) -> PlatformUpdate:
        return translate_out.status_update(order, OrderStatus(status), settings.load(config))

    @hookimpl
    def affluent_map_checkout(
        self, summary: CheckoutSummary, config: Mapping[str, Any]
    ) -> PlatformUpdate:
        return translate_out.checkout_update(summary, settings.load(config))
