"""Pure translations driven by the mapping: platform JSON <-> canonical models.

Every function raises :class:`~affluent_generic_rest.expressions.TranslationError` naming the
mapping key that could not be read; the hooks turn it into
:class:`~affluent.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from affluent.currencies import CURRENCY_DECIMALS
from affluent.lifecycle import OrderStatus
from affluent.models import (
    Address,
    Cart,
    CartLine,
    CheckoutSummary,
    Contact,
    LineChange,
    LineItemChanges,
    OrderView,
    PaymentHandoff,
    PlatformUpdate,
    Product,
    ShippingOption,
    Shopper,
    ShopperKind,
    Tracking,
)
from affluent_generic_rest import templates
from affluent_generic_rest.expressions import (
    Context,
    FieldSpec,
    TranslationError,
    as_flag,
    as_list,
    as_money,
    as_text,
    as_whole,
    countries_index,
    read,
    require,
)
from affluent_generic_rest.mapping import AddressMap, ContactMap, LineEvent, MappingFile, RequestMap

M = TypeVar("M", bound=BaseModel)


def _build(model: type[M], key: str, /, **values: Any) -> M:
    """Construct a canonical model; a validation error names ``key.<field>``."""
    try:
        return model(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        if ": " in message and not loc:
            field, _, message = message.partition(": ")
            loc = [field]
        at = f"{key}.{loc[0]}" if loc else key
        raise TranslationError(at, message) from None


def _text(spec: FieldSpec | None, data: Any, key: str, ctx: Context) -> str | None:
    value = read(spec, data, key, ctx)
    return None if value is None else as_text(value, key)


def _each(items: list[Any], read_item: Callable[[Any], Any]) -> list[Any]:
    """Apply ``read_item`` to every item; errors say which item when there are several."""
    out = []
    for index, item in enumerate(items):
        try:
            out.append(read_item(item))
        except TranslationError as exc:
            if len(items) > 1:
                raise TranslationError(
                    exc.key, f"{exc.problem} (item {index + 1} of {len(items)})"
                ) from None
            raise
    return out


# -- cart ---------------------------------------------------------------------------------------


def _context(mapping: MappingFile, currency: str | None = None) -> Context:
    return Context(countries=countries_index(mapping.countries), currency=currency)


def _currency(mapping: MappingFile, payload: Any) -> str:
    ctx = _context(mapping)
    code = as_text(require(mapping.cart.currency, payload, "cart.currency", ctx), "cart.currency")
    code = code.strip().upper()
    if code not in CURRENCY_DECIMALS:
        raise TranslationError("cart.currency", f"{code!r} is not an ISO 4217 currency code")
    return code


def shopper(mapping: MappingFile, payload: Mapping[str, Any]) -> Shopper:
    """Registered (with its DR customer id) or guest, per ``[cart.shopper]``."""
    spec = mapping.cart.shopper
    ctx = _context(mapping)
    key = "cart.shopper"
    customer_id = _text(spec.customer_id, payload, f"{key}.customer_id", ctx)
    if spec.registered is not None:
        registered = as_flag(
            require(spec.registered, payload, f"{key}.registered", ctx), f"{key}.registered"
        )
    else:
        registered = customer_id is not None
    if registered and customer_id is None:
        raise TranslationError(
            f"{key}.customer_id",
            "expression returned null for {payload}, but the shopper is registered",
        )
    email = _text(spec.email, payload, f"{key}.email", ctx) or _text(
        mapping.cart.email, payload, "cart.email", ctx
    )
    return _build(
        Shopper,
        key,
        kind=ShopperKind.registered if registered else ShopperKind.guest,
        customer_id=customer_id if registered else None,
        email=email,
        name=_text(spec.name, payload, f"{key}.name", ctx),
        locale=_text(spec.locale, payload, f"{key}.locale", ctx),
    )


_ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state")
_CONTACT_FIELDS = ("name", "email", "phone", "organization")


def _address(
    spec: AddressMap, payload: Any, key: str, ctx: Context, names: tuple[str, ...]
) -> tuple[Address, dict[str, str | None]] | None:
    texts = {name: _text(getattr(spec, name), payload, f"{key}.{name}", ctx) for name in names}
    country = read(spec.country, payload, f"{key}.country", ctx)
    if country is None:
        if any(value is not None for value in texts.values()):
            raise TranslationError(f"{key}.country", "expression returned null for {payload}")
        return None  # no such address in this payload
    fields = {k: texts[k] for k in _ADDRESS_FIELDS}
    address = _build(Address, key, country=as_text(country, f"{key}.country"), **fields)
    return address, texts


def _contact(spec: ContactMap | None, payload: Any, key: str, ctx: Context) -> Contact | None:
    if spec is None:
        return None
    found = _address(spec, payload, key, ctx, _ADDRESS_FIELDS + _CONTACT_FIELDS)
    if found is None:
        return None
    address, texts = found
    return _build(Contact, key, address=address, **{k: texts[k] for k in _CONTACT_FIELDS})


def _metadata(
    specs: Mapping[str, FieldSpec], data: Any, key: str, ctx: Context
) -> dict[str, str | int | bool]:
    out: dict[str, str | int | bool] = {}
    for name, spec in specs.items():
        value = read(spec, data, f"{key}.{name}", ctx)
        if value is None:
            continue
        if isinstance(value, str | bool | int):
            out[name] = value
        else:
            out[name] = as_text(value, f"{key}.{name}")
    return out


def _line(mapping: MappingFile, item: Any, ctx: Context) -> CartLine:
    spec = mapping.cart.lines
    key = "cart.lines"
    line_ref = as_text(require(spec.line_ref, item, f"{key}.line_ref", ctx), f"{key}.line_ref")
    sku_id = _text(spec.sku_id, item, f"{key}.sku_id", ctx)
    product = None
    if sku_id is None and spec.product is not None:
        pkey = f"{key}.product"
        p = spec.product
        product = _build(
            Product,
            pkey,
            id=as_text(require(p.id, item, f"{pkey}.id", ctx), f"{pkey}.id"),
            name=as_text(require(p.name, item, f"{pkey}.name", ctx), f"{pkey}.name"),
            description=_text(p.description, item, f"{pkey}.description", ctx),
            url=_text(p.url, item, f"{pkey}.url", ctx),
            image=_text(p.image, item, f"{pkey}.image", ctx),
            country_of_origin=_text(p.country_of_origin, item, f"{pkey}.country_of_origin", ctx),
        )
    elif sku_id is None:
        raise TranslationError(f"{key}.sku_id", "expression returned null for {payload}")
    discount = read(spec.discount_per_unit, item, f"{key}.discount_per_unit", ctx)
    physical = read(spec.physical, item, f"{key}.physical", ctx)
    return _build(
        CartLine,
        key,
        line_ref=line_ref,
        sku_id=sku_id,
        product=product,
        quantity=as_whole(require(spec.quantity, item, f"{key}.quantity", ctx), f"{key}.quantity"),
        unit_price=as_money(
            require(spec.unit_price, item, f"{key}.unit_price", ctx), f"{key}.unit_price"
        ),
        discount_per_unit=(
            as_money(discount, f"{key}.discount_per_unit") if discount is not None else None
        ),
        physical=as_flag(physical, f"{key}.physical") if physical is not None else None,
        metadata=_metadata(spec.metadata, item, f"{key}.metadata", ctx) or None,
    )


def cart(mapping: MappingFile, payload: Mapping[str, Any]) -> Cart:
    """The canonical cart per ``[cart]``."""
    spec = mapping.cart
    currency = _currency(mapping, payload)
    ctx = _context(mapping, currency)
    order_ref = as_text(require(spec.order_ref, payload, "cart.order_ref", ctx), "cart.order_ref")
    items = as_list(require(spec.lines.each, payload, "cart.lines.each", ctx), "cart.lines.each")
    if not items:
        raise TranslationError("cart.lines.each", "expression returned no line items for {payload}")
    lines = _each(items, lambda item: _line(mapping, item, ctx))
    shipping = None
    if spec.shipping is not None:
        amount = read(spec.shipping.amount, payload, "cart.shipping.amount", ctx)
        if amount is not None:
            shipping = _build(
                ShippingOption,
                "cart.shipping",
                amount=as_money(amount, "cart.shipping.amount"),
                description=_text(
                    spec.shipping.description, payload, "cart.shipping.description", ctx
                ),
                service_level=_text(
                    spec.shipping.service_level, payload, "cart.shipping.service_level", ctx
                ),
            )
    tax_inclusive = read(spec.tax_inclusive, payload, "cart.tax_inclusive", ctx)
    return _build(
        Cart,
        "cart",
        order_ref=order_ref,
        currency=currency,
        lines=lines,
        email=_text(spec.email, payload, "cart.email", ctx)
        or _text(spec.shopper.email, payload, "cart.shopper.email", ctx),
        ship_to=_contact(spec.ship_to, payload, "cart.ship_to", ctx),
        bill_to=_contact(spec.bill_to, payload, "cart.bill_to", ctx),
        ship_from=(
            found[0]
            if spec.ship_from is not None
            and (found := _address(spec.ship_from, payload, "cart.ship_from", ctx, _ADDRESS_FIELDS))
            else None
        ),
        shipping=shipping,
        browser_ip=_text(spec.browser_ip, payload, "cart.browser_ip", ctx),
        locale=_text(spec.locale, payload, "cart.locale", ctx),
        tax_inclusive=(
            as_flag(tax_inclusive, "cart.tax_inclusive") if tax_inclusive is not None else None
        ),
        metadata=_metadata(spec.metadata, payload, "cart.metadata", ctx) or None,
    )


# -- events -------------------------------------------------------------------------------------


def payment(mapping: MappingFile, payload: Mapping[str, Any]) -> PaymentHandoff:
    """The Drop-in source hand-off per ``[events.payment]``."""
    spec = mapping.events.payment
    ctx = _context(mapping)
    key = "events.payment"
    save = read(spec.save, payload, f"{key}.save", ctx)
    return _build(
        PaymentHandoff,
        key,
        order_ref=as_text(
            require(spec.order_ref, payload, f"{key}.order_ref", ctx), f"{key}.order_ref"
        ),
        source_id=as_text(
            require(spec.source_id, payload, f"{key}.source_id", ctx), f"{key}.source_id"
        ),
        save=as_flag(save, f"{key}.save") if save is not None else False,
    )


def submit_ref(mapping: MappingFile, payload: Mapping[str, Any]) -> str:
    spec = mapping.events.submit
    if spec is None:
        raise TranslationError("events.submit", "the mapping has no [events.submit] section")
    key = "events.submit.order_ref"
    return as_text(require(spec.order_ref, payload, key, _context(mapping)), key)


def _truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, and empty strings, arrays and objects are false."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)


def _line_event(
    name: str, spec: LineEvent, payload: Mapping[str, Any], ctx: Context
) -> tuple[str, str, dict[str, int], Tracking | None] | None:
    key = f"events.{name}"
    if spec.when is not None and not _truthy(read(spec.when, payload, f"{key}.when", ctx)):
        return None
    raw = read(spec.lines, payload, f"{key}.lines", ctx)
    if raw is None:
        return None
    items = as_list(raw, f"{key}.lines")

    def one(item: Any) -> tuple[str, int]:
        qty = as_whole(require(spec.quantity, item, f"{key}.quantity", ctx), f"{key}.quantity")
        if qty < 0:
            raise TranslationError(f"{key}.quantity", f"quantity {qty} is negative")
        ref = as_text(require(spec.line_ref, item, f"{key}.line_ref", ctx), f"{key}.line_ref")
        return ref, qty

    quantities: dict[str, int] = {}
    for ref, qty in _each(items, one):
        if qty:
            quantities[ref] = quantities.get(ref, 0) + qty
    if not quantities:
        return None
    order_ref = as_text(
        require(spec.order_ref, payload, f"{key}.order_ref", ctx), f"{key}.order_ref"
    )
    change_ref = as_text(
        require(spec.change_ref, payload, f"{key}.change_ref", ctx), f"{key}.change_ref"
    )
    tracking = None
    if spec.tracking is not None:
        tkey = f"{key}.tracking"
        found = {
            field: _text(getattr(spec.tracking, field), payload, f"{tkey}.{field}", ctx)
            for field in ("company", "number", "url")
        }
        if any(found.values()):
            tracking = _build(Tracking, tkey, **found)
    return order_ref, change_ref, quantities, tracking


def line_changes(mapping: MappingFile, payload: Mapping[str, Any]) -> LineItemChanges | None:
    """Shipped and cancelled quantities per ``[events.line_shipped]`` / ``line_cancelled``.

    ``None`` when neither section finds a non-zero quantity in the payload.
    """
    ctx = _context(mapping)
    events = mapping.events
    found: dict[str, tuple[str, str, dict[str, int], Tracking | None]] = {}
    for name, spec in (
        ("line_shipped", events.line_shipped),
        ("line_cancelled", events.line_cancelled),
    ):
        if spec is not None:
            result = _line_event(name, spec, payload, ctx)
            if result is not None:
                found[name] = result
    if not found:
        return None
    order_refs = {result[0] for result in found.values()}
    if len(order_refs) > 1:
        raise TranslationError(
            "events.line_cancelled.order_ref",
            f"names order {sorted(order_refs)[1]!r} but events.line_shipped.order_ref names "
            f"{sorted(order_refs)[0]!r} in {{payload}}",
        )
    change_refs = list(dict.fromkeys(result[1] for result in found.values()))
    shipped = found.get("line_shipped", ("", "", {}, None))[2]
    cancelled = found.get("line_cancelled", ("", "", {}, None))[2]
    refs = list(dict.fromkeys([*shipped, *cancelled]))
    changes = [
        LineChange(line_ref=ref, shipped=shipped.get(ref, 0), cancelled=cancelled.get(ref, 0))
        for ref in refs
    ]
    tracking = found["line_shipped"][3] if "line_shipped" in found else None
    return _build(
        LineItemChanges,
        "events.line_shipped",
        order_ref=order_refs.pop(),
        change_ref="+".join(change_refs),
        changes=changes,
        tracking=tracking,
    )


# -- pushes -------------------------------------------------------------------------------------


def _join(base_url: str | None, url: str) -> str:
    if url.startswith("/"):
        if base_url is None:
            raise TranslationError("push.base_url", "a path URL needs push.base_url")
        return base_url.rstrip("/") + url
    return url


def _request(
    request: RequestMap,
    base_url: str | None,
    variables: Mapping[str, str],
    line_variables: Mapping[str, str],
    values: Mapping[str, Any],
    line_values: list[dict[str, Any]],
) -> dict[str, Any]:
    if request.line_body is not None:
        lines = [templates.render_body(request.line_body, line_variables, v) for v in line_values]
    else:
        lines = [
            {k: str(x) if isinstance(x, Decimal) else x for k, x in v.items()} for v in line_values
        ]
    return {
        "method": request.method,
        "url": _join(base_url, templates.render_url(request.url, variables, values)),
        "json": templates.render_body(request.body, variables, values, lines),
    }


def status_update(
    mapping: MappingFile, base_url: str | None, order: OrderView, status: OrderStatus
) -> PlatformUpdate | None:
    """The write for ``status``, or ``None`` when the file gives the status no word."""
    spec = mapping.push.status
    if spec is None or status not in spec.words:
        return None
    entity = order.selling_entity
    values: dict[str, Any] = {
        "order_ref": order.order_ref,
        "status": status.value,
        "platform_status": spec.words[status],
        "dr_order_id": order.dr_order_id,
        "dr_state": order.dr_state,
        "dr_checkout_id": order.dr_checkout_id,
        "dr_customer_id": order.dr_customer_id,
        "currency": order.currency,
        "total_amount": order.total_amount,
        "selling_entity_id": entity.id if entity else None,
        "selling_entity_name": entity.name if entity else None,
        "shopper_message": order.shopper_message,
    }
    line_values = [
        {
            **line.model_dump(
                include={"line_ref", "sku_id", "ordered", "fulfilled", "cancelled", "returned"}
            ),
            "dr_item_id": line.dr_item_id,
            "currency": order.currency,
        }
        for line in order.lines
    ]
    body = _request(
        spec.request_for(status),
        base_url,
        templates.STATUS_VARIABLES,
        templates.STATUS_LINE_VARIABLES,
        values,
        line_values,
    )
    return PlatformUpdate(order_ref=order.order_ref, kind="status", body=body)


def checkout_update(
    mapping: MappingFile, base_url: str | None, summary: CheckoutSummary
) -> PlatformUpdate | None:
    """The tax / selling-entity write, or ``None`` when the file declares none."""
    spec = mapping.push.checkout
    if spec is None or (spec.final_only and not summary.final):
        return None
    entity = summary.selling_entity
    values: dict[str, Any] = {
        **summary.model_dump(exclude={"selling_entity", "lines"}),
        "selling_entity_id": entity.id if entity else None,
        "selling_entity_name": entity.name if entity else None,
    }
    line_values: list[dict[str, Any]] = [
        {**line.model_dump(), "currency": summary.currency} for line in summary.lines
    ]
    body = _request(
        spec,
        base_url,
        templates.CHECKOUT_VARIABLES,
        templates.CHECKOUT_LINE_VARIABLES,
        values,
        line_values,
    )
    return PlatformUpdate(order_ref=summary.order_ref, kind="checkout", body=body)
