"""Order lifecycle: Digital River states, affluent statuses, and the forward-only rules.

The core keeps one status per order. Events move it forward only: a status that ranks at or
below the stored one is stale and ignored, so duplicated or reordered deliveries converge on the
same result. Final statuses (blocked, payment failed, cancelled) never change. Disputes are an
overlay (``dispute_open``) rather than a step, because Digital River moves an order back to its
previous state when a dispute is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from affluent.errors import QuantityExceeded


class DRState(StrEnum):
    """Digital River order states, exactly as the Orders API names them."""

    pending_payment = "pending_payment"
    in_review = "in_review"
    accepted = "accepted"
    blocked = "blocked"
    cancelled = "cancelled"
    fulfilled = "fulfilled"
    complete = "complete"
    returned = "returned"
    dispute = "dispute"


class OrderStatus(StrEnum):
    """affluent's platform-neutral order status; adapters map it to their platform's words."""

    payment_failed = "payment_failed"
    awaiting_payment = "awaiting_payment"
    in_review = "in_review"
    ready_to_fulfill = "ready_to_fulfill"
    blocked = "blocked"
    cancelled = "cancelled"
    fulfilled = "fulfilled"
    complete = "complete"
    returned = "returned"
    disputed = "disputed"


FINAL = frozenset({OrderStatus.blocked, OrderStatus.payment_failed, OrderStatus.cancelled})
SHIPPABLE = frozenset({OrderStatus.ready_to_fulfill})
"""Statuses in which the platform may ship or cancel lines (DR state ``accepted``)."""

_RANK: dict[OrderStatus, int] = {
    OrderStatus.awaiting_payment: 1,
    OrderStatus.in_review: 2,
    OrderStatus.ready_to_fulfill: 3,
    OrderStatus.fulfilled: 4,
    OrderStatus.complete: 5,
    OrderStatus.returned: 6,
    OrderStatus.blocked: 9,
    OrderStatus.payment_failed: 9,
    OrderStatus.cancelled: 9,
}
_BEFORE_ACCEPTANCE = frozenset({None, OrderStatus.awaiting_payment, OrderStatus.in_review})
_FINAL_FROM: dict[OrderStatus, frozenset[OrderStatus | None]] = {
    OrderStatus.blocked: _BEFORE_ACCEPTANCE,
    OrderStatus.payment_failed: _BEFORE_ACCEPTANCE,
    OrderStatus.cancelled: _BEFORE_ACCEPTANCE | {OrderStatus.ready_to_fulfill},
}


def status_for_state(state: str, *, was_accepted: bool) -> OrderStatus:
    """Map a DR order state to an affluent status.

    ``was_accepted`` tells a cancelled order whose lines were all cancelled (it had been
    accepted) from one whose delayed payment never arrived (it had not): DR calls both
    ``cancelled``.
    """
    match DRState(state):
        case DRState.pending_payment:
            return OrderStatus.awaiting_payment
        case DRState.in_review:
            return OrderStatus.in_review
        case DRState.accepted:
            return OrderStatus.ready_to_fulfill
        case DRState.blocked:
            return OrderStatus.blocked
        case DRState.cancelled:
            return OrderStatus.cancelled if was_accepted else OrderStatus.payment_failed
        case DRState.fulfilled:
            return OrderStatus.fulfilled
        case DRState.complete:
            return OrderStatus.complete
        case DRState.returned:
            return OrderStatus.returned
        case DRState.dispute:
            return OrderStatus.disputed


def advance(current: OrderStatus | None, target: OrderStatus) -> OrderStatus | None:
    """Return the new status if moving from ``current`` to ``target`` is a step forward, else None.

    ``None`` means the target is stale, repeated, or not reachable from a final status: the
    caller records nothing. ``disputed`` is not handled here (see :func:`effective_status`).
    """
    if target is OrderStatus.disputed:
        raise ValueError("disputes are an overlay; use the dispute flag, not advance()")
    if current in FINAL or (current is not None and _RANK[target] <= _RANK[current]):
        return None
    if target in FINAL and current not in _FINAL_FROM[target]:
        return None
    return target


def effective_status(status: OrderStatus, *, dispute_open: bool) -> OrderStatus:
    """The status to show the platform: ``disputed`` while a dispute is open."""
    return OrderStatus.disputed if dispute_open and status not in FINAL else status


@dataclass(frozen=True, slots=True)
class LineLedger:
    """Quantities of one order line, keyed elsewhere by the DR order item id."""

    ordered: int
    fulfilled: int = 0
    cancelled: int = 0
    returned: int = 0

    @property
    def remaining(self) -> int:
        """Units neither shipped nor cancelled yet."""
        return self.ordered - self.fulfilled - self.cancelled

    def apply(self, *, shipped: int, cancelled: int, field: str = "quantity") -> LineLedger:
        """Return the ledger after shipping and cancelling units; refuse more than remain."""
        if shipped < 0 or cancelled < 0:
            raise QuantityExceeded(field, "quantities must not be negative")
        if shipped + cancelled > self.remaining:
            raise QuantityExceeded(
                field,
                f"{shipped} shipped + {cancelled} cancelled exceeds the {self.remaining} "
                f"unit(s) remaining of {self.ordered} ordered",
            )
        return LineLedger(
            self.ordered, self.fulfilled + shipped, self.cancelled + cancelled, self.returned
        )
