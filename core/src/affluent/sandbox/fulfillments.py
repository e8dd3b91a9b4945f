"""Fulfillments: ship (capture) or cancel (reverse) units of order lines, with a ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from affluent.sandbox import charges, listing, money, orders
from affluent.sandbox.errors import conflict, invalid, not_found
from affluent.sandbox.fields import require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

FILTERS = {
    **listing.COMMON,
    "orderId": listing.field("orderId"),
    "skuId": listing.Filter("any", lambda d: [i.get("skuId") for i in d["items"]]),
    "trackingCompany": listing.field("trackingCompany"),
    "trackingNumber": listing.field("trackingNumber"),
}
_DONE = ("fulfilled", "complete", "returned")


def render(sb: Sandbox, doc: Doc, *, details: bool = True) -> Doc:
    """The fulfillment; ``details`` adds ``orderDetails`` and ``chargeOperationIds``."""
    view = public(doc)
    if details:
        order = sb.store.peek("orders", doc["orderId"])
        if order is not None:
            view["orderDetails"] = orders.render(sb, order, payment=False)
        view["chargeOperationIds"] = list(doc["_operationIds"])
    return view


def _line_share(order: Doc, item: Doc, start: int, count: int) -> Decimal:
    line = order["_lines"][item["id"]]
    total = money.dec(line["total"])
    quantity = item["quantity"]

    def upto(units: int) -> Decimal:
        return money.round_money(total * units / quantity, order["currency"])

    return upto(start + count) - upto(start)


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /fulfillments``: per line ``quantity`` (capture) and/or ``cancelQuantity``."""
    f = require_object(body)
    f.only(
        (
            "orderId",
            "items",
            "trackingCompany",
            "trackingNumber",
            "trackingUrl",
            "shipmentId",
            "metadata",
        )
    )
    order_id = f.string("orderId", required=True) or ""
    order = orders.find(sb, order_id)
    if order["state"] in _DONE:
        raise conflict("order_fulfilled", "Every item of this order is fulfilled.", "orderId")
    if order["state"] != "accepted":
        raise conflict(
            "invalid_order_state",
            f"Order is '{order['state']}'; only accepted orders can be fulfilled.",
            "orderId",
        )
    by_id = {item["id"]: item for item in order["items"]}
    wanted: list[tuple[Doc, int, int]] = []
    for item_f in f.objects("items", required=True) or []:
        item_f.only(("itemId", "skuId", "quantity", "cancelQuantity", "shipmentItemId"))
        item_id, sku_id = item_f.string("itemId"), item_f.string("skuId")
        if item_id is not None:
            if item_id not in by_id:
                raise invalid(item_f.param("itemId"), f"Order has no item '{item_id}'.")
            item = by_id[item_id]
        elif sku_id is not None:
            matches = [i for i in order["items"] if i.get("skuId") == sku_id]
            if len(matches) != 1:
                problem = "no item with" if not matches else "several items share"
                raise invalid(item_f.param("skuId"), f"Order has {problem} this SKU; use itemId.")
            item = matches[0]
        else:
            raise invalid(item_f.param("itemId"), "Each item needs 'itemId' or 'skuId'.")
        if any(item is seen for seen, _, _ in wanted):
            raise invalid(item_f.param("itemId"), "The same order item is listed twice.")
        ship = item_f.integer("quantity", minimum=0) or 0
        drop = item_f.integer("cancelQuantity", minimum=0) or 0
        if ship == 0 and drop == 0:
            raise invalid(item_f.param("quantity"), "Give 'quantity' and/or 'cancelQuantity' > 0.")
        line = order["_lines"][item["id"]]
        left = item["quantity"] - line["fulfilled"] - line["cancelled"]
        if ship + drop > left:
            field = item_f.param("quantity" if ship > left or drop == 0 else "cancelQuantity")
            raise conflict(
                "quantity_too_large",
                f"Only {left} unit(s) of item {item['id']} are still open; "
                f"asked for {ship + drop}.",
                field,
            )
        wanted.append((item, ship, drop))

    now = sb.timestamp()
    doc: Doc = {"id": f"ful_{sb.new_uuid()}", "createdTime": now, "orderId": order_id}
    shipment = f.string("shipmentId")
    if shipment is not None:
        doc["shipmentId"] = shipment
    doc["items"] = []
    capture = cancel = money.ZERO
    for item, ship, drop in wanted:
        line = order["_lines"][item["id"]]
        done = line["fulfilled"] + line["cancelled"]
        taken = _line_share(order, item, done, ship)
        capture += taken
        cancel += _line_share(order, item, done + ship, drop)
        line["fulfilled"] += ship
        line["cancelled"] += drop
        line["captured"] = str(money.dec(line["captured"]) + taken)
        if line["fulfilled"] + line["cancelled"] == item["quantity"]:
            item["state"] = "fulfilled" if line["fulfilled"] else "cancelled"
            item["stateTransitions"][item["state"]] = now
        entry: Doc = {"itemId": item["id"]}
        if "skuId" in item:
            entry["skuId"] = item["skuId"]
        doc["items"].append({**entry, "quantity": ship, "cancelQuantity": drop})
    if not order["_shippingSettled"]:
        all_done = all(
            ln["fulfilled"] + ln["cancelled"] == it["quantity"]
            for it in order["items"]
            for ln in (order["_lines"][it["id"]],)
        )
        shipped = any(ship for _, ship, _ in wanted)
        if shipped or all_done:
            if shipped:
                capture += money.dec(order["_shipping"])
            else:
                cancel += money.dec(order["_shipping"])
            order["_shippingSettled"] = True
    for name in ("trackingCompany", "trackingNumber", "trackingUrl"):
        value = f.string(name)
        if value is not None:
            doc[name] = value
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    doc["liveMode"] = False
    doc["_operationIds"] = []
    order["updatedTime"] = now
    sb.store.put("orders", order)
    sb.store.put("fulfillments", doc)
    sb.emit("fulfillment.created", render(sb, doc))

    doc["_operationIds"] = charges.capture(sb, order, capture, doc["id"]) + charges.cancel(
        sb, order, cancel
    )
    sb.store.put("fulfillments", doc)
    orders.progress(sb, order)
    sb.follow_up(order_id)
    return render(sb, doc, details=False)


def get(sb: Sandbox, fulfillment_id: str) -> Doc:
    """``GET /fulfillments/{id}``."""
    doc = sb.store.peek("fulfillments", fulfillment_id)
    if doc is None:
        raise not_found("fulfillmentId", fulfillment_id, "Fulfillment")
    return render(sb, doc)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /fulfillments`` (an unknown ``orderId`` is a 404, as DR declares)."""
    for key, value in query:
        if key == "orderId" and sb.store.peek("orders", value) is None:
            raise not_found("orderId", value, "Order")
    return listing.paginate(
        sb.store.values("fulfillments"), query, FILTERS, lambda d: render(sb, d)
    )
