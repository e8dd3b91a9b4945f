"""Fulfillments, refunds and cancellations -> canonical line-item changes (fixtures and rules)."""

from __future__ import annotations

from typing import Any

import pytest

from affluent.errors import InvalidInput
from affluent.models import LineChange, LineItemChanges, Tracking
from affluent_shopify_like.config import load as load_config
from affluent_shopify_like.line_changes import line_changes

GREEN, RED, BLACK = "466157049", "518995019", "703073504"


def changes(payload: Any, **values: Any) -> LineItemChanges | None:
    return line_changes(payload, load_config(values))


# -- fixtures -----------------------------------------------------------------------------------


def test_fulfillment_fixture_is_pending_so_not_shipped_yet(load: Any) -> None:
    assert changes(load("fulfillment.json")) is None


def test_fulfillment_fixture_ships_when_its_status_counts(load: Any) -> None:
    result = changes(load("fulfillment.json"), fulfillment_statuses=["success", "pending"])

    assert result == LineItemChanges(
        order_ref="450789469",
        change_ref="fulfillment:255858046",
        changes=[LineChange(line_ref=GREEN, shipped=1, cancelled=0)],
        tracking=Tracking(
            company="null-company",
            number="1Z2345",
            url="http://www.google.com/search?q=1Z2345",
        ),
    )


def test_fulfillment_fixture_as_success(load: Any) -> None:
    payload = load("fulfillment.json")
    payload["fulfillment"]["status"] = "success"
    result = changes(payload)
    assert result is not None
    assert result.changes == [LineChange(line_ref=GREEN, shipped=1)]


def test_refund_fixture_cancels_the_unshipped_refunded_lines(load: Any) -> None:
    result = changes(load("refund.json"))

    assert result == LineItemChanges(
        order_ref="450789469",
        change_ref="refund:509562969",
        changes=[
            LineChange(line_ref=BLACK, shipped=0, cancelled=1),
            LineChange(line_ref=GREEN, shipped=0, cancelled=1),
        ],
    )


def test_order_fixture_carries_only_a_failed_fulfillment(load: Any) -> None:
    """order.json as orders/updated: its one fulfillment failed, so nothing changed."""
    assert changes(load("order.json")) is None


def test_order_fixture_cancelled_cancels_every_unshipped_unit(load: Any) -> None:
    payload = load("order.json")
    payload["order"]["cancelled_at"] = "2008-01-10T12:00:00-05:00"

    result = changes(payload)

    assert result is not None
    assert result.change_ref == "cancel:450789469"
    assert result.order_ref == "450789469"
    assert result.changes == [
        LineChange(line_ref=GREEN, cancelled=1),
        LineChange(line_ref=RED, cancelled=1),
        LineChange(line_ref=BLACK, cancelled=1),
    ]


def test_cancel_leaves_out_shipped_and_already_refunded_units(load: Any) -> None:
    payload = load("order.json")
    order = payload["order"]
    order["cancelled_at"] = "2008-01-10T12:00:00-05:00"
    order["fulfillments"][0]["status"] = "success"  # GREEN shipped
    refund = load("refund.json")["refund"]
    refund["refund_line_items"] = refund["refund_line_items"][:1]  # BLACK cancelled by refund
    order["refunds"] = [refund]

    result = changes(payload)

    assert result is not None
    assert result.changes == [LineChange(line_ref=RED, cancelled=1)]


def test_cancel_with_nothing_left_is_no_change(load: Any) -> None:
    payload = load("order.json")
    order = payload["order"]
    order["cancelled_at"] = "2008-01-10T12:00:00-05:00"
    order["refunds"] = [load("refund.json")["refund"]]  # GREEN and BLACK
    order["fulfillments"][0]["status"] = "success"
    order["fulfillments"][0]["line_items"][0]["id"] = int(RED)

    assert changes(payload) is None


def test_updated_order_resends_its_latest_change(load: Any) -> None:
    payload = load("order.json")
    order = payload["order"]
    order["fulfillments"][0]["status"] = "success"  # 2014-01-22
    refund = load("refund.json")["refund"]  # 2016-06-20: the latest
    order["refunds"] = [refund]

    result = changes(payload)
    assert result is not None
    assert result.change_ref == "refund:509562969"

    refund["created_at"] = "2010-01-01T00:00:00-05:00"
    result = changes(payload)
    assert result is not None
    assert result.change_ref == "fulfillment:255858046"
    assert result.changes == [LineChange(line_ref=GREEN, shipped=1)]
    assert result.tracking is not None
    assert result.tracking.number == "1Z2345"


# -- refund rules -------------------------------------------------------------------------------


