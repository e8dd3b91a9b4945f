"""affluent statuses and DR checkout totals -> writes in Shopify's own vocabulary.

A :class:`~affluent.models.PlatformUpdate` body here is a Shopify-shaped plan the Admin client
carries out (see :mod:`affluent_shopify_like.admin_client`)::

    {
      "order": {"id": "450789469", "financial_status": "authorized", ...},   # PUT orders/{id}
      "tags": {"dr-state:": "dr-state:accepted", ...},   # each tag family replaced by one tag
      "cancel": {"reason": "fraud"},                       # POST orders/{id}/cancel (optional)
    }

A reference that is a checkout token (config ``checkout_token_pattern``; by default anything
that is not all digits) gets a plan with ``"checkout"`` instead of ``"order"``, and is never
cancelled.

Status words: ``financial_status`` ``pending`` (awaiting payment, in review), ``authorized``
(ready to fulfill, nothing shipped), ``partially_paid`` (ready to fulfill, some units shipped and
so captured), ``paid`` (fulfilled, complete), ``voided`` (blocked, payment failed, cancelled),
``refunded`` / ``partially_refunded`` (returned); a dispute leaves it alone and only tags.
``fulfillment_status`` follows the line ledger: ``null``, ``partial`` or ``fulfilled``. Blocked
orders are cancelled with ``cancel_reason`` ``fraud``, failed payments with ``declined``;
orders cancelled line by line were cancelled by the store itself and are not cancelled again.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from affluent.currencies import CURRENCY_DECIMALS, quantize
from affluent.lifecycle import OrderStatus
from affluent.models import CheckoutSummary, OrderView, PlatformUpdate
from affluent_shopify_like.config import ShopifyConfig

TAG_MAX = 40
"""Shopify refuses tags longer than 40 characters; longer values go to metafields only."""

_CANCEL_REASONS = {OrderStatus.blocked: "fraud", OrderStatus.payment_failed: "declined"}
_PENDING = {OrderStatus.awaiting_payment, OrderStatus.in_review}
_VOIDED = {OrderStatus.blocked, OrderStatus.payment_failed, OrderStatus.cancelled}


def envelope(order_ref: str, config: ShopifyConfig) -> str:
    """``order`` for a Shopify order id, ``checkout`` for a checkout token."""
    return "checkout" if config.is_checkout_token(order_ref) else "order"


def financial_status(status: OrderStatus, order: OrderView) -> str | None:
    shipped = sum(line.fulfilled for line in order.lines)
    returned = sum(line.returned for line in order.lines)
    if status in _PENDING:
        return "pending"
    if status in _VOIDED:
        return "voided"
    if status is OrderStatus.ready_to_fulfill:
        return "partially_paid" if shipped else "authorized"
    if status in (OrderStatus.fulfilled, OrderStatus.complete):
        return "paid" if shipped else "voided"
    if status is OrderStatus.returned:
        return "refunded" if returned >= shipped else "partially_refunded"
    return None  # disputed: Shopify has no word for it; the tag says so


def fulfillment_status(order: OrderView) -> str | None:
    shipped = sum(line.fulfilled for line in order.lines)
    shippable = sum(line.ordered - line.cancelled for line in order.lines)
    if shipped == 0:
        return None
    return "fulfilled" if shipped >= shippable else "partial"


def status_update(order: OrderView, status: OrderStatus, config: ShopifyConfig) -> PlatformUpdate:
    key = envelope(order.order_ref, config)
    fields: dict[str, Any] = {"id": order.order_ref}
    if key == "order":
        financial = financial_status(status, order)
        if financial is not None:
            fields["financial_status"] = financial
        fields["fulfillment_status"] = fulfillment_status(order)
    entity = order.selling_entity
    values = {
        "status": status.value,
        "state": order.dr_state,
        "order_id": order.dr_order_id,
        "checkout_id": order.dr_checkout_id,
        "customer_id": order.dr_customer_id,
        "selling_entity_id": entity.id if entity else None,
        "selling_entity_name": entity.name if entity else None,
        "shopper_message": order.shopper_message,
    }
    if config.write_metafields:
        fields["metafields"] = _metafields(values, config)
    body: dict[str, Any] = {key: fields}
    if config.write_tags:
        body["tags"] = _tags(
            {
                "status": status.value,
                "state": order.dr_state,
                "order": order.dr_order_id,
                "entity": entity.id if entity else None,
            },
            config,
        )
    reason = _CANCEL_REASONS.get(status)
    if reason is not None and key == "order":
        body["cancel"] = {"reason": reason}
    return PlatformUpdate(order_ref=order.order_ref, kind="status", body=body)


def checkout_update(summary: CheckoutSummary, config: ShopifyConfig) -> PlatformUpdate:
    """DR's tax lines, totals and selling entity on the Shopify order (or checkout)."""
    currency = summary.currency
    digits = CURRENCY_DECIMALS.get(currency)

    def amount(value: Decimal) -> str:
        return str(quantize(value, currency)) if digits is not None else str(value)

    line_taxes = []
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in summary.lines:
        by_rate[line.tax_rate] += line.tax
        line_taxes.append(
            {
                "id": line.line_ref,
                "tax_lines": [_tax_line(config.tax_title, amount(line.tax), line.tax_rate)],
            }
        )
    tax_lines = [
        _tax_line(config.tax_title, amount(tax), rate)
        for rate, tax in sorted(by_rate.items())
        if tax
    ]
    rest = summary.total_tax - sum(by_rate.values(), Decimal(0))
    if rest > 0:
        rate = rest / summary.total_shipping if summary.total_shipping else Decimal(0)
        tax_lines.append(_tax_line(f"{config.tax_title} (shipping and fees)", amount(rest), rate))
    key = envelope(summary.order_ref, config)
    fields: dict[str, Any] = {
        "id": summary.order_ref,
        "currency": currency,
        "subtotal_price": amount(summary.subtotal - summary.total_shipping),
        "total_discounts": amount(summary.total_discount),
        "total_shipping_price": amount(summary.total_shipping),
        "total_tax": amount(summary.total_tax),
        "total_price": amount(summary.total_amount),
        "tax_lines": tax_lines,
        "line_items": line_taxes,
    }
    entity = summary.selling_entity
    if config.write_metafields:
        fields["metafields"] = _metafields(
            {
                "checkout_id": summary.checkout_id,
                "selling_entity_id": entity.id if entity else None,
                "selling_entity_name": entity.name if entity else None,
                "tax_final": "true" if summary.final else "false",
            },
            config,
        )
    body: dict[str, Any] = {key: fields}
    if config.write_tags and entity is not None:
        body["tags"] = _tags({"entity": entity.id}, config)
    return PlatformUpdate(order_ref=summary.order_ref, kind="checkout", body=body)


def _tax_line(title: str, price: str, rate: Decimal) -> dict[str, Any]:
    return {"title": title, "price": price, "rate": float(round(rate, 6))}


def _metafields(values: dict[str, str | None], config: ShopifyConfig) -> list[dict[str, str]]:
    return [
        {
            "namespace": config.metafield_namespace,
            "key": key,
            "value": value,
            "type": "multi_line_text_field"
            if key == "shopper_message"
            else "single_line_text_field",
        }
        for key, value in values.items()
        if value
    ]


def _tags(values: dict[str, str | None], config: ShopifyConfig) -> dict[str, str | None]:
    """Tag family (``dr-state:``) -> the one tag of that family to keep (``None``: remove it)."""
    tags: dict[str, str | None] = {}
    for family, value in values.items():
        prefix = f"{config.tag_prefix}{family}:"
        tag = f"{prefix}{value}" if value else None
        tags[prefix] = tag if tag is None or len(tag) <= TAG_MAX else None
    return tags
