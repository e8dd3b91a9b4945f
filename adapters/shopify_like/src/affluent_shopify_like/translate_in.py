"""Shopify orders, checkouts, carts and customers -> canonical shopper, cart and payment hand-off.

Which Shopify object a payload is:

- ``{"order": {...}}`` or a bare order (it has ``financial_status``, ``order_number`` or
  ``checkout_token``): ``order_ref`` is the order ``id``;
- ``{"checkout": {...}}``, ``{"cart": {...}}`` or any other bare object with ``line_items``:
  ``order_ref`` is its ``token`` (no order exists yet);
- ``{"customer": {...}}``: a shopper only.

The order ref becomes the DR checkout's ``upstreamId``; Shopify line ids become ``line_ref``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from affluent.currencies import CURRENCY_DECIMALS
from affluent.errors import InvalidInput
from affluent.models import (
    Address,
    Cart,
    CartLine,
    Contact,
    PaymentHandoff,
    Product,
    ShippingOption,
    Shopper,
    ShopperKind,
)
from affluent_shopify_like import fields as f
from affluent_shopify_like.canonical import build
from affluent_shopify_like.config import ShopifyConfig

_ORDER_MARKERS = ("financial_status", "order_number", "checkout_token")
_PER_UNIT = Decimal("0.0001")
"""Precision of per-unit discounts (the canonical ``Money`` type keeps four places)."""
_LOCALE = re.compile(r"^([a-z]{2})[-_]([A-Za-z]{2})$")


def resource(payload: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Name the Shopify object in ``payload``: ``order``, ``checkout``, ``cart`` or ``customer``."""
    key, body = f.unwrap(payload)
    if key in ("fulfillment", "refund"):
        raise InvalidInput(key, f"a {key} is a line-item event, not a cart or order")
    if key is not None:
        return key, body
    if any(marker in body for marker in _ORDER_MARKERS):
        return "order", body
    if "line_items" in body:
        return "checkout", body
    raise InvalidInput(
        "line_items", "required: expected a Shopify order, checkout or cart with line items"
    )


def order_ref_of(kind: str, body: Mapping[str, Any]) -> str:
    """The order id of an order; the token of a checkout or cart."""
    if kind == "order":
        return f.ref(body.get("id"), "id")
    return f.ref(body.get("token"), "token")


# -- shopper ------------------------------------------------------------------------------------


def shopper(payload: Mapping[str, Any], config: ShopifyConfig) -> Shopper:
    """Registered if the payload names a Shopify customer with an account, else a guest."""
    kind, body = resource(payload)
    if kind == "customer":
        customer, field, email = body, "customer", None
    else:
        customer = f.mapping(body.get("customer") or {}, "customer")
        field = "customer"
        email = f.text(body.get("email"), "email") or f.text(
            body.get("contact_email"), "contact_email"
        )
    locale = _locale(body.get("customer_locale"))
    customer_email = f.text(customer.get("email"), f"{field}.email")
    name = _join(
        f.text(customer.get("first_name"), f"{field}.first_name"),
        f.text(customer.get("last_name"), f"{field}.last_name"),
    )
    customer_id = f.text(customer.get("id"), f"{field}.id")
    state = f.text(customer.get("state"), f"{field}.state")
    if kind == "customer" and customer_id is None:
        raise InvalidInput("customer.id", "required")
    if customer_id is None or state in config.guest_customer_states:
        return build(
            Shopper,
            field,
            kind=ShopperKind.guest,
            email=email or customer_email,
            name=name,
            locale=locale,
        )
    dr_id = f"{config.customer_id_prefix}{customer_id}"
    if len(dr_id) > 40:
        raise InvalidInput(f"{field}.id", f"derived DR customer id {dr_id!r} exceeds 40 characters")
    return build(
        Shopper,
        field,
        kind=ShopperKind.registered,
        customer_id=dr_id,
        email=customer_email or email,
        name=name,
        locale=locale,
    )


def _locale(value: Any) -> str | None:
    """``en-US`` / ``en_US`` -> DR's ``en_US``; a bare language (``en``) is left to DR's default."""
    raw = f.text(value, "customer_locale")
    match = _LOCALE.match(raw or "")
    return f"{match.group(1)}_{match.group(2).upper()}" if match else None


def _join(*parts: str | None) -> str | None:
    joined = " ".join(part for part in parts if part)
    return joined or None


# -- cart ---------------------------------------------------------------------------------------


