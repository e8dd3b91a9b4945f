"""Refunds: money back against captured amounts; pending until settled."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from affluent.sandbox import charges, listing, money, orders
from affluent.sandbox.errors import ApiError, invalid, not_found
from affluent.sandbox.fields import require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

TYPES = ("shipping", "tax", "duty", "importer_tax", "fees")
FILTERS = {
    **listing.COMMON,
    "orderId": listing.field("orderId"),
    "state": listing.field("state"),
    "reason": listing.field("reason"),
    "failureReason": listing.field("failureReason"),
    "amount": listing.field("amount", "number"),
    "refundedAmount": listing.field("refundedAmount", "number"),
    "skuId": listing.Filter("any", lambda d: [i.get("skuId") for i in d.get("items", [])]),
}


def render(doc: Doc) -> Doc:
    """The refund as DR returns it."""
    return public(doc)


def issue(
    sb: Sandbox,
    order: Doc,
    amount: Decimal,
    items: list[Doc],
    extra: Doc,
) -> Doc:
    """Book a refund of ``amount`` (``items``: ``{itemId, amount, ...}`` shares of it).

    400 ``invalid_parameter``/``amountRequested`` if it exceeds ``availableToRefundAmount``.
    """
    currency = order["currency"]
    available = money.dec(order["availableToRefundAmount"])
    if amount > available:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Requested {money.num(amount, currency)} but only "
            f"{money.num(available, currency)} is available to refund.",
            "amountRequested",
        )
    now = sb.timestamp()
    doc: Doc = {
        "id": f"re_{sb.new_uuid()}",
        "createdTime": now,
        "updatedTime": now,
        "orderId": order["id"],
        "currency": currency,
        **extra,
        "amount": money.num(amount, currency),
        "refundedAmount": 0.0,
        "items": items,
        "state": "pending",
        "liveMode": False,
    }
    for entry in items:
        line = order["_lines"][entry["itemId"]]
        line["refunded"] = str(money.dec(line["refunded"]) + money.dec(entry["amount"]))
    doc["_booked"] = charges.refund(sb, order, amount)
    sb.store.put("refunds", doc)
    sb.emit("refund.pending", render(doc))
    if "refund_fail" in order["_behaviours"]:
        _finish(sb, doc, order, failed=True)
    else:
        orders.refresh_amounts(sb, order)
        sb.follow_up(order["id"])
    return doc


def _finish(sb: Sandbox, doc: Doc, order: Doc, *, failed: bool) -> None:
    doc["updatedTime"] = sb.timestamp()
    charges.finish_refund(sb, doc["_booked"], "failed" if failed else "complete")
    if failed:
        doc["state"] = "failed"
        doc["failureReason"] = "failed-request"
        for entry in doc["items"]:
            line = order["_lines"][entry["itemId"]]
            line["refunded"] = str(money.dec(line["refunded"]) - money.dec(entry["amount"]))
        sb.store.put("refunds", doc)
        orders.refresh_amounts(sb, order)
        sb.emit("refund.failed", render(doc))
        return
    doc["state"] = "succeeded"
    doc["refundedAmount"] = doc["amount"]
    sb.store.put("refunds", doc)
    orders.refresh_amounts(sb, order)
    sb.emit("refund.complete", render(doc))
    if order["state"] == "complete" and _fully_returned(order):
        orders.set_state(sb, order, "returned")
        for item in order["items"]:
            if order["_lines"][item["id"]]["fulfilled"]:
                item["state"] = "returned"
                item["stateTransitions"]["returned"] = order["stateTransitions"]["returned"]
        sb.store.put("orders", order)
    sb.emit("order.refunded", orders.render(sb, order))


def _fully_returned(order: Doc) -> bool:
    if money.dec(order["refundedAmount"]) >= money.dec(order["capturedAmount"]) > 0:
        return True
    lines = order["_lines"].values()
    return any(ln["fulfilled"] for ln in lines) and all(
        ln["returned"] >= ln["fulfilled"] for ln in lines
    )


def settle(sb: Sandbox, refund_id: str) -> None:
    """Pending → succeeded (or failed, for a delayed-failure trigger)."""
    doc = sb.store.get("refunds", refund_id)
    if doc is None or doc["state"] != "pending":
        return
    order = orders.find(sb, doc["orderId"])
    _finish(sb, doc, order, failed="refund_fail_delayed" in order["_behaviours"])


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /refunds``: by ``amount``, ``percent`` (of what was captured) or ``items``."""
    f = require_object(body)
    f.only(
        (
            "orderId",
            "invoiceId",
            "currency",
            "amount",
            "percent",
            "items",
            "type",
            "reason",
            "metadata",
        )
    )
    if f.has("invoiceId"):
        raise invalid("invoiceId", "The sandbox refunds orders only; use 'orderId'.")
    order = orders.find(sb, f.string("orderId", required=True) or "")
    currency: str = order["currency"]
    if f.string("currency", required=True) != currency:
        raise invalid("currency", f"'currency' must be the order's currency, {currency}.")
    given = [name for name in ("amount", "percent", "items") if f.has(name)]
    if len(given) != 1:
        raise invalid("amount", "Give exactly one of 'amount', 'percent', 'items'.")
    extra: Doc = {}
    kind = f.choice("type", TYPES)
    if kind is not None:
        extra["type"] = kind
    reason = f.string("reason", max_len=64)
    if reason is not None:
        extra["reason"] = reason
    metadata = f.metadata()
    if metadata is not None:
        extra["metadata"] = metadata
    captured = money.dec(order["capturedAmount"])
    items: list[Doc] = []
    if given == ["amount"]:
        requested = f.decimal("amount") or money.ZERO
    elif given == ["percent"]:
        percent = f.decimal("percent", minimum=Decimal("0.01"), maximum=Decimal(100))
        extra["percent"] = float(percent or 0)
        requested = money.round_money(captured * (percent or 0) / 100, currency)
    else:
        requested = money.ZERO
        by_id = {item["id"]: item for item in order["items"]}
        for entry_f in f.objects("items", required=True) or []:
            entry_f.only(("itemId", "skuId", "quantity", "amount", "percent", "type"))
            item_id = entry_f.string("itemId", required=True) or ""
            if item_id not in by_id:
                raise invalid(entry_f.param("itemId"), f"Order has no item '{item_id}'.")
            item, line = by_id[item_id], order["_lines"][item_id]
            room = money.dec(line["captured"]) - money.dec(line["refunded"])
            quantity = entry_f.integer("quantity", minimum=1, maximum=item["quantity"])
            part = entry_f.decimal("amount")
            percent = entry_f.decimal("percent", minimum=Decimal("0.01"), maximum=Decimal(100))
            if part is None and percent is not None:
                part = money.round_money(money.dec(line["captured"]) * percent / 100, currency)
            if part is None:
                units = quantity or item["quantity"]
                part = money.round_money(
                    money.dec(line["total"]) * units / item["quantity"], currency
                )
            if part > room:
                raise invalid(
                    entry_f.param("amount"),
                    f"Item {item_id} has {money.num(room, currency)} left to refund.",
                )
            entry: Doc = {"itemId": item_id, "amount": money.num(part, currency)}
            if "skuId" in item:
                entry["skuId"] = item["skuId"]
            if quantity is not None:
                entry["quantity"] = quantity
            item_type = entry_f.choice("type", ("shipping", "fees", "duty"))
            if item_type is not None:
                entry["type"] = item_type
            items.append(entry)
            requested += part
    if requested != money.round_money(requested, currency) or requested <= 0:
        raise invalid("amount", "The refund amount must be positive in the currency's units.")
    return render(issue(sb, order, requested, items, extra))


def update(sb: Sandbox, refund_id: str, body: Any) -> Doc:
    """``POST /refunds/{id}``: metadata only."""
    doc = sb.store.get("refunds", refund_id)
    if doc is None:
        raise not_found("refundId", refund_id, "Refund")
    f = require_object(body)
    f.only(("metadata",))
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("refunds", doc)
    return render(doc)


def get(sb: Sandbox, refund_id: str) -> Doc:
    """``GET /refunds/{id}``."""
    doc = sb.store.peek("refunds", refund_id)
    if doc is None:
        raise not_found("refundId", refund_id, "Refund")
    return render(doc)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /refunds``."""
    for key, value in query:
        if key == "orderId" and sb.store.peek("orders", value) is None:
            raise not_found("orderId", value, "Order")
    return listing.paginate(sb.store.values("refunds"), query, FILTERS, render)
