"""The two example platforms' own JSON: what their carts, events and writes look like.

Each :class:`Shape` renders platform-neutral test data (a :class:`~affluent.models.DemoCart`,
a payment hand-off, line changes) in its platform's words, and reads the writes the adapter
sends back. :mod:`affluent_generic_rest.testing` serves them over HTTP.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from affluent.currencies import CURRENCY_DECIMALS
from affluent.models import DemoCart, PlatformEventKind
from affluent_generic_rest.examples import FLAT_SHOP, NESTED_SHOP
from affluent_generic_rest.mapping import MappingFile, load_file

Changes = Sequence[tuple[str, int, int]]

_ADDRESSES: dict[str, dict[str, str]] = {
    "US": {"street": "10380 Bren Road West", "city": "Minnetonka", "zip": "55343", "region": "MN"},
    "CA": {"street": "100 King Street West", "city": "Toronto", "zip": "M5X 1A9", "region": "ON"},
    "GB": {"street": "10 Downing Street", "city": "London", "zip": "SW1A 2AA", "region": ""},
    "DE": {"street": "Unter den Linden 1", "city": "Berlin", "zip": "10117", "region": ""},
    "FR": {"street": "1 Rue de Rivoli", "city": "Paris", "zip": "75001", "region": ""},
}
_FALLBACK = {"street": "1 Main Street", "city": "Capital", "zip": "00000", "region": ""}


def _address(country: str) -> dict[str, str]:
    return _ADDRESSES.get(country, _FALLBACK)


def _minor(amount: Decimal, currency: str) -> int:
    return int((amount * 10 ** CURRENCY_DECIMALS[currency]).to_integral_value())


class Shape:
    """One example platform: its mapping file, payloads, topics and how it records writes."""

    key: str
    mapping_path: Path

    @property
    def mapping(self) -> MappingFile:
        return load_file(self.mapping_path)

    @property
    def name(self) -> str:
        return self.mapping.platform.name

    def checkout_payload(self, cart: DemoCart) -> dict[str, Any]:
        raise NotImplementedError

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> dict[str, Any]:
        raise NotImplementedError

    def submit_payload(self, order_ref: str) -> dict[str, Any]:
        raise NotImplementedError

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Changes,
        tracking: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def topic(self, kind: PlatformEventKind, payload: Mapping[str, Any]) -> str:
        """The topic the platform sends ``payload`` under."""
        raise NotImplementedError

    def envelope(self, topic: str, payload: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
        """Extra headers and the JSON body of a delivery (before signing)."""
        raise NotImplementedError

    def read_write(self, method: str, path: str, body: Any) -> tuple[str, str, Any] | None:
        """Classify a write: ``("status", order_ref, word)`` or ``("checkout", order_ref, body)``.

        ``path`` is relative to the mapping's base URL. ``None``: not an endpoint of this
        platform. ``ValueError``: the right endpoint, but a body it would reject.
        """
        raise NotImplementedError


class NestedShop(Shape):
    """Orders nest items under ``order.items[]``; amounts in cents; full country names."""

    key = "nested_shop"
    mapping_path = NESTED_SHOP
    _STATUS = re.compile(r"^/orders/(?P<ref>[^/]+)\.json$")
    _TAXES = re.compile(r"^/orders/(?P<ref>[^/]+)/taxes\.json$")

    def _country_name(self, code: str) -> str:
        names = {iso: name for name, iso in self.mapping.countries.items()}
        return names.get(code, code)

    def _address(self, cart: DemoCart) -> dict[str, Any]:
        where = _address(cart.country)
        street = [where["street"], "Suite 100"]
        return {
            "name": cart.name,
            "phone": "+1 555 0100",
            "street": street,
            "city": where["city"],
            "zip": where["zip"],
            "province_code": where["region"] or None,
            "country": self._country_name(cart.country),
        }

    def checkout_payload(self, cart: DemoCart) -> dict[str, Any]:
        first, _, last = cart.name.partition(" ")
        return {
            "order": {
                "id": cart.order_ref,
                "currency": cart.currency,
                "customer": {
                    "id": cart.customer_id,
                    "has_account": cart.customer_id is not None,
                    "email": cart.email,
                    "first_name": first,
                    "last_name": last or first,
                    "locale": "en_US",
                },
                "client_details": {"browser_ip": "198.51.100.7"},
                "shipping_address": self._address(cart),
                "billing_address": self._address(cart),
                "items": [
                    {
                        "id": line_ref,
                        "variant": {"sku": sku},
                        "quantity": quantity,
                        "price_cents": _minor(price, cart.currency),
                        "discount_cents": 0,
                    }
                    for line_ref, sku, quantity, price in cart.lines
                ],
                "shipping_line": {"title": "Standard", "price_cents": 0},
            }
        }

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> dict[str, Any]:
        return {"payment": {"order_id": order_ref, "source_id": source_id, "save_card": save}}

    def submit_payload(self, order_ref: str) -> dict[str, Any]:
        return {"order": {"id": order_ref}}

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Changes,
        tracking: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": change_ref, "order_id": order_ref}
        shipped = [{"id": ref, "quantity": n} for ref, n, _ in changes if n]
        cancelled = [{"id": ref, "quantity": n} for ref, _, n in changes if n]
        if shipped:
            fulfillment: dict[str, Any] = {"line_items": shipped}
            for key, value in (tracking or {}).items():
                fulfillment[f"tracking_{key}"] = value
            payload["fulfillment"] = fulfillment
        if cancelled:
            payload["cancellation"] = {"line_items": cancelled}
        return payload

    def topic(self, kind: PlatformEventKind, payload: Mapping[str, Any]) -> str:
        match kind:
            case PlatformEventKind.cart_ready:
                return "orders/ready"
            case PlatformEventKind.payment:
                return "payments/create"
            case PlatformEventKind.submit:
                return "orders/submit"
        if "fulfillment" in payload and "cancellation" in payload:
            return "orders/edited"
        return "fulfillments/create" if "fulfillment" in payload else "orders/lines_cancelled"

    def envelope(self, topic: str, payload: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
        headers = {"X-Nested-Topic": topic, "X-Nested-Webhook-Id": str(uuid.uuid4())}
        return headers, dict(payload)

    def read_write(self, method: str, path: str, body: Any) -> tuple[str, str, Any] | None:
        if (found := self._STATUS.match(path)) and method == "PUT":
            order = body.get("order") if isinstance(body, dict) else None
            if not isinstance(order, dict) or not isinstance(order.get("financial_status"), str):
                raise ValueError("expected {order: {financial_status: ...}}")
            return "status", found["ref"], order["financial_status"]
        if (found := self._TAXES.match(path)) and method == "POST":
            tax = body.get("tax") if isinstance(body, dict) else None
            if not isinstance(tax, dict) or not isinstance(tax.get("total_tax_cents"), int):
                raise ValueError("expected {tax: {total_tax_cents: <integer>, ...}}")
            return "checkout", found["ref"], tax
        return None


class FlatShop(Shape):
    """One flat record per order; decimal strings; ISO country codes; body-borne topics."""

    key = "flat_shop"
    mapping_path = FLAT_SHOP
    _ORDER = re.compile(r"^/orders/(?P<ref>[^/]+)$")
    _FAILURE = re.compile(r"^/orders/(?P<ref>[^/]+)/payment-failure$")

    def checkout_payload(self, cart: DemoCart) -> dict[str, Any]:
        where = _address(cart.country)
        return {
            "order_number": cart.order_ref,
            "currency_code": cart.currency.lower(),
            "email": cart.email,
            "customer_number": cart.customer_id,
            "customer_name": cart.name,
            "language": "en_US",
            "ip_address": "198.51.100.8",
            "prices_include_tax": "no",
            "ship_name": cart.name,
            "ship_street": where["street"],
            "ship_city": where["city"],
            "ship_postcode": where["zip"],
            "ship_region": where["region"] or None,
            "ship_country": cart.country,
            "bill_name": cart.name,
            "bill_street": where["street"],
            "bill_city": where["city"],
            "bill_postcode": where["zip"],
            "bill_country": cart.country,
            "origin_street": "Lagerstrasse 5",
            "origin_city": "Hamburg",
            "origin_postcode": "20095",
            "origin_country": "DE",
            "shipping_fee": "0.00",
            "shipping_method": "Standard",
            "lines": [
                {
                    "line_no": line_ref,
                    "sku": sku,
                    "qty": str(quantity),
                    "unit_price": str(price),
                    "unit_discount": "0.00",
                }
                for line_ref, sku, quantity, price in cart.lines
            ],
        }

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> dict[str, Any]:
        return {
            "order_number": order_ref,
            "dr_source_id": source_id,
            "save_payment": "yes" if save else "no",
        }

    def submit_payload(self, order_ref: str) -> dict[str, Any]:
        return {"order_number": order_ref}

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Changes,
        tracking: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "order_number": order_ref,
            "update_id": change_ref,
            "lines": [
                {"line_no": ref, "shipped_qty": str(shipped), "cancelled_qty": str(cancelled)}
                for ref, shipped, cancelled in changes
            ],
        }
        names = {"company": "carrier", "number": "tracking_no", "url": "tracking_link"}
        for key, value in (tracking or {}).items():
            payload[names.get(key, key)] = value
        return payload

    def topic(self, kind: PlatformEventKind, payload: Mapping[str, Any]) -> str:
        return {
            PlatformEventKind.cart_ready: "checkout.ready",
            PlatformEventKind.payment: "payment.handoff",
            PlatformEventKind.submit: "order.placed",
            PlatformEventKind.line_changes: "line_items.updated",
        }[kind]

    def envelope(self, topic: str, payload: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
        return {}, {"event_type": topic, "event_id": f"evt_{uuid.uuid4().hex}", "data": payload}

    def read_write(self, method: str, path: str, body: Any) -> tuple[str, str, Any] | None:
        if path == "/order-status" and method == "POST":
            if not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) for k in ("order_number", "state")
            ):
                raise ValueError("expected {order_number: ..., state: ...}")
            return "status", body["order_number"], body["state"]
        if (found := self._FAILURE.match(path)) and method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("state"), str):
                raise ValueError("expected {state: ..., shopper_message: ...}")
            return "status", found["ref"], body["state"]
        if (found := self._ORDER.match(path)) and method == "PATCH":
            if not isinstance(body, dict) or not isinstance(body.get("tax_total"), str):
                raise ValueError("expected {tax_total: <decimal string>, ...}")
            return "checkout", found["ref"], body
        return None


SHAPES: dict[str, Shape] = {shape.key: shape for shape in (NestedShop(), FlatShop())}