def cart(payload: Mapping[str, Any], config: ShopifyConfig) -> Cart:
    """The canonical cart of a Shopify order, checkout or cart."""
    kind, body = resource(payload)
    if kind == "customer":
        raise InvalidInput("line_items", "a customer has no line items; send the order or cart")
    order_ref = order_ref_of(kind, body)
    currency = _currency(body, config)
    raw_lines = f.items(body.get("line_items"), "line_items")
    if not raw_lines:
        raise InvalidInput("line_items", f"{kind} {order_ref} has no line items")
    discounts = _line_discounts(body, raw_lines, currency)
    lines = [
        _line(line, f"line_items[{index}]", discounts[index], config)
        for index, line in enumerate(raw_lines)
    ]
    email = f.text(body.get("email"), "email") or f.text(body.get("contact_email"), "contact_email")
    client = f.mapping(body.get("client_details") or {}, "client_details")
    browser_ip = f.text(body.get("browser_ip"), "browser_ip") or f.text(
        client.get("browser_ip"), "client_details.browser_ip"
    )
    metadata: dict[str, str | int | bool] = (
        {"shopifyOrderId": order_ref} if kind == "order" else {"shopifyToken": order_ref}
    )
    name = f.text(body.get("name"), "name")
    if kind == "order" and name:
        metadata["shopifyOrderName"] = name
    return build(
        Cart,
        "",
        order_ref=order_ref,
        currency=currency,
        lines=lines,
        email=email,
        ship_to=contact(body.get("shipping_address"), "shipping_address", email),
        bill_to=contact(body.get("billing_address"), "billing_address", email),
        ship_from=config.ship_from,
        shipping=_shipping(body, config),
        browser_ip=browser_ip,
        locale=_locale(body.get("customer_locale")),
        tax_inclusive=f.flag(body.get("taxes_included"), "taxes_included", default=False),
        metadata=metadata,
    )


def _currency(body: Mapping[str, Any], config: ShopifyConfig) -> str:
    code = f.text(body.get("currency"), "currency") or config.default_currency
    if code is None:
        raise InvalidInput(
            "currency", "required: the payload names none and config default_currency is unset"
        )
    code = code.upper()
    if code not in CURRENCY_DECIMALS:
        raise InvalidInput("currency", f"unknown currency code {code!r}")
    return code


def _line(
    line: Mapping[str, Any], field: str, discount: Decimal, config: ShopifyConfig
) -> CartLine:
    line_ref = f.text(line.get("id"), f"{field}.id") or f.text(line.get("key"), f"{field}.key")
    if line_ref is None:
        raise InvalidInput(f"{field}.id", "required: the line id is kept for the ledger")
    quantity = f.quantity(line.get("quantity"), f"{field}.quantity")
    price = f.money(line.get("price"), f"{field}.price")
    sku = f.text(line.get("sku"), f"{field}.sku")
    variant = f.text(line.get("variant_id"), f"{field}.variant_id")
    physical = f.flag(line.get("requires_shipping"), f"{field}.requires_shipping", default=True)
    taxable = f.flag(line.get("taxable"), f"{field}.taxable", default=True)
    metadata: dict[str, str | int | bool] = {}
    if variant:
        metadata["shopifyVariantId"] = variant
    if sku:
        metadata["shopifySku"] = sku
    if not taxable:
        metadata["shopifyTaxable"] = False
    values: dict[str, Any] = {}
    match config.sku_source:
        case "sku":
            if sku is None:
                raise InvalidInput(
                    f"{field}.sku",
                    "empty, but DR skuId is taken from the Shopify sku "
                    "(config sku_source); give the variant a SKU or use variant_id",
                )
            values["sku_id"] = sku
        case "variant_id":
            if variant is None:
                raise InvalidInput(
                    f"{field}.variant_id",
                    "required: DR skuId is taken from the variant id (config sku_source)",
                )
            values["sku_id"] = variant
        case "product_details":
            values["product"] = _product(line, field, variant or sku or line_ref)
    per_unit = (discount / quantity).quantize(_PER_UNIT, rounding=ROUND_HALF_UP)
    return build(
        CartLine,
        field,
        line_ref=line_ref,
        quantity=quantity,
        unit_price=price,
        discount_per_unit=per_unit,
        physical=physical,
        metadata=metadata,
        **values,
    )


def _product(line: Mapping[str, Any], field: str, product_id: str) -> Product:
    title = f.text(line.get("title"), f"{field}.title")
    name = f.text(line.get("name"), f"{field}.name") or _join(
        title, f.text(line.get("variant_title"), f"{field}.variant_title")
    )
    if name is None:
        raise InvalidInput(f"{field}.title", "required for productDetails (config sku_source)")
    grams = line.get("grams")
    weight = None
    if grams:
        weight = Decimal(f.quantity(grams, f"{field}.grams"))
    return build(
        Product,
        f"{field}.product",
        id=product_id,
        name=name,
        weight=weight,
        weight_unit="g" if weight else None,
    )


def _allocated(raw: Mapping[str, Any], field: str) -> Decimal:
    allocations = f.items(raw.get("discount_allocations"), f"{field}.discount_allocations")
    return sum(
        (
            f.money(allocation.get("amount"), f"{field}.discount_allocations[{index}].amount")
            for index, allocation in enumerate(allocations)
        ),
        Decimal(0),
    )


