"""An in-memory platform and its adapter: plain-dict payloads, writes recorded in memory.

Used by the core's tests and benchmarks, and handy for trying the flow from a Python shell.

Payload shapes:

- cart: ``{"ref", "currency", "email", "customer" (id or None), "country", "lines": [{"id",
  "sku", "qty", "price"}]}``
- payment: ``{"ref", "source", "save"}``
- line event: ``{"ref", "event", "lines": [{"id", "shipped", "cancelled"}], "carrier"?}``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette

from affluent.hookspecs import hookimpl
from affluent.lifecycle import OrderStatus
from affluent.models import (
    Address,
    Cart,
    CheckoutSummary,
    Contact,
    DemoCart,
    LineItemChanges,
    OrderView,
    PaymentHandoff,
    PlatformUpdate,
    ShippingOption,
    Shopper,
    ShopperKind,
    Tracking,
)

ADDRESSES = {
    "US": Address(
        line1="12 Elm Ave", city="St Paul", postal_code="55102", state="MN", country="US"
    ),
    "DE": Address(line1="Hauptstr. 5", city="Berlin", postal_code="10115", country="DE"),
    "GB": Address(line1="1 High St", city="London", postal_code="SW1A 1AA", country="GB"),
}
SHIP_FROM = Address(
    line1="100 Main St", city="Minneapolis", postal_code="55401", state="MN", country="US"
)


class RecordingClient:
    """Platform client that records every write instead of sending it."""

    def __init__(self) -> None:
        self.pushed: list[PlatformUpdate] = []
        self.fail_next = 0

    async def push(self, update: PlatformUpdate) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("platform unavailable")
        self.pushed.append(update)

    async def aclose(self) -> None:
        pass

    def statuses(self, ref: str) -> list[str]:
        return [u.body["status"] for u in self.pushed if u.order_ref == ref and u.kind == "status"]


class DictPlatform:
    """The adapter object registered with pluggy."""

    def __init__(self) -> None:
        self.client = RecordingClient()

    @hookimpl
    def affluent_platform_client(self) -> RecordingClient:
        return self.client

    @hookimpl
    def affluent_map_shopper(self, payload: Mapping[str, Any]) -> Shopper:
        if payload.get("customer"):
            return Shopper(
                kind=ShopperKind.registered,
                customer_id=payload["customer"],
                email=payload.get("email"),
            )
        return Shopper(kind=ShopperKind.guest, email=payload.get("email"))

    @hookimpl
    def affluent_map_cart(self, payload: Mapping[str, Any]) -> Cart:
        address = ADDRESSES[payload.get("country", "US")]
        contact = Contact(name=payload.get("name", "Ada Lovelace"), address=address)
        return Cart.model_validate(
            {
                "order_ref": payload["ref"],
                "currency": payload.get("currency", "USD"),
                "email": payload.get("email"),
                "lines": [
                    {
                        "line_ref": line["id"],
                        "sku_id": line["sku"],
                        "quantity": line["qty"],
                        "unit_price": line["price"],
                    }
                    for line in payload["lines"]
                ],
                "ship_to": contact,
                "bill_to": contact,
                "ship_from": SHIP_FROM,
                "shipping": ShippingOption(
                    amount=Decimal("4.00"), description="Ground", service_level="SG"
                ),
                "browser_ip": "203.0.113.7",
            }
        )

    @hookimpl
    def affluent_map_payment(self, payload: Mapping[str, Any]) -> PaymentHandoff:
        return PaymentHandoff(
            order_ref=payload["ref"], source_id=payload["source"], save=payload.get("save", False)
        )

    @hookimpl
    def affluent_map_line_changes(self, payload: Mapping[str, Any]) -> LineItemChanges | None:
        if payload.get("event") is None:
            return None
        return LineItemChanges.model_validate(
            {
                "order_ref": payload["ref"],
                "change_ref": payload["event"],
                "changes": [
                    {
                        "line_ref": line["id"],
                        "shipped": line.get("shipped", 0),
                        "cancelled": line.get("cancelled", 0),
                    }
                    for line in payload["lines"]
                ],
                "tracking": Tracking(company=payload["carrier"], number="1Z999")
                if payload.get("carrier")
                else None,
            }
        )

    @hookimpl
    def affluent_map_status(self, order: OrderView, status: OrderStatus) -> PlatformUpdate:
        return PlatformUpdate(
            order_ref=order.order_ref, kind="status", body={"status": status.value}
        )

    @hookimpl
    def affluent_map_checkout(self, summary: CheckoutSummary) -> PlatformUpdate:
        return PlatformUpdate(
            order_ref=summary.order_ref,
            kind="checkout",
            body={
                "tax": str(summary.total_tax),
                "total": str(summary.total_amount),
                "entity": summary.selling_entity.id if summary.selling_entity else None,
                "final": summary.final,
            },
        )


class DictFake:
    """The platform fake of the dict platform: its writes are the recording client's."""

    def __init__(self, client: RecordingClient) -> None:
        self.client = client
        self.app = Starlette()

    def client_config(self, base_url: str) -> Mapping[str, Any]:
        return {"base_url": base_url}

    def checkout_payload(self, cart: DemoCart) -> Mapping[str, Any]:
        lines = [
            {"id": ref, "sku": sku, "qty": qty, "price": str(price)}
            for ref, sku, qty, price in cart.lines
        ]
        return {
            "ref": cart.order_ref,
            "currency": cart.currency,
            "email": cart.email,
            "customer": cart.customer_id,
            "country": cart.country,
            "lines": lines,
        }

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> Mapping[str, Any]:
        return {"ref": order_ref, "source": source_id, "save": save}

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Sequence[tuple[str, int, int]],
        tracking: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        lines = [
            {"id": ref, "shipped": shipped, "cancelled": cancelled}
            for ref, shipped, cancelled in changes
        ]
        return {
            "ref": order_ref,
            "event": change_ref,
            "lines": lines,
            "carrier": (tracking or {}).get("company"),
        }

    def platform_status(self, order_ref: str) -> str:
        statuses = self.client.statuses(order_ref)
        return statuses[-1] if statuses else "(none)"


class DictPlatformWithFake(DictPlatform):
    """The dict platform plus its fake, for the demo's tests."""

    @hookimpl
    def affluent_platform_fake(self) -> DictFake:
        return DictFake(self.client)