def _refund(load: Any, **line: Any) -> dict[str, Any]:
    payload = load("refund.json")
    refund_line = payload["refund"]["refund_line_items"][0]
    nested = line.pop("line_item", None)
    if nested is not None:
        refund_line["line_item"].update(nested)
    refund_line.update(line)
    payload["refund"]["refund_line_items"] = [refund_line]
    result: dict[str, Any] = payload
    return result


def test_refund_restock_type_cancel_cancels_every_unit(load: Any) -> None:
    payload = _refund(
        load, restock_type="cancel", quantity=1, line_item={"fulfillment_status": "fulfilled"}
    )
    result = changes(payload)
    assert result is not None
    assert result.changes == [LineChange(line_ref=BLACK, cancelled=1)]


def test_refund_of_returned_units_is_not_a_cancellation(load: Any) -> None:
    assert changes(_refund(load, restock_type="return")) is None


def test_refund_of_a_shipped_line_without_restock_is_not_a_cancellation(load: Any) -> None:
    payload = _refund(
        load, restock_type="no_restock", line_item={"fulfillment_status": "fulfilled"}
    )
    assert changes(payload) is None


def test_refund_of_a_partly_shipped_line_cancels_at_most_the_open_units(load: Any) -> None:
    payload = _refund(
        load,
        restock_type="no_restock",
        quantity=3,
        line_item={"fulfillment_status": "partial", "quantity": 5, "fulfillable_quantity": 2},
    )
    result = changes(payload)
    assert result is not None
    assert result.changes == [LineChange(line_ref=BLACK, cancelled=2)]


def test_refund_with_an_unknown_restock_type_is_refused(load: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        changes(_refund(load, restock_type="teleport"))
    assert caught.value.field == "refund.refund_line_items[0].restock_type"


def test_refund_line_whose_nested_line_disagrees_is_refused(load: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        changes(_refund(load, line_item_id=1))
    assert caught.value.field == "refund.refund_line_items[0].line_item.id"


# -- fulfillment rules --------------------------------------------------------------------------


def test_fulfillment_sums_repeated_lines_and_joins_tracking_numbers(load: Any) -> None:
    payload = load("fulfillment.json")
    body = payload["fulfillment"]
    body["status"] = "success"
    body["line_items"].append(dict(body["line_items"][0], quantity=2))
    body["tracking_numbers"] = ["1Z1", "1Z2"]

    result = changes(payload)

    assert result is not None
    assert result.changes == [LineChange(line_ref=GREEN, shipped=3)]
    assert result.tracking is not None
    assert result.tracking.number == "1Z1, 1Z2"


def test_bare_webhook_bodies_are_recognised(load: Any) -> None:
    fulfillment = load("fulfillment.json")["fulfillment"]
    fulfillment["status"] = "success"
    assert changes(fulfillment) is not None
    assert changes(load("refund.json")["refund"]) is not None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("order_id"), "fulfillment.order_id"),
        (lambda b: b.update(line_items=[]), "fulfillment.line_items"),
        (lambda b: b["line_items"][0].update(quantity="1"), "fulfillment.line_items[0].quantity"),
        (lambda b: b["line_items"][0].update(quantity=0), "fulfillment.line_items[0].quantity"),
        (lambda b: b["line_items"][0].pop("id"), "fulfillment.line_items[0].id"),
        (lambda b: b.update(line_items={"id": 1}), "fulfillment.line_items"),
    ],
)
def test_malformed_fulfillments_name_the_field(load: Any, mutate: Any, field: str) -> None:
    payload = load("fulfillment.json")
    payload["fulfillment"]["status"] = "success"
    mutate(payload["fulfillment"])
    with pytest.raises(InvalidInput) as caught:
        changes(payload)
    assert caught.value.field == field


def test_combined_fulfillment_and_refund_is_one_change(load: Any) -> None:
    fulfillment = load("fulfillment.json")["fulfillment"]
    fulfillment["status"] = "success"
    refund = load("refund.json")["refund"]
    refund["refund_line_items"] = refund["refund_line_items"][:1]  # BLACK

    result = changes({"fulfillment": fulfillment, "refund": refund})

    assert result is not None
    assert result.change_ref == "fulfillment:255858046+refund:509562969"
    assert result.changes == [
        LineChange(line_ref=GREEN, shipped=1),
        LineChange(line_ref=BLACK, cancelled=1),
    ]


def test_combined_events_of_two_orders_are_refused(load: Any) -> None:
    fulfillment = load("fulfillment.json")["fulfillment"]
    fulfillment["status"] = "success"
    refund = load("refund.json")["refund"]
    refund["order_id"] = 1
    with pytest.raises(InvalidInput) as caught:
        changes({"fulfillment": fulfillment, "refund": refund})
    assert caught.value.field == "refund.order_id"


@pytest.mark.parametrize("name", ["transaction.json", "order_risk.json", "fulfillment_event.json"])
def test_other_fixtures_are_not_line_events(load: Any, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        changes(load(name))
    assert caught.value.field == "payload"
