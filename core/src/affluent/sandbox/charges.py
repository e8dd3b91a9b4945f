"""Charges of an order and the money operations on them: captures, cancels, refunds."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from affluent.sandbox import money
from affluent.sandbox.errors import not_found
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

LIVE = ("pending", "complete")
"""Operation states that hold (or will hold) part of the authorization."""


def render(doc: Doc) -> Doc:
    """The charge as DR returns it."""
    return public(doc)


def get(sb: Sandbox, charge_id: str) -> Doc:
    """``GET /charges/{id}``."""
    doc = sb.store.peek("charges", charge_id)
    if doc is None:
        raise not_found("chargeId", charge_id, "Charge")
    return render(doc)


def of_order(sb: Sandbox, order: Doc) -> list[Doc]:
    """Copies of an order's charges: store credit first, the primary source last."""
    found = (sb.store.get("charges", c) for c in order["_chargeIds"])
    return [c for c in found if c is not None]


def behaviours(charge: Doc) -> set[str]:
    """Forced behaviours inherited from the charged source."""
    return set(charge.get("_behaviours", ()))


def _sum(operations: list[Doc], states: tuple[str, ...]) -> Decimal:
    return money.total(op["amount"] for op in operations if op["state"] in states)


def open_amount(charge: Doc) -> Decimal:
    """Authorized amount not yet captured or cancelled (nor on its way to be)."""
    used = _sum(charge["captures"], LIVE) + _sum(charge["cancels"], LIVE)
    return money.dec(charge["amount"]) - used


def refundable(charge: Doc) -> Decimal:
    """Captured amount not yet refunded (pending refunds count as refunded)."""
    return _sum(charge["captures"], ("complete",)) - _sum(charge["refunds"], LIVE)


def _operation(sb: Sandbox, amount: Decimal, currency: str, state: str) -> Doc:
    return {
        "id": sb.new_uuid(),
        "createdTime": sb.timestamp(),
        "amount": money.num(amount, currency),
        "state": state,
    }


def _allocate(charges: list[Doc], amount: Decimal, room: str) -> list[tuple[Doc, Decimal]]:
    """Split ``amount`` over ``charges`` in order, each taking at most its room."""
    parts: list[tuple[Doc, Decimal]] = []
    for charge in charges:
        if amount <= 0:
            break
        space = open_amount(charge) if room == "open" else refundable(charge)
        take = min(space, amount)
        if take > 0:
            parts.append((charge, take))
            amount -= take
    return parts


def capture(sb: Sandbox, order: Doc, amount: Decimal, fulfillment_id: str) -> list[str]:
    """Capture ``amount`` (store credit first); return the capture ids."""
    ids: list[str] = []
    for charge, part in _allocate(of_order(sb, order), amount, "open"):
        forced = behaviours(charge)
        op = _operation(sb, part, charge["currency"], "pending")
        op["fulfillmentId"] = fulfillment_id
        charge["captures"].append(op)
        sb.emit("order.charge.capture.pending", render(charge))
        if "capture_fail" in forced:
            op["state"] = "failed"
            sb.emit("order.charge.capture.failed", render(charge))
        elif not forced & {"capture_pending", "capture_fail_delayed"}:
            op["state"] = "complete"
            sb.emit("order.charge.capture.complete", render(charge))
        sb.store.put("charges", charge)
        ids.append(op["id"])
    return ids


def cancel(sb: Sandbox, order: Doc, amount: Decimal) -> list[str]:
    """Reverse ``amount`` of the authorization (primary source first); return cancel ids."""
    ids: list[str] = []
    for charge, part in _allocate(list(reversed(of_order(sb, order))), amount, "open"):
        op = _operation(sb, part, charge["currency"], "pending")
        charge["cancels"].append(op)
        sb.emit("order.charge.cancel.pending", render(charge))
        failed = "cancel_fail" in behaviours(charge)
        op["state"] = "failed" if failed else "complete"
        event = "failed" if failed else "complete"
        sb.emit(f"order.charge.cancel.{event}", render(charge))
        sb.store.put("charges", charge)
        ids.append(op["id"])
    return ids


def settle_captures(sb: Sandbox, order: Doc) -> bool:
    """Finish pending captures that are due to finish; return whether any did."""
    changed = False
    for charge in of_order(sb, order):
        forced = behaviours(charge)
        if "capture_pending" in forced:
            continue
        for op in charge["captures"]:
            if op["state"] != "pending":
                continue
            failed = "capture_fail_delayed" in forced
            op["state"] = "failed" if failed else "complete"
            sb.emit(f"order.charge.capture.{op['state']}", render(charge))
            changed = True
        sb.store.put("charges", charge)
    return changed


def settleable(sb: Sandbox, order: Doc) -> bool:
    """Whether ``settle_captures`` would change anything."""
    return any(
        op["state"] == "pending"
        for charge in of_order(sb, order)
        if "capture_pending" not in behaviours(charge)
        for op in charge["captures"]
    )


def refund(sb: Sandbox, order: Doc, amount: Decimal) -> list[tuple[str, str]]:
    """Book a pending charge refund of ``amount`` (primary first); ``(chargeId, refundId)``s."""
    booked: list[tuple[str, str]] = []
    for charge, part in _allocate(list(reversed(of_order(sb, order))), amount, "refund"):
        op = _operation(sb, part, charge["currency"], "pending")
        charge["refunds"].append(op)
        sb.store.put("charges", charge)
        sb.emit("order.charge.refund.pending", render(charge))
        booked.append((charge["id"], op["id"]))
    return booked


def finish_refund(sb: Sandbox, booked: list[list[str]], state: str) -> None:
    """Move booked charge refunds to ``complete`` or ``failed``."""
    for charge_id, op_id in booked:
        charge = sb.store.get("charges", charge_id)
        if charge is None:
            continue
        for op in charge["refunds"]:
            if op["id"] == op_id:
                op["state"] = state
        captured = _sum(charge["captures"], ("complete",))
        charge["refunded"] = captured > 0 and _sum(charge["refunds"], ("complete",)) >= captured
        sb.store.put("charges", charge)
        sb.emit(f"order.charge.refund.{state}", render(charge))


def update_state(sb: Sandbox, charge: Doc) -> None:
    """Derive the charge state from its operations; emit an event when it changes."""
    if charge["state"] in ("pending", "failed", "cancelled", "complete"):
        return
    captured = _sum(charge["captures"], ("complete",))
    cancelled = _sum(charge["cancels"], ("complete",))
    busy = any(op["state"] == "pending" for op in charge["captures"] + charge["cancels"])
    charge["captured"] = captured > 0
    if busy:
        state = "processing"
    elif captured + cancelled == money.dec(charge["amount"]):
        state = "complete" if captured > 0 else "cancelled"
    else:
        state = "capturable"
    if state != charge["state"]:
        previous = {"state": charge["state"]}
        charge["state"] = state
        if state != "capturable":
            sb.emit(f"order.charge.{state}", render(charge), previous)
    sb.store.put("charges", charge)
