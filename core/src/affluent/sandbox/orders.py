"""Orders: creation from a checkout, reads and updates, state and money bookkeeping."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from affluent.sandbox import charges, checkouts, listing, money, sources, triggers
from affluent.sandbox.addresses import missing_part
from affluent.sandbox.errors import ApiError, conflict, not_found
from affluent.sandbox.fields import require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# fmt: off
_COPIED = (
    "checkoutId", "customerId", "currency", "email", "locale", "browserIp", "applicationId",
    "upstreamId", "taxIdentifiers", "shipFrom", "shipTo", "billTo", "organization", "subtotal",
    "totalTax", "totalImporterTax", "importerOfRecordTax", "totalFees", "totalDuty",
    "totalDiscount", "totalShipping", "totalAmount", "discount", "shippingChoice",
    "sellingEntity", "purchaseLocation", "customerType", "chargeType", "metadata"
)
_ITEM_COPIED = (
    "skuId", "productDetails", "subscriptionInfo", "quantity", "amount", "tax", "importerTax",
    "duties", "fees", "discount", "shipFrom", "metadata"
)
STATES = (
    "pending_payment", "in_review", "accepted", "blocked", "cancelled", "fulfilled", "complete",
    "returned", "dispute"
)
# fmt: on
FILTERS: dict[str, listing.Filter] = {
    **listing.COMMON,
    "updatedTime": listing.field("updatedTime", "time"),
    "upstreamIds": listing.field("upstreamId"),
    "totalAmount": listing.field("totalAmount", "number"),
    "refundedAmount": listing.field("refundedAmount", "number"),
    "state": listing.field("state"),
    "customerId": listing.field("customerId"),
    "checkoutId": listing.field("checkoutId"),
    "applicationId": listing.field("applicationId"),
    "email": listing.field("email"),
    "currency": listing.field("currency"),
    "fraudState": listing.field("fraudState"),
    "browserIp": listing.field("browserIp"),
    "chargeType": listing.field("chargeType"),
    "locale": listing.field("locale"),
    "customerType": listing.field("customerType"),
    "skuId": listing.Filter("any", lambda d: [i.get("skuId") for i in d["items"]]),
    **{s: listing.path(f"stateTransitions.{s}", "time") for s in STATES},
    **{
        f"fraudStateTransitions.{s}": listing.path(f"fraudStateTransitions.{s}", "time")
        for s in ("blocked", "review_opened", "passed")
    },
}


def find(sb: Sandbox, order_id: str, parameter: str = "orderId") -> Doc:
    """A copy of a stored order, or 404."""
    doc = sb.store.get("orders", order_id)
    if doc is None:
        raise not_found(parameter, order_id, "Order")
    return doc


def render(sb: Sandbox, doc: Doc, *, expand: bool = False, payment: bool = True) -> Doc:
    """The order as DR returns it; ``expand`` adds product ``physical`` and ``metadata``."""
    view = public(doc)
    view["items"] = copy.deepcopy(doc["items"])
    if expand:
        for item in view["items"]:
            line = doc["_lines"][item["id"]]
            item["productDetails"]["physical"] = line["physical"]
            if line.get("productMetadata") is not None:
                item["productDetails"]["metadata"] = line["productMetadata"]
    if payment:
        view["payment"] = {
            "charges": [charges.render(c) for c in charges.of_order(sb, doc)],
            "sources": copy.deepcopy(doc["payment"]["sources"]),
            "session": copy.deepcopy(doc["payment"]["session"]),
        }
    else:
        del view["payment"]
    return view


def get(sb: Sandbox, order_id: str, expand: bool = False) -> Doc:
    """``GET /orders/{id}``."""
    return render(sb, find(sb, order_id), expand=expand)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /orders``."""
    expand = ("expand", "true") in query
    return listing.paginate(
        sb.store.values("orders"),
        query,
        FILTERS,
        lambda d: render(sb, d, expand=expand),
        extra=("expand",),
    )


