"""Shopify fulfillments, refunds and cancellations -> canonical line-item changes.

Rules (each change is named by its business content, so a re-delivery is one change):

- **Fulfillment** (``fulfillments/create``, ``fulfillments/update``): every line item of a
  fulfillment whose ``status`` is in ``fulfillment_statuses`` (default ``success``) is shipped
  with its quantity; tracking company, numbers (joined) and the first URL ride along.
  ``change_ref`` = ``fulfillment:<id>``; a pending or failed fulfillment is not a change yet.
- **Refund** (``refunds/create``): a refund line is a *cancellation* of units that never
  shipped: all its units when ``restock_type`` is ``cancel``; none when it is ``return``
  (a refund after shipping belongs to DR refunds, not to fulfillment); otherwise
  (``no_restock``, ``legacy_restock`` or none) the units that had not shipped: all of them when
  the nested line item's ``fulfillment_status`` is empty, none when it is ``fulfilled``, at most
  its ``fulfillable_quantity`` when ``partial``; without a nested line item, all of them if the
  refund has the legacy ``restock: true``.
  ``change_ref`` = ``refund:<id>``.
- **Cancelled order** (``orders/cancelled``, or any order with ``cancelled_at``): what remains
  is cancelled, computed from the payload alone: each line's ``quantity`` minus the units its
  shipped fulfillments carry minus the units its refunds already cancelled (by the refund rule).
  ``change_ref`` = ``cancel:<order id>``.
- **Updated order** (``orders/updated``) without ``cancelled_at``: the most recent shipped
  fulfillment or cancelling refund it carries, under that object's own ``change_ref`` (so it
  is a duplicate when its own webhook already arrived); nothing otherwise.
- ``{"fulfillment": {...}, "refund": {...}}`` of the same order: both as one change
  (``fulfillment:<id>+refund:<id>``), since DR takes shipped and cancelled units together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from affluent.errors import InvalidInput
from affluent.models import LineChange, LineItemChanges, Tracking
from affluent_shopify_like import fields as f
from affluent_shopify_like.canonical import build
from affluent_shopify_like.config import ShopifyConfig

Counts = dict[str, int]


def line_changes(payload: Mapping[str, Any], config: ShopifyConfig) -> LineItemChanges | None:
    """The canonical change a Shopify line-item event carries, or ``None`` if it carries none."""
    if set(payload) == {"fulfillment", "refund"}:
        return _combined(payload, config)
    key, body = f.unwrap(payload)
    if key is None:
        key = _guess(body)
    match key:
        case "fulfillment":
            return fulfillment(body, "fulfillment", config)
        case "refund":
            return refund(body, "refund", config)
        case "order":
            return order_event(body, config)
    raise InvalidInput(
        "payload", f"expected a Shopify fulfillment, refund or order, got {key or 'unknown'}"
    )


def _guess(body: Mapping[str, Any]) -> str | None:
    if "refund_line_items" in body:
        return "refund"
    if "order_id" in body and "line_items" in body:
        return "fulfillment"
    if "line_items" in body and "id" in body:
        return "order"
    return None


# -- fulfillments -------------------------------------------------------------------------------


def shipped_counts(body: Mapping[str, Any], field: str) -> Counts:
    """Units per line id in one fulfillment."""
    counts: Counts = {}
    lines = f.items(body.get("line_items"), f"{field}.line_items")
    if not lines:
        raise InvalidInput(f"{field}.line_items", "a fulfillment must name at least one line")
    for index, line in enumerate(lines):
        where = f"{field}.line_items[{index}]"
        line_id = f.ref(line.get("id"), f"{where}.id")
        counts[line_id] = counts.get(line_id, 0) + f.quantity(
            line.get("quantity"), f"{where}.quantity"
        )
    return counts


def _is_shipped(body: Mapping[str, Any], field: str, config: ShopifyConfig) -> bool:
    status = f.text(body.get("status"), f"{field}.status")
    return status in config.fulfillment_statuses


def _tracking(body: Mapping[str, Any], field: str) -> Tracking | None:
    numbers = [
        number
        for index, value in enumerate(body.get("tracking_numbers") or [])
        if (number := f.text(value, f"{field}.tracking_numbers[{index}]"))
    ]
    urls = [
        url
        for index, value in enumerate(body.get("tracking_urls") or [])
        if (url := f.text(value, f"{field}.tracking_urls[{index}]"))
    ]
    number = ", ".join(numbers) or f.text(body.get("tracking_number"), f"{field}.tracking_number")
    url = f.text(body.get("tracking_url"), f"{field}.tracking_url") or (urls[0] if urls else None)
    company = f.text(body.get("tracking_company"), f"{field}.tracking_company")
    if number is None and url is None and company is None:
        return None
    return build(Tracking, f"{field}.tracking", company=company, number=number, url=url)


def fulfillment(
    body: Mapping[str, Any], field: str, config: ShopifyConfig, *, order_ref: str | None = None
) -> LineItemChanges | None:
    fulfillment_id = f.ref(body.get("id"), f"{field}.id")
    own_order = f.text(body.get("order_id"), f"{field}.order_id")
    order_ref = _same_order(order_ref, own_order, f"{field}.order_id")
    counts = shipped_counts(body, field)
    if not _is_shipped(body, field, config):
        return None
    return _changes(
        order_ref,
        f"fulfillment:{fulfillment_id}",
        shipped=counts,
        cancelled={},
        field=field,
        tracking=_tracking(body, field),
    )


# -- refunds ------------------------------------------------------------------------------------


def cancelled_counts(body: Mapping[str, Any], field: str) -> Counts:
    """Units per line id a refund cancels (see the module rules)."""
    counts: Counts = {}
    refund_restock = f.flag(body.get("restock"), f"{field}.restock", default=False)
    lines = f.items(body.get("refund_line_items"), f"{field}.refund_line_items")
    for index, line in enumerate(lines):
        where = f"{field}.refund_line_items[{index}]"
        item = f.mapping(line.get("line_item") or {}, f"{where}.line_item")
        line_id = f.text(line.get("line_item_id"), f"{where}.line_item_id")
        nested_id = f.text(item.get("id"), f"{where}.line_item.id")
        if line_id is None and nested_id is None:
            raise InvalidInput(f"{where}.line_item_id", "required")
        if line_id and nested_id and line_id != nested_id:
            raise InvalidInput(
                f"{where}.line_item.id", f"{nested_id} differs from line_item_id {line_id}"
            )
        line_ref = line_id or nested_id
        assert line_ref is not None
        units = f.quantity(line.get("quantity"), f"{where}.quantity", minimum=0)
        restock_type = f.text(line.get("restock_type"), f"{where}.restock_type")
        if restock_type == "cancel":
            cancel = units
        elif restock_type == "return":
            cancel = 0
        elif restock_type in (None, "no_restock", "legacy_restock"):
            cancel = _unfulfilled(item, units, where, refund_restock)
        else:
            raise InvalidInput(
                f"{where}.restock_type",
                f"unknown value {restock_type!r}; expected cancel, return, no_restock or "
                "legacy_restock",
            )
        if cancel:
            counts[line_ref] = counts.get(line_ref, 0) + cancel
    return counts


def _unfulfilled(item: Mapping[str, Any], units: int, where: str, restock: bool) -> int:
    """How many of ``units`` refunded had not shipped, judged from the nested line item.

    An unfulfilled line (empty ``fulfillment_status``) had shipped nothing; a fulfilled one
    everything; a partly fulfilled one at most its ``fulfillable_quantity``. Without a nested
    line item, the refund's legacy ``restock`` flag decides.
    """
    if "fulfillment_status" not in item:
        return units if restock else 0
    status = f.text(item.get("fulfillment_status"), f"{where}.line_item.fulfillment_status")
    if status is None:
        return units
    if status == "partial" and item.get("fulfillable_quantity") is not None:
        open_units = f.quantity(
            item["fulfillable_quantity"], f"{where}.line_item.fulfillable_quantity", minimum=0
        )
        return min(units, open_units)
    return 0


def refund(
    body: Mapping[str, Any], field: str, config: ShopifyConfig, *, order_ref: str | None = None
) -> LineItemChanges | None:
    refund_id = f.ref(body.get("id"), f"{field}.id")
    own_order = f.text(body.get("order_id"), f"{field}.order_id")
    order_ref = _same_order(order_ref, own_order, f"{field}.order_id")
    counts = cancelled_counts(body, field)
    if not counts:
        return None
    return _changes(
        order_ref, f"refund:{refund_id}", shipped={}, cancelled=counts, field=field, tracking=None
    )


# -- orders -------------------------------------------------------------------------------------


def order_event(body: Mapping[str, Any], config: ShopifyConfig) -> LineItemChanges | None:
    """``orders/cancelled`` cancels what remains; ``orders/updated`` re-sends its latest change."""
    order_ref = f.ref(body.get("id"), "order.id")
    if f.text(body.get("cancelled_at"), "order.cancelled_at"):
        return cancel_remaining(body, order_ref, config)
    latest: tuple[datetime, LineItemChanges] | None = None
    for field, kind in (("fulfillments", "fulfillment"), ("refunds", "refund")):
        for index, raw in enumerate(f.items(body.get(field), f"order.{field}")):
            where = f"order.{field}[{index}]"
            change = (
                fulfillment(raw, where, config, order_ref=order_ref)
                if kind == "fulfillment"
                else refund(raw, where, config, order_ref=order_ref)
            )
            if change is None:
                continue
            when = f.timestamp(
                raw.get("updated_at") or raw.get("created_at"), f"{where}.created_at"
            )
            if when is None:
                raise InvalidInput(f"{where}.created_at", "required to order the order's changes")
            if latest is None or when >= latest[0]:
                latest = (when, change)
    return latest[1] if latest else None


def cancel_remaining(
    body: Mapping[str, Any], order_ref: str, config: ShopifyConfig
) -> LineItemChanges | None:
    """Cancel each line's quantity minus what shipped and what refunds already cancelled."""
    ordered: Counts = {}
    for index, line in enumerate(f.items(body.get("line_items"), "order.line_items")):
        where = f"order.line_items[{index}]"
        line_id = f.ref(line.get("id"), f"{where}.id")
        ordered[line_id] = ordered.get(line_id, 0) + f.quantity(
            line.get("quantity"), f"{where}.quantity", minimum=0
        )
    if not ordered:
        raise InvalidInput("order.line_items", "a cancelled order must list its line items")
    done: Counts = {}
    for index, raw in enumerate(f.items(body.get("fulfillments"), "order.fulfillments")):
        where = f"order.fulfillments[{index}]"
        if _is_shipped(raw, where, config):
            _add(done, shipped_counts(raw, where))
    for index, raw in enumerate(f.items(body.get("refunds"), "order.refunds")):
        _add(done, cancelled_counts(raw, f"order.refunds[{index}]"))
    for line_id in done:
        if line_id not in ordered:
            raise InvalidInput(
                "order.line_items", f"line {line_id} is shipped or refunded but not in the order"
            )
    remaining = {line_id: units - done.get(line_id, 0) for line_id, units in ordered.items()}
    remaining = {line_id: units for line_id, units in remaining.items() if units > 0}
    if not remaining:
        return None
    return _changes(
        order_ref,
        f"cancel:{order_ref}",
        shipped={},
        cancelled=remaining,
        field="order",
        tracking=None,
    )


