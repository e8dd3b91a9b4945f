"""Pure translations between canonical models, Digital River JSON and stored rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from affluent.dr.models import Checkout
from affluent.flow.records import StoredOrder
from affluent.models import (
    Address,
    Cart,
    CheckoutSummary,
    Contact,
    LineTax,
    LineView,
    OrderView,
    SellingEntity,
    ShippingOption,
    Shopper,
    ShopperKind,
)

LINE_REF_KEY = "affluentLineRef"
"""Metadata key carrying the platform line id on each DR checkout item (DR copies it to orders)."""
CHANGE_REF_KEY = "affluentChangeRef"
"""Metadata key carrying the platform change id on each DR fulfillment, for look-ups."""


def _address(address: Address) -> dict[str, Any]:
    fields = {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postalCode": address.postal_code,
        "state": address.state,
        "country": address.country,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _contact(contact: Contact, email: str | None) -> dict[str, Any]:
    fields = {
        "name": contact.name,
        "email": contact.email or email,
        "phone": contact.phone,
        "organization": {"name": contact.organization} if contact.organization else None,
        "address": _address(contact.address),
    }
    return {key: value for key, value in fields.items() if value is not None}


def _shipping(option: ShippingOption) -> dict[str, Any]:
    fields = {
        "amount": option.amount,
        "description": option.description,
        "serviceLevel": option.service_level,
    }
    return {key: value for key, value in fields.items() if value is not None}


def checkout_request(cart: Cart, shopper: Shopper, customer_id: str | None) -> dict[str, Any]:
    """The ``POST /checkouts`` body for a cart (standard flow steps 13-14)."""
    email = cart.email or shopper.email
    items = []
    for line in cart.lines:
        item: dict[str, Any] = {
            "quantity": line.quantity,
            "price": line.unit_price,
            "metadata": {**line.metadata, LINE_REF_KEY: line.line_ref},
        }
        if line.sku_id is not None:
            item["skuId"] = line.sku_id
        elif line.product is not None:
            product = line.product
            details = {
                "id": product.id,
                "name": product.name,
                "description": product.description,
                "url": product.url,
                "image": product.image,
                "countryOfOrigin": product.country_of_origin,
                "weight": product.weight,
                "weightUnit": product.weight_unit,
            }
            item["productDetails"] = {k: v for k, v in details.items() if v is not None}
            item["productDetails"]["physical"] = line.physical
        if line.discount_per_unit:
            item["discount"] = {"amountOff": line.discount_per_unit}
        items.append(item)
    body: dict[str, Any] = {
        "currency": cart.currency,
        "upstreamId": cart.order_ref,
        "taxInclusive": cart.tax_inclusive,
        "items": items,
    }
    optional = {
        "customerId": customer_id,
        "email": email,
        "browserIp": cart.browser_ip,
        "locale": cart.locale or shopper.locale,
        "shipTo": _contact(cart.ship_to, email) if cart.ship_to else None,
        "billTo": _contact(cart.bill_to, email) if cart.bill_to else None,
        "shipFrom": {"address": _address(cart.ship_from)} if cart.ship_from else None,
        "shippingChoice": _shipping(cart.shipping) if cart.shipping else None,
        "metadata": dict(cart.metadata) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def customer_request(shopper: Shopper, cart: Cart) -> dict[str, Any]:
    """The ``POST /customers`` body for a registered shopper (steps 11-12)."""
    assert shopper.kind is ShopperKind.registered
    body: dict[str, Any] = {"id": shopper.customer_id, "email": shopper.email or cart.email}
    if shopper.locale:
        body["locale"] = shopper.locale
    return {key: value for key, value in body.items() if value is not None}


def fingerprint(cart: Cart, shopper: Shopper) -> str:
    """A stable hash of what the checkout was built from; a change means a new checkout."""
    data = json.dumps(
        [cart.model_dump(mode="json"), shopper.model_dump(mode="json")], sort_keys=True
    )
    return hashlib.sha256(data.encode()).hexdigest()


def event_order_id(event_type: str, obj: Mapping[str, Any]) -> str | None:
    """The DR order an event changes, or ``None`` when the flow has nothing to do with it.

    Order events carry the order (``data.object.id`` with a ``state``). ``order.charge.failed``
    carries a charge naming its ``orderId`` or, as the sandbox sends it, the order itself.
    """
    if event_type == "order.charge.failed":
        value = obj.get("orderId") or (obj.get("id") if obj.get("state") else None)
    elif event_type.startswith("order.") and not event_type.startswith("order.charge."):
        value = obj.get("id") if obj.get("state") else None
    else:
        value = None
    return str(value) if value else None


def line_ref_of(metadata: dict[str, Any] | None) -> str | None:
    value = (metadata or {}).get(LINE_REF_KEY)
    return str(value) if value is not None else None


def _dec(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(0)


def summarize(order_ref: str, checkout: Checkout, *, final: bool) -> CheckoutSummary:
    """What the platform order must show from a DR checkout (steps 15 and 29)."""
    lines = []
    for item in checkout.items or []:
        tax = item.tax
        lines.append(
            LineTax(
                line_ref=line_ref_of(item.metadata) or str(item.id),
                amount=_dec(item.amount),
                tax=_dec(tax.amount if tax else None),
                tax_rate=_dec(tax.rate if tax else None),
            )
        )
    entity = checkout.selling_entity
    return CheckoutSummary(
        order_ref=order_ref,
        checkout_id=str(checkout.id),
        currency=str(checkout.currency),
        subtotal=_dec(checkout.subtotal),
        total_tax=_dec(checkout.total_tax),
        total_shipping=_dec(checkout.total_shipping),
        total_discount=_dec(checkout.total_discount),
        total_amount=_dec(checkout.total_amount),
        selling_entity=(
            SellingEntity(id=entity.id, name=entity.name or "")
            if entity is not None and entity.id
            else None
        ),
        lines=lines,
        final=final,
    )


def view(order: StoredOrder) -> OrderView:
    """The read-only view of a stored order handed to hooks."""
    return OrderView(
        platform=order.platform,
        order_ref=order.order_ref,
        status=order.status,
        dr_state=order.dr_state,
        dr_order_id=order.dr_order_id,
        dr_checkout_id=order.dr_checkout_id,
        dr_customer_id=order.dr_customer_id,
        currency=order.currency,
        total_amount=order.total_amount,
        selling_entity=(
            SellingEntity(id=order.selling_entity_id, name=order.selling_entity_name or "")
            if order.selling_entity_id
            else None
        ),
        shopper_message=order.shopper_message,
        lines=[
            LineView(
                line_ref=line.line_ref,
                dr_item_id=line.dr_order_item_id,
                sku_id=line.sku_id,
                ordered=line.ordered,
                fulfilled=line.fulfilled,
                cancelled=line.cancelled,
                returned=line.returned,
            )
            for line in order.lines
        ],
    )
