"""The lifecycle rules: state mapping, forward-only transitions, convergence, the line ledger."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from affluent.errors import QuantityExceeded
from affluent.lifecycle import (
    FINAL,
    DRState,
    LineLedger,
    OrderStatus,
    advance,
    effective_status,
    status_for_state,
)

S = OrderStatus


@pytest.mark.parametrize(
    ("state", "was_accepted", "expected"),
    [
        ("pending_payment", False, S.awaiting_payment),
        ("in_review", False, S.in_review),
        ("accepted", False, S.ready_to_fulfill),
        ("blocked", False, S.blocked),
        ("cancelled", False, S.payment_failed),
        ("cancelled", True, S.cancelled),
        ("fulfilled", True, S.fulfilled),
        ("complete", True, S.complete),
        ("returned", True, S.returned),
        ("dispute", True, S.disputed),
    ],
)
def test_design_table(state: str, was_accepted: bool, expected: OrderStatus) -> None:
    assert status_for_state(state, was_accepted=was_accepted) is expected


def test_every_dr_state_is_mapped() -> None:
    for state in DRState:
        assert status_for_state(state, was_accepted=True) in OrderStatus


def test_unknown_dr_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="shipped"):
        status_for_state("shipped", was_accepted=True)


def test_forward_moves_apply_and_backward_ones_are_stale() -> None:
    assert advance(None, S.in_review) is S.in_review
    assert advance(S.in_review, S.ready_to_fulfill) is S.ready_to_fulfill
    assert advance(S.ready_to_fulfill, S.in_review) is None
    assert advance(S.complete, S.complete) is None


@pytest.mark.parametrize("final", sorted(FINAL))
@pytest.mark.parametrize("target", [s for s in S if s is not S.disputed])
def test_final_statuses_never_change(final: OrderStatus, target: OrderStatus) -> None:
    assert advance(final, target) is None


def test_blocked_and_payment_failed_only_before_acceptance() -> None:
    assert advance(S.in_review, S.blocked) is S.blocked
    assert advance(S.awaiting_payment, S.payment_failed) is S.payment_failed
    assert advance(S.ready_to_fulfill, S.blocked) is None
    assert advance(S.ready_to_fulfill, S.payment_failed) is None
    assert advance(S.ready_to_fulfill, S.cancelled) is S.cancelled
    assert advance(S.fulfilled, S.cancelled) is None


def test_dispute_is_an_overlay() -> None:
    assert effective_status(S.complete, dispute_open=True) is S.disputed
    assert effective_status(S.complete, dispute_open=False) is S.complete
    with pytest.raises(ValueError, match="overlay"):
        advance(S.complete, S.disputed)


# Valid DR histories (design.md and digital-river-api.md §4.6), as the statuses they map to.
HISTORIES = [
    [S.ready_to_fulfill, S.fulfilled, S.complete],
    [S.in_review, S.ready_to_fulfill, S.fulfilled, S.complete, S.returned],
    [S.in_review, S.blocked],
    [S.awaiting_payment, S.ready_to_fulfill, S.complete],
    [S.awaiting_payment, S.payment_failed],
    [S.awaiting_payment, S.in_review, S.ready_to_fulfill, S.cancelled],
    [S.ready_to_fulfill, S.cancelled],
]


def _replay(events: list[OrderStatus]) -> OrderStatus | None:
    status: OrderStatus | None = None
    for target in events:
        status = advance(status, target) or status
    return status


@given(
    history=st.sampled_from(HISTORIES),
    data=st.data(),
)
def test_any_interleaving_converges_on_the_ordered_result(
    history: list[OrderStatus], data: st.DataObject
) -> None:
    deliveries = data.draw(
        st.lists(st.sampled_from(history), min_size=0, max_size=12).map(
            lambda extra: history + extra
        )
    )
    shuffled = data.draw(st.permutations(deliveries))
    assert _replay(list(shuffled)) is _replay(history) is history[-1]


@given(
    ordered=st.integers(1, 50),
    steps=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=30),
)
def test_ledger_never_exceeds_what_was_ordered(ordered: int, steps: list[tuple[int, int]]) -> None:
    ledger = LineLedger(ordered)
    for shipped, cancelled in steps:
        try:
            after = ledger.apply(shipped=shipped, cancelled=cancelled)
        except QuantityExceeded:
            assert shipped + cancelled > ledger.remaining
            continue
        assert after.fulfilled == ledger.fulfilled + shipped
        assert after.cancelled == ledger.cancelled + cancelled
        ledger = after
        assert 0 <= ledger.remaining <= ordered


def test_ledger_error_names_field_and_numbers() -> None:
    with pytest.raises(QuantityExceeded) as info:
        LineLedger(3, fulfilled=2).apply(shipped=1, cancelled=1, field="changes[0]")
    assert str(info.value) == (
        "changes[0]: 1 shipped + 1 cancelled exceeds the 1 unit(s) remaining of 3 ordered"
    )