def update(sb: Sandbox, order_id: str, body: Any) -> Doc:
    """``POST /orders/{id}``: ``upstreamId``, ``metadata``, ``requestToBeForgotten``."""
    doc = find(sb, order_id)
    f = require_object(body)
    f.only(("upstreamId", "metadata", "requestToBeForgotten"))
    upstream = f.string("upstreamId")
    if upstream is not None:
        doc["upstreamId"] = upstream
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    forget = f.boolean("requestToBeForgotten")
    if forget is not None:
        doc["requestToBeForgotten"] = forget
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("orders", doc)
    return render(sb, doc)


# -- creation ----------------------------------------------------------------------------------


def _preconditions(sb: Sandbox, checkout: Doc, attached: list[Doc]) -> None:
    """Everything that must hold before DR tries to authorize (400/409, no order)."""
    session = checkout["payment"]["session"]
    if session["state"] == "failed":
        raise ApiError(400, "order_submit_failed", "Payment session status is invalid.")
    if not _EMAIL.match(checkout.get("email") or ""):
        raise ApiError(
            400, "order_create_failed", "The checkout needs a valid email address.", "email"
        )
    bill_to = checkout.get("billTo") or {}
    gap = missing_part(bill_to.get("address"), "billTo.address", with_state=False)
    if gap is None and not bill_to.get("name"):
        gap = "billTo.name"
    if gap is not None:
        raise ApiError(400, "missing_parameter", f"'{gap}' is required to place an order.", gap)
    if checkouts.is_physical(checkout):
        if not (checkout.get("shipFrom") or {}).get("address"):
            raise ApiError(
                400,
                "missing_parameter",
                "Physical goods need 'shipFrom.address'.",
                "shipFrom.address",
            )
        gap = missing_part((checkout.get("shipTo") or {}).get("address"), "shipTo.address")
        if gap is not None:
            raise ApiError(400, "missing_parameter", f"'{gap}' is required to ship goods.", gap)
        if not checkout["shipTo"].get("name"):
            raise ApiError(
                400, "missing_parameter", "Physical goods need a ship-to name.", "shipping.name"
            )
    customer = sb.store.peek("customers", checkout.get("customerId") or "")
    if customer is not None and not customer.get("enabled", True):
        raise conflict("create-order-failed", "The customer is disabled.", "customerId")
    if session["state"] != "requires_confirmation" or any(
        s["state"] in sources.UNUSABLE for s in attached
    ):
        raise ApiError(400, "order_submit_failed", "Payment session status is invalid.")
    for source in attached:
        if source["reusable"] and source.get("customerId") != checkout.get("customerId"):
            raise conflict(
                "source_in_use",
                "The saved source belongs to a customer who is not on this checkout.",
                "sourceId",
            )


def _decline(sb: Sandbox, checkout: Doc) -> ApiError:
    """409 with the session failed for good (the checkout can't be retried)."""
    checkout["payment"]["session"]["state"] = "failed"
    checkout["updatedTime"] = sb.timestamp()
    sb.store.put("checkouts", checkout)
    return ApiError(409, "failed-request", "Failed to charge source.", commit=True)


def _pending_kind(primary: Doc | None, forced: set[str]) -> str | None:
    """Session state while the payment is not yet capturable (``None``: authorized now)."""
    if primary is not None and primary["state"] in ("pending_redirect", "pending_funds"):
        return str(primary["state"])
    if forced & {"payment_fail_delayed", "payment_stays_pending"}:
        return "pending"
    return None


