"""Models: round trips against DR-shaped JSON, tolerance, money, request validation."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from dr_support import fixture, fixture_bytes
from pydantic import BaseModel, ValidationError

from affluent.dr import (
    ChargeState,
    Checkout,
    CheckoutRequest,
    CreditCardRequest,
    CustomerRequest,
    ErrorEnvelope,
    Event,
    FraudState,
    Fulfillment,
    FulfillmentRequest,
    Order,
    OrderItemState,
    OrderState,
    RefundRequest,
    ReturnRequest,
    SessionState,
    SkuRequestItem,
    SourceRequest,
    UpdateCheckoutRequest,
    WebhookAuthentication,
)

ROUND_TRIPS: list[tuple[str, type[BaseModel]]] = [
    ("checkout_request.json", CheckoutRequest),
    ("checkout_201.json", Checkout),
    ("order_201.json", Order),
    ("order_409.json", ErrorEnvelope),
    ("fulfillment_request.json", FulfillmentRequest),
    ("fulfillment_201.json", Fulfillment),
    ("event_order_accepted.json", Event),
]


@pytest.mark.parametrize(("name", "model"), ROUND_TRIPS)
def test_fixture_round_trips_as_equal_json(name: str, model: type[BaseModel]) -> None:
    parsed = model.model_validate_json(fixture_bytes(name))
    dumped = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped == fixture(name)
    assert json.loads(parsed.model_dump_json(by_alias=True, exclude_none=True)) == fixture(name)


@pytest.mark.parametrize(("name", "model"), ROUND_TRIPS)
def test_fixture_round_trips_from_python_data(name: str, model: type[BaseModel]) -> None:
    parsed = model.model_validate(fixture(name))
    assert parsed.model_dump(by_alias=True, exclude_none=True, mode="json") == fixture(name)


def test_money_is_decimal_and_written_as_json_number() -> None:
    order = Order.model_validate_json(fixture_bytes("order_201.json"))
    assert order.total_amount == Decimal("35.67")
    assert isinstance(order.total_amount, Decimal)
    assert order.payment is not None and order.payment.charges is not None
    assert order.payment.charges[0].amount == Decimal("35.67")
    text = order.to_json()
    assert '"totalAmount":35.67' in text
    assert '"35.67"' not in text
    # arithmetic stays exact
    assert order.subtotal is not None and order.total_tax is not None
    assert order.subtotal + order.total_tax == order.total_amount


def test_money_accepts_strings_dr_sometimes_sends() -> None:
    refund = RefundRequest.model_validate({"orderId": "1", "currency": "usd", "amount": "27.01"})
    assert refund.amount == Decimal("27.01")
    assert refund.currency == "USD"
    assert refund.to_dict()["amount"] == 27.01


def test_attributes_are_snake_case_and_json_is_camel_case() -> None:
    checkout = Checkout.model_validate_json(fixture_bytes("checkout_201.json"))
    assert checkout.ship_to is not None and checkout.ship_to.address is not None
    assert checkout.ship_to.address.postal_code == "55802"
    assert checkout.payment is not None and checkout.payment.session is not None
    assert checkout.payment.session.amount_remaining_to_be_contributed == Decimal("35.67")
    assert checkout.payment.session.state is SessionState.REQUIRES_SOURCE
    assert "amountRemainingToBeContributed" in checkout.to_json()


def test_known_enum_values_become_enum_members() -> None:
    order = Order.model_validate_json(fixture_bytes("order_201.json"))
    assert order.state is OrderState.ACCEPTED
    assert order.fraud_state is FraudState.PASSED
    assert order.items is not None and order.items[0].state is OrderItemState.CREATED
    assert order.payment is not None and order.payment.charges is not None
    assert order.payment.charges[0].state is ChargeState.CAPTURABLE


def test_unknown_enum_values_and_fields_survive() -> None:
    raw = fixture("order_201.json")
    raw["state"] = "partially_settled"
    raw["fraudState"] = "manual_hold"
    raw["items"][0]["state"] = "on_hold"
    raw["payment"]["charges"][0]["state"] = "authorizing"
    raw["payment"]["session"]["state"] = "awaiting_bank"
    raw["brandNewField"] = {"nested": [1, 2.5, "x"]}
    raw["items"][0]["carbonOffset"] = 0.12
    raw["payment"]["charges"][0]["network"] = {"name": "visa"}
    order = Order.model_validate(raw)
    assert order.state == "partially_settled"
    assert not isinstance(order.state, OrderState)
    assert order.items is not None and order.items[0].state == "on_hold"
    assert order.model_extra == {"brandNewField": {"nested": [1, 2.5, "x"]}}
    assert order.to_dict() == raw


def test_unknown_event_type_and_version_field_variants_survive() -> None:
    raw = fixture("event_order_accepted.json")
    raw["type"] = "order.teleported"
    raw["digitalRiverVersion"] = raw.pop("digitalriverVersion")
    event = Event.model_validate(raw)
    assert event.type == "order.teleported"
    assert event.to_dict() == raw


def test_event_object_as_order() -> None:
    event = Event.model_validate_json(fixture_bytes("event_order_accepted.json"))
    order = event.object_as(Order)
    assert order.id == "301928470336"
    assert order.state is OrderState.ACCEPTED
    assert order.state_transitions is not None
    assert set(order.state_transitions) == {"in_review", "accepted"}
    assert event.created_time is not None and event.created_time.microsecond == 207315


def test_null_fields_dropped_not_written_as_null() -> None:
    order = Order.model_validate({"id": "1", "email": None, "state": "accepted"})
    assert order.to_dict() == {"id": "1", "state": "accepted"}


def test_order_item_lookup_by_item_id() -> None:
    order = Order.model_validate_json(fixture_bytes("order_201.json"))
    item = order.item("182736460336")
    assert item is not None and item.sku_id == "sku-lid"
    assert order.item("nope") is None


def test_request_models_accept_snake_or_camel_names() -> None:
    by_alias = CheckoutRequest.model_validate(fixture("checkout_request.json"))
    by_name = CheckoutRequest(
        currency="USD",
        items=[SkuRequestItem(sku_id="sku-mug-green", price=Decimal("12.25"), quantity=2)],
        upstream_id="shop-order-91b7e0",
    )
    assert by_alias.items[0].sku_id == by_name.items[0].sku_id
    assert by_name.to_dict() == {
        "currency": "USD",
        "items": [{"skuId": "sku-mug-green", "price": 12.25, "quantity": 2}],
        "upstreamId": "shop-order-91b7e0",
    }


def _error_locs(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


def _checkout(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(fixture("checkout_request.json"))
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("model", "data", "loc"),
    [
        (CheckoutRequest, _checkout(currency="US"), "currency"),
        (CheckoutRequest, _checkout(currency="US$"), "currency"),
        (CheckoutRequest, _checkout(items=[]), "items"),
        (CheckoutRequest, _checkout(items=[{"skuId": "a", "quantity": 0}]), "items.0.quantity"),
        (CheckoutRequest, _checkout(items=[{"skuId": "a", "price": -1}]), "items.0.price"),
        (CheckoutRequest, {"items": [{"skuId": "a"}]}, "currency"),
        (CustomerRequest, {"id": "x" * 41}, "id"),
        (FulfillmentRequest, {"orderId": "1", "items": []}, "items"),
        (FulfillmentRequest, {"items": [{"itemId": "i", "quantity": 1}]}, "orderId"),
        (FulfillmentRequest, {"orderId": "1", "items": [{"itemId": "i", "quantity": -1}]}, None),
        (ReturnRequest, {"orderId": "1", "items": [{"itemId": "i", "quantity": 0}]}, None),
        (
            ReturnRequest,
            {"orderId": "1", "items": [{"itemId": "i", "quantity": 1}], "reason": "r" * 65},
            "reason",
        ),
        (RefundRequest, {"orderId": "1", "currency": "EUR", "percent": 101}, "percent"),
        (UpdateCheckoutRequest, {"items": [{"skuId": "a"}]}, "items.0.id"),
    ],
)
def test_request_validation_names_the_field(
    model: type[BaseModel], data: dict[str, Any], loc: str | None
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        model.model_validate(data)
    if loc is not None:
        assert loc in _error_locs(excinfo.value)


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (SkuRequestItem, {"quantity": 1}, "skuId or productDetails"),
        (SkuRequestItem, {"skuId": "a", "price": 1, "aggregatePrice": 2}, "not both"),
        (FulfillmentRequest, {"orderId": "1", "items": [{"quantity": 1}]}, "itemId or skuId"),
        (FulfillmentRequest, {"orderId": "1", "items": [{"itemId": "i"}]}, "cancelQuantity"),
        (
            FulfillmentRequest,
            {"orderId": "1", "items": [{"itemId": "i", "quantity": 0, "cancelQuantity": 0}]},
            "at least 1",
        ),
        (RefundRequest, {"currency": "USD", "amount": 1}, "orderId or invoiceId"),
        (RefundRequest, {"orderId": "1", "currency": "USD"}, "exactly one"),
        (
            RefundRequest,
            {"orderId": "1", "currency": "USD", "amount": 1, "percent": 5},
            "exactly one",
        ),
    ],
)
def test_request_cross_field_rules(
    model: type[BaseModel], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(data)


def test_fulfillment_cancel_only_line_is_valid() -> None:
    req = FulfillmentRequest.model_validate(
        {"orderId": "1", "items": [{"itemId": "i", "cancelQuantity": 2}]}
    )
    assert req.to_dict() == {"orderId": "1", "items": [{"itemId": "i", "cancelQuantity": 2}]}


def test_sensitive_request_fields_stay_out_of_repr() -> None:
    source = SourceRequest(
        type="creditCard",
        credit_card=CreditCardRequest(
            number="4444222233331111", expiration_month=7, expiration_year=2031, cvv="123"
        ),
    )
    auth = WebhookAuthentication(user_name="hook", password="hunter2-very-secret")
    assert "4444222233331111" not in repr(source)
    assert "cvv='123'" not in repr(source)
    assert "hunter2-very-secret" not in repr(auth)
    # ... but they are still sent
    assert source.to_dict()["creditCard"]["number"] == "4444222233331111"
