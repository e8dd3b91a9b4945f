"""The state of the Shopify-like platform fake: orders and checkouts, as Shopify JSON.

The store changes line-level state itself when it ships (a fulfillment) or cancels (a refund
with ``restock_type: cancel``, or cancelling the order), the way Shopify does. Order-level
``financial_status``, ``fulfillment_status``, tags, metafields and tax lines change only when
the adapter writes them through the Admin API, so tests can assert exactly what it wrote.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from affluent.models import DemoCart

_ADDRESSES: dict[str, dict[str, str]] = {
    "US": {
        "address1": "Chestnut Street 92",
        "city": "Louisville",
        "province": "Kentucky",
        "province_code": "KY",
        "zip": "40202",
        "country": "United States",
    },
    "CA": {
        "address1": "150 Elgin Street",
        "city": "Ottawa",
        "province": "Ontario",
        "province_code": "ON",
        "zip": "K2P 1L4",
        "country": "Canada",
    },
    "GB": {
        "address1": "10 Downing Street",
        "city": "London",
        "zip": "SW1A 2AA",
        "country": "United Kingdom",
    },
    "DE": {
        "address1": "Unter den Linden 1",
        "city": "Berlin",
        "zip": "10117",
        "country": "Germany",
    },
    "FR": {"address1": "1 Rue de Rivoli", "city": "Paris", "zip": "75001", "country": "France"},
}
_EPOCH = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def shopify_id(ref: str) -> int | str:
    """Shopify ids are integers; refs that are not digits stay strings."""
    return int(ref) if ref.isdigit() else ref


class FakeStore:
    """Orders (by id) and checkouts (by token), guarded by one lock (uvicorn runs in a thread)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.checkouts: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(9_000_000_001)
        self._ticks = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> str:
        """A strictly increasing timestamp, so "most recent" is well defined in tests."""
        return (_EPOCH + timedelta(seconds=next(self._ticks))).isoformat()

    # -- creating -------------------------------------------------------------------------------

    def add(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Hold a Shopify order (it has an ``id``) or checkout (a ``token``); return a copy."""
        body = copy.deepcopy(dict(resource.get("order") or resource.get("checkout") or resource))
        if "order" in resource or "checkout" in resource:
            is_order = "order" in resource
        else:
            markers = ("financial_status", "order_number", "checkout_token")
            is_order = any(marker in body for marker in markers) or "token" not in body
        with self.lock:
            if is_order:
                body.setdefault("fulfillments", [])
                body.setdefault("refunds", [])
                body.setdefault("tags", "")
                body.setdefault("metafields", [])
                self.orders[str(body["id"])] = body
            else:
                self.checkouts[str(body["token"])] = body
            return copy.deepcopy(body)

    def render(self, cart: DemoCart, *, as_checkout: bool = False) -> dict[str, Any]:
        """A DemoCart as a Shopify order (id = its ref) or checkout (token = its ref), held here."""
        address = _ADDRESSES.get(
            cart.country,
            {
                "address1": "1 Main Street",
                "city": "Capital",
                "zip": "1000",
                "country": cart.country,
            },
        )
        first, _, last = cart.name.partition(" ")
        contact = {
            **address,
            "address2": "",
            "first_name": first,
            "last_name": last or None,
            "name": cart.name,
            "phone": "555-625-1199",
            "company": None,
            "country_code": cart.country,
        }
        lines: list[dict[str, Any]] = [
            {
                "id": shopify_id(line_ref),
                "variant_id": self.next_id(),
                "sku": sku,
                "title": sku,
                "name": sku,
                "quantity": quantity,
                "price": str(price),
                "requires_shipping": True,
                "taxable": True,
                "discount_allocations": [],
                "fulfillment_status": None,
                "fulfillable_quantity": quantity,
            }
            for line_ref, sku, quantity, price in cart.lines
        ]
        subtotal = sum((Decimal(str(price)) * qty for _, _, qty, price in cart.lines), Decimal(0))
        body: dict[str, Any] = {
            "email": cart.email,
            "currency": cart.currency,
            "taxes_included": False,
            "browser_ip": "203.0.113.7",
            "line_items": lines,
            "shipping_address": contact,
            "billing_address": dict(contact),
            "shipping_lines": [
                {
                    "code": "standard",
                    "title": "Standard",
                    "price": "0.00",
                    "discount_allocations": [],
                }
            ],
            "subtotal_price": str(subtotal),
            "total_discounts": "0.00",
            "created_at": self.now(),
        }
        if cart.customer_id:
            body["customer"] = {
                "id": shopify_id(cart.customer_id),
                "email": cart.email,
                "first_name": first,
                "last_name": last or None,
                "state": "enabled",
            }
        if not as_checkout:
            body.update(
                id=shopify_id(cart.order_ref),
                name=f"#{cart.order_ref}",
                order_number=next(self._ticks),
                financial_status="pending",
                fulfillment_status=None,
                checkout_token=None,
                cancelled_at=None,
                cancel_reason=None,
            )
            return {"order": self.add({"order": body})}
        body["token"] = cart.order_ref
        return {"checkout": self.add({"checkout": body})}

    # -- reading --------------------------------------------------------------------------------

    def find(self, ref: str) -> dict[str, Any] | None:
        with self.lock:
            return self.orders.get(ref) or self.checkouts.get(ref)

    def get(self, ref: str) -> dict[str, Any]:
        """A copy of the order or checkout ``ref``; KeyError if the store has none."""
        found = self.find(ref)
        if found is None:
            raise KeyError(f"the fake store has no order or checkout {ref!r}")
        with self.lock:
            return copy.deepcopy(found)

    # -- line-level events ----------------------------------------------------------------------

    def fulfill(
        self,
        ref: str,
        lines: Sequence[tuple[str, int]],
        *,
        tracking: Mapping[str, str] | None = None,
        status: str = "success",
        fulfillment_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Ship units of lines; the fulfillment as Shopify's webhook body."""
        with self.lock:
            order = self._order(ref)
            tracking = tracking or {}
            number, url = tracking.get("number"), tracking.get("url")
            when = self.now()
            fulfillment = {
                "id": fulfillment_id if fulfillment_id is not None else self.next_id(),
                "order_id": order["id"],
                "status": status,
                "service": "manual",
                "created_at": when,
                "updated_at": when,
                "tracking_company": tracking.get("company"),
                "tracking_number": number,
                "tracking_numbers": [number] if number else [],
                "tracking_url": url,
                "tracking_urls": [url] if url else [],
                "line_items": [self._line_copy(order, line, units) for line, units in lines],
            }
            self._replace(order["fulfillments"], fulfillment)
            if status == "success":
                self._adjust(order, lines, "fulfilled")
            return copy.deepcopy(fulfillment)

    def update_fulfillment(
        self, ref: str, fulfillment_id: int | str, status: str
    ) -> dict[str, Any]:
        """Change a fulfillment's status (e.g. ``pending`` -> ``success``); the new body."""
        with self.lock:
            order = self._order(ref)
            for fulfillment in order["fulfillments"]:
                if str(fulfillment["id"]) == str(fulfillment_id):
                    was = fulfillment["status"]
                    fulfillment["status"] = status
                    fulfillment["updated_at"] = self.now()
                    if status == "success" and was != "success":
                        lines = [(str(i["id"]), i["quantity"]) for i in fulfillment["line_items"]]
                        self._adjust(order, lines, "fulfilled")
                    return copy.deepcopy(fulfillment)
            raise KeyError(f"order {ref!r} has no fulfillment {fulfillment_id!r}")

    def refund(
        self,
        ref: str,
        lines: Sequence[tuple[str, int]],
        *,
        restock_type: str = "cancel",
        refund_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Refund (and with ``cancel``, remove from fulfillment) units of lines."""
        with self.lock:
            order = self._order(ref)
            refund = {
                "id": refund_id if refund_id is not None else self.next_id(),
                "order_id": order["id"],
                "created_at": self.now(),
                "restock": restock_type != "no_restock",
                "refund_line_items": [
                    {
                        "id": self.next_id(),
                        "line_item_id": shopify_id(str(line)),
                        "quantity": units,
                        "restock_type": restock_type,
                        "line_item": self._line_copy(order, line, None),
                    }
                    for line, units in lines
                ],
                "transactions": [],
                "order_adjustments": [],
            }
            self._replace(order["refunds"], refund)
            if restock_type == "cancel":
                self._adjust(order, lines, "cancelled")
            return copy.deepcopy(refund)

    def cancel(self, ref: str, reason: str = "customer") -> dict[str, Any]:
        """The merchant cancels the order; the order as ``orders/cancelled`` sends it."""
        with self.lock:
            order = self._order(ref)
            if not order.get("cancelled_at"):
                order["cancelled_at"] = self.now()
                order["cancel_reason"] = reason
                order["updated_at"] = order["cancelled_at"]
                for line in order["line_items"]:
                    line["fulfillable_quantity"] = 0
            return copy.deepcopy(order)

    # -- helpers --------------------------------------------------------------------------------

    def _order(self, ref: str) -> dict[str, Any]:
        order = self.orders.get(ref)
        if order is None:
            checkout = self.checkouts.get(ref)
            if checkout is None:
                raise KeyError(f"the fake store has no order {ref!r}")
            order = checkout  # a checkout-token reference: events are filed on the checkout
            order.setdefault("id", ref)
            order.setdefault("fulfillments", [])
            order.setdefault("refunds", [])
        return order

    @staticmethod
    def _replace(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
        for index, existing in enumerate(items):
            if str(existing["id"]) == str(item["id"]):
                items[index] = item
                return
        items.append(item)

    @staticmethod
    def _line_copy(order: Mapping[str, Any], line_id: str, units: int | None) -> dict[str, Any]:
        for line in order.get("line_items", []):
            if str(line["id"]) == str(line_id):
                found: dict[str, Any] = copy.deepcopy(line)
                if units is not None:
                    found["quantity"] = units
                return found
        return {"id": shopify_id(str(line_id)), "quantity": units or 0}

    @staticmethod
    def _adjust(order: dict[str, Any], lines: Sequence[tuple[str, int]], what: str) -> None:
        for line_id, units in lines:
            for line in order.get("line_items", []):
                if str(line["id"]) != str(line_id):
                    continue
                line["fulfillable_quantity"] = max(0, line.get("fulfillable_quantity", 0) - units)
                if what == "fulfilled":
                    done = line.get("fulfilled_quantity", 0) + units
                    line["fulfilled_quantity"] = done
                    line["fulfillment_status"] = (
                        "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
                    )