def _next_action(primary: Doc | None, kind: str | None) -> Doc | None:
    if primary is None:
        return None
    if kind == "pending_redirect":
        return {"action": "redirect", "data": {"redirectUrl": primary["redirect"]["redirectUrl"]}}
    if kind == "pending_funds":
        return {
            "action": "show_payment_instructions",
            "data": {"sourceId": primary["id"], "sourceClientSecret": primary["clientSecret"]},
        }
    return None


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /orders {"checkoutId"}``: every other field is ignored, as DR does."""
    f = require_object(body)
    checkout_id = f.string("checkoutId", required=True) or ""
    checkout = checkouts.find(sb, checkout_id)
    if "_orderId" in checkout:
        raise ApiError(404, "not_found", f"Order {checkout['_orderId']} not found.", "orderId")
    attached = [s for s in (sb.store.get("sources", i) for i in checkout["_sourceIds"]) if s]
    _preconditions(sb, checkout, attached)
    forced = set().union(*(sources.behaviours(s) for s in attached))
    fraud = triggers.fraud_outcome(checkout.get("email"))
    if "charge_fail" in forced or fraud == "reject":
        raise _decline(sb, checkout)

    attached.sort(key=lambda s: s["type"] != "customerCredit")  # credit first, primary last
    primary = next((s for s in attached if s["type"] != "customerCredit"), None)
    kind = _pending_kind(primary, forced)
    now = sb.timestamp()
    order_id = sb.numeric_id(12, lambda i: sb.store.peek("orders", i) is not None)
    order: Doc = {"id": order_id, "createdTime": now, "updatedTime": now}
    order.update({k: copy.deepcopy(checkout[k]) for k in _COPIED if k in checkout})
    order["checkoutId"] = checkout_id
    order["capturedAmount"] = order["cancelledAmount"] = 0.0
    order["refundedAmount"] = order["availableToRefundAmount"] = 0.0
    order["items"], order["_lines"] = [], {}
    for item in checkout["items"]:
        item_id = sb.numeric_id(11, lambda i: i in order["_lines"])
        copied = {k: copy.deepcopy(item[k]) for k in _ITEM_COPIED if k in item}
        order["items"].append(
            {
                "id": item_id,
                **copied,
                "state": "created",
                "stateTransitions": {"created": now},
                "availableToRefundAmount": 0.0,
            }
        )
        line = checkout["_lines"][item["id"]]
        line_total = money.dec(item["amount"]) + money.dec(item["tax"]["amount"])
        order["_lines"][item_id] = {
            "physical": line["physical"],
            "productMetadata": line.get("productMetadata"),
            "total": str(line_total),
            "fulfilled": 0,
            "cancelled": 0,
            "returned": 0,
            "captured": "0",
            "refunded": "0",
        }
    shipping = checkout.get("shippingChoice") or {}
    order["_shipping"] = str(
        money.dec(shipping.get("amount", 0)) + money.dec(shipping.get("taxAmount", 0))
    )
    order["_shippingSettled"] = False
    session = copy.deepcopy(checkout["payment"]["session"])
    session.pop("clientSecret", None)
    session["state"] = kind or "complete"
    action = _next_action(primary, kind)
    if action is not None:
        session["nextAction"] = action
    order["payment"] = {"sources": [sources.summary(s) for s in attached], "session": session}
    order["requestToBeForgotten"] = False
    order["liveMode"] = False
    order["state"] = "pending_payment" if kind else "in_review" if fraud != "pass" else "accepted"
    order["stateTransitions"] = {order["state"]: now}
    if not kind:
        order["fraudState"] = "passed" if order["state"] == "accepted" else "review_opened"
        order["fraudStateTransitions"] = {order["fraudState"]: now}
    order["_fraud"] = fraud
    order["_behaviours"] = sorted(forced)
    order["_chargeIds"] = []
    for source in attached:
        charge: Doc = {
            "id": sb.new_uuid(),
            "createdTime": now,
            "currency": order["currency"],
            "amount": source["amount"],
            "state": "pending" if kind else "capturable",
            "orderId": order_id,
            "sourceId": source["id"],
            "paymentSessionId": session["id"],
            "captured": False,
            "refunded": False,
            "captures": [],
            "cancels": [],
            "refunds": [],
            "type": order.get("chargeType", "customer_initiated"),
            "liveMode": False,
            "_behaviours": sorted(sources.behaviours(source)),
        }
        sb.store.put("charges", charge)
        order["_chargeIds"].append(charge["id"])
        if not source["reusable"]:
            if source["state"] == "chargeable" and not kind:
                source["state"] = "consumed"
            source["_orderId"] = order_id
            sb.store.put("sources", source)
    sb.store.put("orders", order)
    checkout["_orderId"] = order_id
    checkout["payment"]["session"]["state"] = session["state"]
    sb.store.put("checkouts", checkout)

    sb.emit("order.created", render(sb, order))
    for charge in charges.of_order(sb, order):
        sb.emit(f"order.charge.{charge['state']}", charges.render(charge))
    first_event = {"pending_payment": "order.pending_payment", "in_review": "order.review_opened"}
    sb.emit(first_event.get(order["state"], "order.accepted"), render(sb, order))
    sb.follow_up(order_id)
    return render(sb, order)


# -- outcomes ----------------------------------------------------------------------------------


def set_state(sb: Sandbox, order: Doc, state: str | None, fraud: str | None = None) -> Doc:
    """Move the order and/or its fraud state; return the previous attributes."""
    now = sb.timestamp()
    previous: Doc = {}
    if state is not None:
        previous["state"] = order["state"]
        previous["stateTransitions"] = dict(order["stateTransitions"])
        order["state"] = state
        order["stateTransitions"][state] = now
    if fraud is not None:
        previous["fraudState"] = order.get("fraudState")
        order["fraudState"] = fraud
        order.setdefault("fraudStateTransitions", {})[fraud] = now
    order["updatedTime"] = now
    sb.store.put("orders", order)
    return previous


def set_items(sb: Sandbox, order: Doc, state: str) -> None:
    """Move every item still ``created`` to ``state``."""
    now = sb.timestamp()
    for item in order["items"]:
        if item["state"] == "created":
            item["state"] = state
            item["stateTransitions"][state] = now


# -- bookkeeping -------------------------------------------------------------------------------


def refresh_amounts(sb: Sandbox, order: Doc) -> None:
    """Recompute captured/cancelled/refunded/available amounts of the order and its items."""
    currency = order["currency"]
    captured = cancelled = money.ZERO
    for charge in charges.of_order(sb, order):
        fraud_cancels = set(charge.get("_fraudCancels", ()))
        captured += money.total(
            op["amount"] for op in charge["captures"] if op["state"] == "complete"
        )
        cancelled += money.total(
            op["amount"]
            for op in charge["cancels"]
            if op["state"] == "complete" and op["id"] not in fraud_cancels
        )  # DR leaves cancelledAmount at 0 on fraud-blocked orders
    mine = [r for r in sb.store.values("refunds") if r["orderId"] == order["id"]]
    refunded = money.total(r["amount"] for r in mine if r["state"] == "succeeded")
    pending = money.total(r["amount"] for r in mine if r["state"] == "pending")
    available = max(captured - refunded - pending, money.ZERO)
    order["capturedAmount"] = money.num(captured, currency)
    order["cancelledAmount"] = money.num(cancelled, currency)
    order["refundedAmount"] = money.num(refunded, currency)
    order["availableToRefundAmount"] = money.num(available, currency)
    for item in order["items"]:
        line = order["_lines"][item["id"]]
        own = money.dec(line["captured"]) - money.dec(line["refunded"])
        item["availableToRefundAmount"] = money.num(min(own, available), currency)
    sb.store.put("orders", order)


def progress(sb: Sandbox, order: Doc) -> None:
    """After money moved: update charge states, amounts, and the order state with its events."""
    for charge in charges.of_order(sb, order):
        charges.update_state(sb, charge)
    refresh_amounts(sb, order)
    lines = order["_lines"]
    if any(
        ln["fulfilled"] + ln["cancelled"] < item["quantity"]
        for item in order["items"]
        for ln in (lines[item["id"]],)
    ):
        return
    states = {c["state"] for c in charges.of_order(sb, order)}
    if sum(ln["fulfilled"] for ln in lines.values()) == 0:
        if order["state"] == "accepted" and states <= {"cancelled"}:
            previous = set_state(sb, order, "cancelled")
            sb.emit("order.cancelled", render(sb, order), previous)
        return
    if order["state"] == "accepted":
        previous = set_state(sb, order, "fulfilled")
        sb.emit("order.fulfilled", render(sb, order), previous)
    if order["state"] == "fulfilled" and states <= {"complete"}:
        previous = set_state(sb, order, "complete")
        sb.emit("order.complete", render(sb, order), previous)
