"""Asynchronous outcomes: fraud review, delayed payments, pending captures and refunds.

They happen on demand (``POST /_sandbox/orders/{id}/resolve``) or, with a ``resolve_delay``,
on their own, chosen by the order's triggers (see ``triggers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from affluent.sandbox import charges, money, orders, refunds, sources
from affluent.sandbox.errors import ApiError, conflict, invalid
from affluent.sandbox.store import Doc

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

OUTCOMES = ("accept", "block", "fail_charge", "funds_arrived", "settle")


def _payment_arrived(sb: Sandbox, order: Doc) -> None:
    for charge in charges.of_order(sb, order):
        charge["state"] = "capturable"
        sb.store.put("charges", charge)
        sb.emit("order.charge.capturable", charges.render(charge), {"state": "pending"})
    for summary in order["payment"]["sources"]:
        source = sb.store.get("sources", summary["id"])
        if source is not None and not source["reusable"]:
            source["state"] = "consumed"
            sb.store.put("sources", source)
            summary["state"] = "consumed"
    order["payment"]["session"]["state"] = "complete"
    order["payment"]["session"].pop("nextAction", None)


def _accept(sb: Sandbox, order: Doc, fraud: str | None = "passed") -> None:
    previous = orders.set_state(sb, order, "accepted", fraud)
    sb.emit("order.accepted", orders.render(sb, order), previous)


def _block(sb: Sandbox, order: Doc) -> None:
    for charge in charges.of_order(sb, order):
        previous = {"state": charge["state"]}
        if charge["state"] == "capturable":
            rest = charges.open_amount(charge)
            reversal = {
                "id": sb.new_uuid(),
                "createdTime": sb.timestamp(),
                "amount": money.num(rest, charge["currency"]),
                "state": "complete",
            }
            charge["cancels"].append(reversal)
            charge.setdefault("_fraudCancels", []).append(reversal["id"])
            sb.emit("order.charge.cancel.complete", charges.render(charge))
        charge["state"] = "cancelled"
        sb.store.put("charges", charge)
        sb.emit("order.charge.cancelled", charges.render(charge), previous)
    orders.set_items(sb, order, "blocked")
    orders.refresh_amounts(sb, order)
    previous = orders.set_state(sb, order, "blocked", "blocked")
    sb.emit("order.blocked", orders.render(sb, order), previous)


def _fail_payment(sb: Sandbox, order: Doc) -> None:
    for charge in charges.of_order(sb, order):
        charge["state"] = "failed"
        charge["failureCode"] = "failed-request"
        charge["failureMessage"] = "Failed to charge source."
        sb.store.put("charges", charge)
    for summary in order["payment"]["sources"]:
        source = sb.store.get("sources", summary["id"])
        if source is not None and source["state"] in ("pending_funds", "pending_redirect"):
            source["state"] = "failed"
            sb.store.put("sources", source)
    order["payment"]["session"]["state"] = "failed"
    order["payment"]["session"].pop("nextAction", None)
    orders.set_items(sb, order, "cancelled")
    previous = orders.set_state(sb, order, "cancelled")
    snapshot = orders.render(sb, order)
    sb.emit("order.charge.failed", snapshot, previous)
    sb.emit("order.cancelled", snapshot, previous)


def _refuse(order: Doc, outcome: str, allowed: str) -> ApiError:
    return conflict(
        "invalid_order_state",
        f"Order is '{order['state']}'; '{outcome}' needs {allowed}.",
        "orderId",
    )


def resolve(sb: Sandbox, order_id: str, outcome: str) -> Doc:
    """Force an asynchronous outcome (control endpoint and automatic resolution)."""
    if outcome not in OUTCOMES:
        raise invalid("outcome", f"'outcome' must be one of: {', '.join(OUTCOMES)}.")
    order = orders.find(sb, order_id)
    state = order["state"]
    if outcome == "accept" and state == "in_review":
        previous = orders.set_state(sb, order, None, "passed")
        sb.emit("order.review_closed", orders.render(sb, order), previous)
        _accept(sb, order, None)
    elif outcome in ("accept", "funds_arrived"):
        if state != "pending_payment":
            allowed = "in_review or pending_payment" if outcome == "accept" else "pending_payment"
            raise _refuse(order, outcome, allowed)
        _payment_arrived(sb, order)
        review = outcome == "funds_arrived" and order["_fraud"] != "pass"
        if review:
            previous = orders.set_state(sb, order, "in_review", "review_opened")
            sb.emit("order.review_opened", orders.render(sb, order), previous)
        else:
            _accept(sb, order)
    elif outcome == "block":
        if state not in ("in_review", "pending_payment"):
            raise _refuse(order, outcome, "in_review or pending_payment")
        _block(sb, order)
    elif outcome == "fail_charge":
        if state != "pending_payment":
            raise _refuse(order, outcome, "pending_payment")
        _fail_payment(sb, order)
    elif not settle(sb, order):
        raise conflict(
            "nothing_to_settle",
            "The order has no pending capture or refund that can finish.",
            "orderId",
        )
    sb.follow_up(order_id)
    return orders.render(sb, orders.find(sb, order_id))


def settle(sb: Sandbox, order: Doc) -> bool:
    """Finish pending captures and refunds by their triggers; return whether any did."""
    changed = charges.settle_captures(sb, order)
    for refund in sb.store.values("refunds"):
        if refund["orderId"] == order["id"] and refund["state"] == "pending":
            refunds.settle(sb, refund["id"])
            changed = True
    if changed:
        order = orders.find(sb, order["id"])
        orders.progress(sb, order)
    return changed


def next_outcome(sb: Sandbox, order: Doc) -> str | None:
    """What happens on its own to this order after the resolve delay (``None``: nothing)."""
    if order["state"] == "in_review":
        return {"review_accept": "accept", "review_block": "block"}.get(order["_fraud"])
    if order["state"] == "pending_payment":
        forced = set(order["_behaviours"])
        if "payment_stays_pending" in forced:
            return None
        return "fail_charge" if "payment_fail_delayed" in forced else "funds_arrived"
    if charges.settleable(sb, order) or any(
        r["orderId"] == order["id"] and r["state"] == "pending" for r in sb.store.values("refunds")
    ):
        return "settle"
    return None


def auto_resolve(sb: Sandbox, order_id: str) -> None:
    """The delayed step of an order, if it still has one."""
    order = sb.store.peek("orders", order_id)
    if order is None:
        return
    outcome = next_outcome(sb, order)
    if outcome is not None:
        resolve(sb, order_id, outcome)


def approve_source(sb: Sandbox, source_id: str) -> Doc:
    """Control: the shopper approved the redirect (or the wire funds arrived)."""
    doc = sources.find(sb, source_id)
    if doc["state"] not in ("pending_redirect", "pending_funds"):
        raise conflict(
            "source_state_invalid",
            f"Source is '{doc['state']}'; only pending_redirect or pending_funds can be approved.",
            "sourceId",
        )
    order_id = doc.get("_orderId")
    if order_id is not None:
        resolve(sb, order_id, "funds_arrived")
        return sources.render(sources.find(sb, source_id))
    previous = doc["state"]
    doc["state"] = "chargeable"
    sb.store.put("sources", doc)
    sb.emit("source.chargeable", sources.render(doc), {"state": previous})
    return sources.render(doc)