# -- combined and shared ------------------------------------------------------------------------


def _combined(payload: Mapping[str, Any], config: ShopifyConfig) -> LineItemChanges | None:
    ship_body = f.mapping(payload["fulfillment"], "fulfillment")
    refund_body = f.mapping(payload["refund"], "refund")
    shipped = fulfillment(ship_body, "fulfillment", config)
    cancelled = refund(refund_body, "refund", config)
    if shipped is None or cancelled is None:
        return shipped or cancelled
    _same_order(shipped.order_ref, cancelled.order_ref, "refund.order_id")
    return _changes(
        shipped.order_ref,
        f"{shipped.change_ref}+{cancelled.change_ref}",
        shipped={change.line_ref: change.shipped for change in shipped.changes},
        cancelled={change.line_ref: change.cancelled for change in cancelled.changes},
        field="payload",
        tracking=shipped.tracking,
    )


def _same_order(expected: str | None, found: str | None, field: str) -> str:
    if found is None:
        if expected is None:
            raise InvalidInput(field, "required")
        return expected
    if expected is not None and found != expected:
        raise InvalidInput(field, f"{found} is not order {expected}")
    return found


def _add(into: Counts, counts: Counts) -> None:
    for line_id, units in counts.items():
        into[line_id] = into.get(line_id, 0) + units


def _changes(
    order_ref: str,
    change_ref: str,
    *,
    shipped: Counts,
    cancelled: Counts,
    field: str,
    tracking: Tracking | None,
) -> LineItemChanges:
    lines = list(dict.fromkeys([*shipped, *cancelled]))
    changes = [
        build(
            LineChange,
            f"{field}.line_items",
            line_ref=line_id,
            shipped=shipped.get(line_id, 0),
            cancelled=cancelled.get(line_id, 0),
        )
        for line_id in lines
    ]
    return build(
        LineItemChanges,
        field,
        order_ref=order_ref,
        change_ref=change_ref,
        changes=changes,
        tracking=tracking,
    )
