"""The adapter: pure translations between the platform's JSON and affluent's canonical models.

The platform's payloads look like::

    cart     {"order": "T-1", "currency": "USD", "email": ..., "customer_id": null | "42",
              "ship_to": {"name", "street", "city", "zip", "region", "country"},
              "items": [{"line": "1", "sku": "sku-a", "qty": 2, "unit_price": "15.00"}]}
    payment  {"order": "T-1", "source_id": "...", "save_card": false}
    shipment {"order": "T-1", "shipment": "S-1", "carrier": "UPS", "tracking": "1Z..",
              "items": [{"line": "1", "shipped": 1, "cancelled": 0}]}
    webhook  body = a shipment, header X-Template-Signature = hex HMAC-SHA256 of the body
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from affluent.errors import InvalidInput, SignatureError
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
    PlatformEventKind,
    PlatformUpdate,
    Shopper,
    ShopperKind,
)

SIGNATURE_HEADER = "x-template-signature"
SHIP_FROM = {
    "line1": "100 Main St",
    "city": "Minneapolis",
    "postal_code": "55401",
    "state": "MN",
    "country": "US",
}
STATUS_WORDS = {
    OrderStatus.awaiting_payment: "awaiting-payment",
    OrderStatus.in_review: "on-hold",
    OrderStatus.ready_to_fulfill: "ready",
    OrderStatus.payment_failed: "payment-failed",
    OrderStatus.blocked: "rejected",
    OrderStatus.cancelled: "cancelled",
    OrderStatus.fulfilled: "shipped",
    OrderStatus.complete: "complete",
    OrderStatus.returned: "returned",
    OrderStatus.disputed: "disputed",
}


def _address(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "line1": data.get("street"),
        "city": data.get("city"),
        "postal_code": data.get("zip"),
        "state": data.get("region"),
        "country": data.get("country"),
    }


class TemplateAdapter:
    """Registered with pluggy under the entry-point name ``template``."""

    @hookimpl
    def affluent_capabilities(self) -> Capabilities:
        return Capabilities(platform_webhooks=True)

    @hookimpl
    def affluent_platform_client(self, config: Mapping[str, Any]) -> Any:
        from affluent_template.client import TemplateClient

        return TemplateClient(config["base_url"], config["token"])

    @hookimpl
    def affluent_platform_fake(self) -> Any:
        from affluent_template.fake import TemplateFake

        return TemplateFake()

    @hookimpl
    def affluent_parse_webhook(
        self, headers: Mapping[str, str], body: bytes, config: Mapping[str, Any]
    ) -> PlatformEvent:
        given = headers.get(SIGNATURE_HEADER)
        if not given:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        expected = hmac.new(config["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidInput("body", f"not JSON: {exc}") from None
        if not isinstance(payload, dict) or "shipment" not in payload:
            raise InvalidInput("shipment", "a template webhook carries one shipment")
        return PlatformEvent(
            kind=PlatformEventKind.line_changes,
            delivery_id=str(payload["shipment"]),
            payload=payload,
        )

    @hookimpl
    def affluent_map_shopper(self, payload: Mapping[str, Any]) -> Shopper:
        customer = payload.get("customer_id")
        if customer:
            return Shopper(
                kind=ShopperKind.registered,
                customer_id=f"tpl-{customer}",
                email=payload.get("email"),
            )
        return Shopper(kind=ShopperKind.guest, email=payload.get("email"))

    @hookimpl
    def affluent_map_cart(self, payload: Mapping[str, Any]) -> Cart:
        ship_to = payload.get("ship_to") or {}
        contact = {"name": ship_to.get("name"), "address": _address(ship_to)}
        return Cart.model_validate(
            {
                "order_ref": payload.get("order"),
                "currency": payload.get("currency"),
                "email": payload.get("email"),
                "lines": [
                    {
                        "line_ref": item.get("line"),
                        "sku_id": item.get("sku"),
                        "quantity": item.get("qty"),
                        "unit_price": Decimal(str(item.get("unit_price"))),
                    }
                    for item in payload.get("items") or []
                ],
                "ship_to": contact,
                "bill_to": contact,
                "ship_from": SHIP_FROM,
                "shipping": {
                    "amount": Decimal(str(payload.get("shipping", "0"))),
                    "description": "Standard",
                },
            }
        )

    @hookimpl
    def affluent_map_payment(self, payload: Mapping[str, Any]) -> PaymentHandoff:
        return PaymentHandoff.model_validate(
            {
                "order_ref": payload.get("order"),
                "source_id": payload.get("source_id"),
                "save": bool(payload.get("save_card")),
            }
        )

    @hookimpl
    def affluent_map_line_changes(self, payload: Mapping[str, Any]) -> LineItemChanges | None:
        if "shipment" not in payload:
            return None
        tracking = (
            {"company": payload.get("carrier"), "number": payload.get("tracking")}
            if payload.get("carrier")
            else None
        )
        return LineItemChanges.model_validate(
            {
                "order_ref": payload.get("order"),
                "change_ref": f"shipment:{payload['shipment']}",
                "changes": [
                    {
                        "line_ref": item.get("line"),
                        "shipped": item.get("shipped", 0),
                        "cancelled": item.get("cancelled", 0),
                    }
                    for item in payload.get("items") or []
                ],
                "tracking": tracking,
            }
        )

    @hookimpl
    def affluent_map_status(self, order: OrderView, status: OrderStatus) -> PlatformUpdate:
        body = {
            "status": STATUS_WORDS[status],
            "dr_order_id": order.dr_order_id,
            "message": order.shopper_message,
        }
        return PlatformUpdate(order_ref=order.order_ref, kind="status", body=body)

    @hookimpl
    def affluent_map_checkout(self, summary: CheckoutSummary) -> PlatformUpdate:
        body = {
            "tax": str(summary.total_tax),
            "total": str(summary.total_amount),
            "seller": summary.selling_entity.name if summary.selling_entity else None,
            "final": summary.final,
        }
        return PlatformUpdate(order_ref=summary.order_ref, kind="checkout", body=body)
