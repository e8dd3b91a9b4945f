"""Test inputs that force outcomes: DR's test cards and last names, plus emulator-only emails.

A source carries a set of *behaviours*; the order, fulfillment and refund code asks for them:

- ``source_fail``: the source is created in state ``failed``
- ``charge_fail``: ``POST /orders`` answers 409 ``failed-request``
- ``capture_fail``: captures fail at once; ``capture_fail_delayed``: pending, then failed
- ``capture_pending``: captures stay ``pending`` for ever
- ``cancel_fail``: authorization reversals fail
- ``refund_fail``: refunds fail at once; ``refund_fail_delayed``: pending, then failed
- ``payment_fail_delayed``: the order waits in ``pending_payment``, then the charge fails
- ``payment_stays_pending``: the order waits in ``pending_payment`` until resolved on demand
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Behaviour = Literal[
    "source_fail",
    "charge_fail",
    "capture_fail",
    "capture_fail_delayed",
    "capture_pending",
    "cancel_fail",
    "refund_fail",
    "refund_fail_delayed",
    "payment_fail_delayed",
    "payment_stays_pending",
]


@dataclass(frozen=True)
class TestCard:
    """A card number the sandbox knows, its brand and forced behaviour (if any)."""

    __test__ = False  # not a pytest class

    brand: str
    behaviour: Behaviour | None = None


TEST_CARDS: dict[str, TestCard] = {
    # success (DR testing scenarios)
    "343456789012341": TestCard("American Express"),
    "30345678901235": TestCard("Diners Club"),
    "6011987698769876": TestCard("Discover"),
    "3528987698769879": TestCard("JCB"),
    "5466160000000008": TestCard("MasterCard"),
    "6226220000000009": TestCard("UnionPay"),
    "4444222233331111": TestCard("Visa"),
    # 3-D Secure cards: the challenge happens in the browser, so server-side they just work
    "5454545454545454": TestCard("MasterCard"),
    "4917610000000000": TestCard("Visa"),
    "371449635398431": TestCard("American Express"),
    "4035501428146300": TestCard("Cartes Bancaires"),
    "30569309025904": TestCard("Diners Club"),
    "6011111111111117": TestCard("Discover"),
    "3566111111111113": TestCard("JCB"),
    "6212345678901232": TestCard("UnionPay"),
    "4212345678901237": TestCard("Visa"),
    # error scenarios
    "4000000000003295": TestCard("Visa", "source_fail"),
    "4000000000003600": TestCard("Visa", "charge_fail"),
    "4000000000004103": TestCard("Visa", "capture_fail"),
    "4485951788521565": TestCard("Visa", "capture_fail_delayed"),
    "4024007120579635": TestCard("Visa", "capture_pending"),
    "4000000000000028": TestCard("Visa", "capture_pending"),
    "4000000000004442": TestCard("Visa", "cancel_fail"),
    "4000000000004111": TestCard("Visa", "refund_fail"),
    "4000000000004663": TestCard("Visa", "refund_fail"),
    "4556602564240839": TestCard("Visa", "refund_fail_delayed"),
}

LAST_NAMES: dict[str, Behaviour | None] = {
    "SourceFail": "source_fail",
    "SourceCreationFail": "source_fail",
    "authFail": "source_fail",
    "ChargeFail": "charge_fail",
    "ChargeCreationFail": "charge_fail",
    "SCATestFail": "charge_fail",
    "CaptureFail": "capture_fail",
    "CancelFail": "cancel_fail",
    "RefundFail": "refund_fail",
    "refundFail": "refund_fail",
    "RefundFailWhileCreation": "refund_fail",
    "RefundFailedAfterPending": "refund_fail_delayed",
    "RefundFailAfterPaymentInfo": "refund_fail_delayed",
    "SourceFailWithDelay": "payment_fail_delayed",
    "ChargeFailedAfterPending": "payment_fail_delayed",
    "ChargeRemainPending": "payment_stays_pending",
    "SCATest": None,
}
"""DR's ``owner.lastName`` triggers, applied to every source type in the sandbox."""

Fraud = Literal["pass", "reject", "review_accept", "review_block", "review"]


def fraud_outcome(email: str | None) -> Fraud:
    """Emulator-only fraud screening by the email's local part (case-insensitive).

    ``review+accept@…`` → in_review, then accepted; ``review+block@…`` → in_review, then
    blocked; ``review@…`` (or ``review+anything@…``) → in_review until resolved on demand;
    ``block@…`` (or ``block+anything@…``) → rejected at once (409, no order). Otherwise: passed.
    """
    local = (email or "").rpartition("@")[0].lower()
    head, _, tag = local.partition("+")
    if head == "block":
        return "reject"
    if head != "review":
        return "pass"
    if tag == "accept":
        return "review_accept"
    if tag == "block":
        return "review_block"
    return "review"


def card(number: str) -> TestCard | None:
    """The test card for a number written with or without spaces/dashes."""
    return TEST_CARDS.get(number.replace(" ", "").replace("-", ""))
