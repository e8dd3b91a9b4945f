"""Returns: authorize the return of shipped units; accepting them all issues the refund."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affluent.sandbox import listing, money, orders, refunds
from affluent.sandbox.addresses import parse_contact
from affluent.sandbox.errors import conflict, invalid, not_found
from affluent.sandbox.fields import require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

FILTERS = {
    **listing.COMMON,
    "orderId": listing.field("orderId"),
    "state": listing.field("state"),
    "skuId": listing.Filter("any", lambda d: [i.get("skuId") for i in d["items"]]),
}


def _find(sb: Sandbox, return_id: str) -> Doc:
    doc = sb.store.get("returns", return_id)
    if doc is None:
        raise not_found("returnId", return_id, "Return")
    return doc


def _requested(sb: Sandbox, order_id: str, item_id: str) -> int:
    """Units of an item already in returns (open or accepted)."""
    return sum(
        entry["quantity"]
        for doc in sb.store.values("returns")
        if doc["orderId"] == order_id
        for entry in doc["items"]
        if entry["itemId"] == item_id
    )


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /returns``: only shipped units not already being returned."""
    f = require_object(body)
    f.only(("orderId", "items", "reason", "location", "metadata"))
    order = orders.find(sb, f.string("orderId", required=True) or "")
    currency = order["currency"]
    by_id = {item["id"]: item for item in order["items"]}
    entries: list[Doc] = []
    for index, entry_f in enumerate(f.objects("items", required=True) or []):
        entry_f.only(("itemId", "skuId", "quantity"))
        item_id, sku_id = entry_f.string("itemId"), entry_f.string("skuId")
        matches = [by_id[item_id]] if item_id in by_id else []
        if item_id is None and sku_id is not None:
            matches = [i for i in order["items"] if i.get("skuId") == sku_id]
        if len(matches) != 1:
            where = entry_f.param("itemId" if sku_id is None else "skuId")
            raise invalid(where, "Name exactly one item of the order.")
        item = matches[0]
        quantity = entry_f.integer("quantity", required=True, minimum=1) or 0
        line = order["_lines"][item["id"]]
        room = line["fulfilled"] - _requested(sb, order["id"], item["id"])
        if quantity > room:
            raise conflict(
                "quantity_too_large",
                f"Only {max(room, 0)} shipped unit(s) of item {item['id']} can be returned.",
                f"items[{index}].qty",
            )
        amount = money.round_money(money.dec(line["total"]) * quantity / item["quantity"], currency)
        entry: Doc = {"itemId": item["id"]}
        if "skuId" in item:
            entry["skuId"] = item["skuId"]
        entries.append(
            {
                **entry,
                "quantity": quantity,
                "quantityAccepted": 0,
                "amount": money.num(amount, currency),
                "state": "created",
            }
        )
    now = sb.timestamp()
    doc: Doc = {
        "id": f"ret_{sb.new_uuid()}",
        "createdTime": now,
        "updatedTime": now,
        "orderId": order["id"],
        "currency": currency,
        "state": "created",
        "items": entries,
        "refundIds": [],
        "liveMode": False,
    }
    reason = f.string("reason", max_len=64)
    if reason is not None:
        doc["reason"] = reason
    location = f.obj("location")
    if location is not None:
        doc["location"] = parse_contact(location, address_required=True)
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    sb.store.put("returns", doc)
    sb.emit("return.created", public(doc))
    return public(doc)


def update(sb: Sandbox, return_id: str, body: Any) -> Doc:
    """``POST /returns/{id}``: accept all (``state``) or per item (``items``); metadata."""
    doc = _find(sb, return_id)
    f = require_object(body)
    f.only(("state", "items", "metadata"))
    state = f.choice("state", ("accepted",))
    item_fs = f.objects("items")
    if doc["state"] == "accepted" and (state or item_fs):
        raise conflict("invalid_return_state", "The return is already accepted.", "state")
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    by_id = {entry["itemId"]: entry for entry in doc["items"]}
    if state == "accepted":
        for entry in doc["items"]:
            entry["quantityAccepted"], entry["state"] = entry["quantity"], "accepted"
    for entry_f in item_fs or []:
        entry_f.only(("itemId", "quantity", "state"))
        item_id = entry_f.string("itemId", required=True) or ""
        if item_id not in by_id:
            raise invalid(entry_f.param("itemId"), f"The return has no item '{item_id}'.")
        entry = by_id[item_id]
        entry_f.choice("state", ("accepted",), required=True)
        quantity = entry_f.integer("quantity", required=True, minimum=1) or 0
        if quantity > entry["quantity"]:
            raise conflict(
                "quantity_too_large", "More units than the return holds.", entry_f.param("qty")
            )
        entry["quantityAccepted"], entry["state"] = quantity, "accepted"
    doc["updatedTime"] = sb.timestamp()
    complete = all(e["quantityAccepted"] == e["quantity"] for e in doc["items"])
    if complete and doc["state"] != "accepted" and (state or item_fs):
        doc["state"] = "accepted"
        order = orders.find(sb, doc["orderId"])
        for entry in doc["items"]:
            order["_lines"][entry["itemId"]]["returned"] += entry["quantity"]
        amount = money.total(e["amount"] for e in doc["items"])
        shares = [
            {k: e[k] for k in ("itemId", "skuId", "quantity", "amount") if k in e}
            for e in doc["items"]
        ]
        extra = {"reason": doc["reason"]} if "reason" in doc else {}
        sb.store.put("returns", doc)
        sb.emit("return.accepted", public(doc))
        refund = refunds.issue(sb, order, amount, shares, extra)
        doc["refundIds"].append(refund["id"])
    elif item_fs:
        sb.emit("return.updated", public(doc))
    sb.store.put("returns", doc)
    return public(doc)


def get(sb: Sandbox, return_id: str) -> Doc:
    """``GET /returns/{id}``."""
    return public(_find(sb, return_id))


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /returns``."""
    return listing.paginate(sb.store.values("returns"), query, FILTERS, public)