def _line_discounts(
    body: Mapping[str, Any], lines: list[Mapping[str, Any]], currency: str
) -> list[Decimal]:
    """Each line's discount: Shopify's own allocations, else the order's discount prorated.

    Shopify allocates every discount (line-level and order-level) to lines in
    ``discount_allocations``. Payloads without allocations but with a positive
    ``total_discounts`` get it spread over the lines by value, to the currency's minor unit,
    the last units going to the largest remainders.
    """
    allocated = [_allocated(line, f"line_items[{index}]") for index, line in enumerate(lines)]
    if any(allocated):
        return allocated
    total = f.money(body.get("total_discounts"), "total_discounts", required=False)
    if not total:
        return allocated
    values = [
        f.money(line.get("price"), f"line_items[{index}].price")
        * f.quantity(line.get("quantity"), f"line_items[{index}].quantity")
        for index, line in enumerate(lines)
    ]
    subtotal = sum(values, Decimal(0))
    if total > subtotal:
        raise InvalidInput(
            "total_discounts", f"{total} is larger than the line items' total {subtotal}"
        )
    unit = Decimal(1).scaleb(-CURRENCY_DECIMALS[currency])
    shares = [(total * value / subtotal) for value in values]
    floors = [share.quantize(unit, rounding=ROUND_DOWN) for share in shares]
    left = int((total - sum(floors, Decimal(0))) / unit)
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - floors[i], reverse=True)
    for index in by_remainder[:left]:
        floors[index] += unit
    return floors


def _shipping(body: Mapping[str, Any], config: ShopifyConfig) -> ShippingOption | None:
    lines = f.items(body.get("shipping_lines"), "shipping_lines")
    field = "shipping_lines"
    if not lines and body.get("shipping_line"):
        lines, field = [f.mapping(body["shipping_line"], "shipping_line")], "shipping_line"
    if not lines:
        return None
    amount = Decimal(0)
    titles: list[str] = []
    level = None
    for index, line in enumerate(lines):
        where = f"{field}[{index}]" if field == "shipping_lines" else field
        price = f.money(line.get("price"), f"{where}.price")
        discount = _allocated(line, where)
        if discount > price:
            raise InvalidInput(f"{where}.discount_allocations", "larger than the shipping price")
        amount += price - discount
        title = f.text(line.get("title"), f"{where}.title")
        if title:
            titles.append(title)
        code = f.text(line.get("code"), f"{where}.code")
        if level is None and code is not None:
            level = config.shipping_service_levels.get(code)
    return build(
        ShippingOption,
        field,
        amount=amount,
        description=", ".join(titles) or None,
        service_level=level,
    )


def contact(value: Any, field: str, email: str | None) -> Contact | None:
    if value is None:
        return None
    raw = f.mapping(value, field)
    if not any(raw.get(key) for key in ("address1", "city", "zip", "country_code", "country")):
        return None
    country = f.text(raw.get("country_code"), f"{field}.country_code")
    if country is None:
        raise InvalidInput(f"{field}.country_code", "required (ISO 3166-1 alpha-2)")
    address = build(
        Address,
        field,
        line1=f.text(raw.get("address1"), f"{field}.address1"),
        line2=f.text(raw.get("address2"), f"{field}.address2"),
        city=f.text(raw.get("city"), f"{field}.city"),
        postal_code=f.text(raw.get("zip"), f"{field}.zip"),
        state=f.text(raw.get("province_code"), f"{field}.province_code"),
        country=country.upper(),
    )
    name = f.text(raw.get("name"), f"{field}.name") or _join(
        f.text(raw.get("first_name"), f"{field}.first_name"),
        f.text(raw.get("last_name"), f"{field}.last_name"),
    )
    return build(
        Contact,
        field,
        name=name,
        email=email,
        phone=f.text(raw.get("phone"), f"{field}.phone"),
        organization=f.text(raw.get("company"), f"{field}.company"),
        address=address,
    )


# -- payment hand-off ---------------------------------------------------------------------------


def payment(payload: Mapping[str, Any], config: ShopifyConfig) -> PaymentHandoff:
    """The sourceId hand-off, which is not a Shopify webhook but a small JSON request.

    Shape: ``{"order_id": 450789469 | "checkout_token": "...", "dr_source_id": "...",
    "save_payment_method": false}``; the order id wins when both are given.
    """
    body = f.mapping(payload.get("payment", payload), "payment")
    order_id = f.text(body.get("order_id"), "order_id")
    token = f.text(body.get("checkout_token"), "checkout_token")
    order_ref = order_id or token
    if order_ref is None:
        raise InvalidInput("order_id", "required: name the order (order_id) or checkout_token")
    source_id = f.text(body.get("dr_source_id"), "dr_source_id")
    if source_id is None:
        raise InvalidInput("dr_source_id", "required: the source id Drop-in returned")
    save = f.flag(body.get("save_payment_method"), "save_payment_method", default=False)
    return build(PaymentHandoff, "", order_ref=order_ref, source_id=source_id, save=save)
