"""affluent statuses and DR checkout totals -> Shopify's vocabulary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from affluent.lifecycle import OrderStatus
from affluent.models import CheckoutSummary, LineTax, LineView, OrderView, SellingEntity
from affluent_shopify_like.config import load as load_config
from affluent_shopify_like.translate_out import checkout_update, status_update

ENTITY = SellingEntity(id="C5_INC-ENTITY", name="DR globalTech Inc.")


def view(
    status: OrderStatus,
    ledger: list[tuple[int, int, int, int]] = [(2, 0, 0, 0), (1, 0, 0, 0)],  # noqa: B006
    **values: Any,
) -> OrderView:
    fields: dict[str, Any] = {
        "platform": "shopify_like",
        "order_ref": "450789469",
        "status": status.value,
        "dr_state": "accepted",
        "dr_order_id": "240000000001",
        "dr_checkout_id": "0f4b8a1c-2c1d-4a36-9f11-6b0f5a0c9d01",
        "dr_customer_id": "shopify-207119551",
        "currency": "USD",
        "total_amount": Decimal("422.00"),
        "selling_entity": ENTITY,
        "shopper_message": None,
        "lines": [
            LineView(
                line_ref=str(index + 1),
                dr_item_id=f"item-{index}",
                sku_id=f"SKU{index}",
                ordered=ordered,
                fulfilled=fulfilled,
                cancelled=cancelled,
                returned=returned,
            )
            for index, (ordered, fulfilled, cancelled, returned) in enumerate(ledger)
        ],
    }
    fields.update(values)
    return OrderView(**fields)


CONFIG = load_config({})


@pytest.mark.parametrize(
    ("status", "ledger", "financial", "fulfillment"),
    [
        (OrderStatus.awaiting_payment, [(2, 0, 0, 0)], "pending", None),
        (OrderStatus.in_review, [(2, 0, 0, 0)], "pending", None),
        (OrderStatus.ready_to_fulfill, [(2, 0, 0, 0)], "authorized", None),
        (OrderStatus.ready_to_fulfill, [(2, 1, 0, 0)], "partially_paid", "partial"),
        (OrderStatus.ready_to_fulfill, [(2, 0, 1, 0), (1, 0, 0, 0)], "authorized", None),
        (OrderStatus.fulfilled, [(2, 2, 0, 0), (1, 0, 1, 0)], "paid", "fulfilled"),
        (OrderStatus.complete, [(2, 2, 0, 0)], "paid", "fulfilled"),
        (OrderStatus.returned, [(2, 2, 0, 2)], "refunded", "fulfilled"),
        (OrderStatus.returned, [(2, 2, 0, 1)], "partially_refunded", "fulfilled"),
        (OrderStatus.cancelled, [(2, 0, 2, 0)], "voided", None),
        (OrderStatus.blocked, [(2, 0, 0, 0)], "voided", None),
        (OrderStatus.payment_failed, [(2, 0, 0, 0)], "voided", None),
    ],
)
def test_financial_and_fulfillment_status(
    status: OrderStatus, ledger: Any, financial: str, fulfillment: str | None
) -> None:
    update = status_update(view(status, ledger), status, CONFIG)
    assert update.kind == "status"
    assert update.order_ref == "450789469"
    order = update.body["order"]
    assert order["id"] == "450789469"
    assert order["financial_status"] == financial
    assert order["fulfillment_status"] == fulfillment


@pytest.mark.parametrize(
    ("status", "reason"),
    [(OrderStatus.blocked, "fraud"), (OrderStatus.payment_failed, "declined")],
)
def test_blocked_and_failed_payments_cancel_the_order(status: OrderStatus, reason: str) -> None:
    update = status_update(view(status), status, CONFIG)
    assert update.body["cancel"] == {"reason": reason}


@pytest.mark.parametrize(
    "status", [s for s in OrderStatus if s not in (OrderStatus.blocked, OrderStatus.payment_failed)]
)
def test_other_statuses_never_cancel(status: OrderStatus) -> None:
    assert "cancel" not in status_update(view(status), status, CONFIG).body


def test_dispute_leaves_the_financial_status_and_tags_it() -> None:
    update = status_update(view(OrderStatus.disputed), OrderStatus.disputed, CONFIG)
    assert "financial_status" not in update.body["order"]
    assert update.body["tags"]["dr-status:"] == "dr-status:disputed"


def test_tags_and_metafields_carry_dr_ids_state_and_entity() -> None:
    update = status_update(view(OrderStatus.ready_to_fulfill), OrderStatus.ready_to_fulfill, CONFIG)

    assert update.body["tags"] == {
        "dr-status:": "dr-status:ready_to_fulfill",
        "dr-state:": "dr-state:accepted",
        "dr-order:": "dr-order:240000000001",
        "dr-entity:": "dr-entity:C5_INC-ENTITY",
    }
    metafields = {m["key"]: m for m in update.body["order"]["metafields"]}
    assert {key: m["value"] for key, m in metafields.items()} == {
        "status": "ready_to_fulfill",
        "state": "accepted",
        "order_id": "240000000001",
        "checkout_id": "0f4b8a1c-2c1d-4a36-9f11-6b0f5a0c9d01",
        "customer_id": "shopify-207119551",
        "selling_entity_id": "C5_INC-ENTITY",
        "selling_entity_name": "DR globalTech Inc.",
    }
    assert {m["namespace"] for m in metafields.values()} == {"digital_river"}


def test_declined_payment_message_and_missing_ids() -> None:
    order = view(
        OrderStatus.payment_failed,
        dr_state=None,
        dr_order_id=None,
        shopper_message="We could not complete your payment.",
    )
    update = status_update(order, OrderStatus.payment_failed, CONFIG)
    assert update.body["tags"]["dr-order:"] is None  # removes a stale tag, adds none
    assert update.body["tags"]["dr-state:"] is None
    metafields = {m["key"]: m for m in update.body["order"]["metafields"]}
    assert "order_id" not in metafields
    assert metafields["shopper_message"]["type"] == "multi_line_text_field"


def test_tags_and_metafields_can_be_switched_off_and_renamed() -> None:
    config = load_config({"write_tags": False, "metafield_namespace": "acme_dr"})
    update = status_update(view(OrderStatus.complete), OrderStatus.complete, config)
    assert "tags" not in update.body
    assert {m["namespace"] for m in update.body["order"]["metafields"]} == {"acme_dr"}
    config = load_config({"write_metafields": False, "tag_prefix": "drx-"})
    update = status_update(view(OrderStatus.complete), OrderStatus.complete, config)
    assert "metafields" not in update.body["order"]
    assert update.body["tags"]["drx-status:"] == "drx-status:complete"


def test_a_checkout_token_reference_is_written_as_a_checkout_and_never_cancelled() -> None:
    token = "bd5a8aa1ecd019dd3520ff791ee3a24c"
    update = status_update(view(OrderStatus.blocked, order_ref=token), OrderStatus.blocked, CONFIG)
    assert set(update.body) == {"checkout", "tags"}
    assert update.body["checkout"]["id"] == token
    assert "financial_status" not in update.body["checkout"]


def test_checkout_tax_lines_and_totals() -> None:
    summary = CheckoutSummary(
        order_ref="450789469",
        checkout_id="0f4b8a1c",
        currency="USD",
        subtotal=Decimal("402.00"),
        total_tax=Decimal("24.30"),
        total_shipping=Decimal("5.00"),
        total_discount=Decimal("10.00"),
        total_amount=Decimal("426.30"),
        selling_entity=ENTITY,
        lines=[
            LineTax(
                line_ref="1",
                amount=Decimal("189.00"),
                tax=Decimal("11.34"),
                tax_rate=Decimal("0.06"),
            ),
            LineTax(
                line_ref="2",
                amount=Decimal("199.00"),
                tax=Decimal("11.94"),
                tax_rate=Decimal("0.06"),
            ),
            LineTax(line_ref="3", amount=Decimal("9.00"), tax=Decimal("0"), tax_rate=Decimal("0")),
        ],
        final=True,
    )

    update = checkout_update(summary, CONFIG)

    assert update.kind == "checkout"
    order = update.body["order"]
    assert order["total_tax"] == "24.30"
    assert order["total_price"] == "426.30"
    assert order["subtotal_price"] == "397.00"
    assert order["total_discounts"] == "10.00"
    assert order["total_shipping_price"] == "5.00"
    assert order["tax_lines"] == [
        {"title": "Tax", "price": "23.28", "rate": 0.06},
        {"title": "Tax (shipping and fees)", "price": "1.02", "rate": 0.204},
    ]
    assert order["line_items"] == [
        {"id": "1", "tax_lines": [{"title": "Tax", "price": "11.34", "rate": 0.06}]},
        {"id": "2", "tax_lines": [{"title": "Tax", "price": "11.94", "rate": 0.06}]},
        {"id": "3", "tax_lines": [{"title": "Tax", "price": "0.00", "rate": 0.0}]},
    ]
    metafields = {m["key"]: m["value"] for m in order["metafields"]}
    assert metafields == {
        "checkout_id": "0f4b8a1c",
        "selling_entity_id": "C5_INC-ENTITY",
        "selling_entity_name": "DR globalTech Inc.",
        "tax_final": "true",
    }
    assert update.body["tags"] == {"dr-entity:": "dr-entity:C5_INC-ENTITY"}
