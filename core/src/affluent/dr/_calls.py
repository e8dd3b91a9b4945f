"""Pure builders turning resource-method arguments into :class:`~affluent.dr._base.Call` values:
paths, request bodies (validated into request models) and list query strings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from affluent.dr._base import Call, Resend, model_parser, parse_nothing
from affluent.dr.models import (
    Checkout,
    CheckoutRequest,
    Customer,
    CustomerRequest,
    DRModel,
    Event,
    Fulfillment,
    FulfillmentRequest,
    Order,
    Refund,
    RefundRequest,
    Return,
    ReturnRequest,
    Sku,
    SkuRequest,
    Source,
    SourceRequest,
    UpdateCheckoutRequest,
    UpdateCustomerRequest,
    UpdateOrderRequest,
    UpdateReturnRequest,
    UpdateWebhookRequest,
    Webhook,
    WebhookRequest,
)
from affluent.dr.pagination import HasId, PageData, list_parser

R = TypeVar("R", bound=DRModel)
M = TypeVar("M", bound=BaseModel)
ItemT = TypeVar("ItemT", bound=HasId)

# --- list filters -------------------------------------------------------------------------------

Scalar = str | int | float | bool | Decimal | datetime | date
TimeFilter = datetime | str | Mapping[str, datetime | str]
"""A timestamp, or a range such as ``{"gte": start, "lt": end}`` (ops eq gt gte lt lte)."""
AmountFilter = Decimal | int | float | str | Mapping[str, Decimal | int | float | str]
"""An amount, or a range such as ``{"gt": 10}``."""

RANGE_OPS = frozenset({"eq", "gt", "gte", "lt", "lte"})
MAX_EVENT_TYPES = 19  # DR: "fewer than 20"

# DR query names that are not the camelCase of the keyword (order state-transition filters).
_VERBATIM = frozenset(
    {"in_review", "pending_payment", "accepted", "blocked", "cancelled", "fulfilled", "complete"}
    | {"returned"}
)


class PageFilters(TypedDict, total=False):
    """Filters every list endpoint takes."""

    limit: int
    starting_after: str
    ending_before: str
    created_time: TimeFilter
    ids: Sequence[str]


class CustomerFilters(PageFilters, total=False):
    updated_time: TimeFilter
    email: str
    request_to_be_forgotten: bool


class CheckoutFilters(PageFilters, total=False):
    updated_time: TimeFilter
    upstream_ids: Sequence[str]
    customer_id: str
    application_id: str
    email: str
    currency: str
    total_amount: AmountFilter
    locale: str
    charge_type: str
    customer_type: str
    subscription_id: str
    browser_ip: str


class OrderFilters(CheckoutFilters, total=False):
    checkout_id: str
    state: str
    fraud_state: str
    sku_id: str
    refunded_amount: AmountFilter
    in_review: TimeFilter
    pending_payment: TimeFilter
    accepted: TimeFilter
    blocked: TimeFilter
    cancelled: TimeFilter
    fulfilled: TimeFilter
    complete: TimeFilter
    returned: TimeFilter


class FulfillmentFilters(PageFilters, total=False):
    order_id: str
    sku_id: str
    tracking_company: str
    tracking_number: str


class EventFilters(PageFilters, total=False):
    type: str
    types: Sequence[str]
    order_id: str


class RefundFilters(PageFilters, total=False):
    order_id: str
    state: str
    sku_id: str
    reason: str
    failure_reason: str
    amount: AmountFilter
    refunded_amount: AmountFilter


class ReturnFilters(PageFilters, total=False):
    order_id: str
    state: str
    sku_id: str


def format_value(value: object, *, name: str) -> str:
    """One query value as DR expects it; datetimes become ISO-8601 UTC with ``Z``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: datetime must be timezone-aware (got {value!r})")
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
        return text + "Z"
    if isinstance(value, str | int | float | Decimal | date):
        return str(value)
    raise TypeError(f"{name}: cannot send {type(value).__name__} as a query value")


def query_name(keyword: str) -> str:
    """DR's query name for a snake_case keyword (``checkout_id`` -> ``checkoutId``)."""
    return keyword if keyword in _VERBATIM else to_camel(keyword)


def encode_filters(filters: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Encode list keywords as query pairs: ``None`` skipped, sequences repeated, ranges
    as ``name[op]=value``."""
    pairs: list[tuple[str, str]] = []
    if filters.get("type") is not None and filters.get("types") is not None:
        raise ValueError("pass type or types, not both")
    limit = filters.get("limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100
    ):
        raise ValueError(f"limit must be an integer from 1 to 100, got {limit!r}")
    for key, value in filters.items():
        if value is None:
            continue
        name = query_name(key)
        if isinstance(value, Mapping):
            for op, item in value.items():
                if op not in RANGE_OPS:
                    raise ValueError(
                        f"{key}: unknown range operator {op!r} (use {', '.join(sorted(RANGE_OPS))})"
                    )
                pairs.append((f"{name}[{op}]", format_value(item, name=key)))
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            if key == "types" and len(value) > MAX_EVENT_TYPES:
                raise ValueError(f"types: at most {MAX_EVENT_TYPES} event types per request")
            pairs.extend((name, format_value(item, name=key)) for item in value)
        else:
            pairs.append((name, format_value(value, name=key)))
    return tuple(pairs)


# --- paths and bodies ---------------------------------------------------------------------------


def require_id(value: str, name: str) -> str:
    """``value`` if it is a non-empty string, else ``ValueError`` naming the argument."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def segment(value: str, name: str) -> str:
    """A path segment from an id: non-empty, percent-encoded (ids are opaque strings)."""
    return quote(require_id(value, name), safe="")


def body_of(model: type[R], request: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``request`` (a model or a mapping of DR or snake_case names) into ``model`` and
    return DR's JSON for it."""
    if isinstance(request, model):
        return request.to_dict()
    if isinstance(request, BaseModel):
        return model.model_validate(request.model_dump(by_alias=True)).to_dict()
    if isinstance(request, Mapping):
        return model.model_validate(request).to_dict()
    raise TypeError(f"expected {model.__name__} or a mapping, got {type(request).__name__}")


def create(
    path: str,
    body: dict[str, Any],
    result: type[M],
    *,
    resend: Resend = Resend.ALWAYS,
) -> Call[M]:
    return Call("POST", path, model_parser(result), body=body, resend=resend)


def retrieve(path: str, result: type[M], params: tuple[tuple[str, str], ...] = ()) -> Call[M]:
    return Call("GET", path, model_parser(result), params=params)


def update(path: str, body: dict[str, Any], result: type[M], *, method: str = "POST") -> Call[M]:
    return Call(method, path, model_parser(result), body=body)


def delete(path: str) -> Call[None]:
    return Call("DELETE", path, parse_nothing)


def list_call(path: str, item: type[ItemT], filters: Mapping[str, Any]) -> Call[PageData[ItemT]]:
    return Call("GET", path, list_parser(item), params=encode_filters(filters))


# --- the endpoints (one definition each; both clients run these) --------------------------------


def _item(collection: str, id_value: str, id_name: str) -> str:
    return f"/{collection}/{segment(id_value, id_name)}"


def _sub(parent: str, parent_id: str, parent_name: str, source_id: str) -> str:
    return f"{_item(parent, parent_id, parent_name)}/sources/{segment(source_id, 'source_id')}"


Request = BaseModel | Mapping[str, Any]


def create_customer(request: Request) -> Call[Customer]:
    return create("/customers", body_of(CustomerRequest, request), Customer)


def get_customer(customer_id: str) -> Call[Customer]:
    return retrieve(_item("customers", customer_id, "customer_id"), Customer)


def update_customer(customer_id: str, request: Request) -> Call[Customer]:
    path = _item("customers", customer_id, "customer_id")
    return update(path, body_of(UpdateCustomerRequest, request), Customer)


def delete_customer(customer_id: str) -> Call[None]:
    return delete(_item("customers", customer_id, "customer_id"))


def attach_customer_source(customer_id: str, source_id: str) -> Call[Source]:
    return update(_sub("customers", customer_id, "customer_id", source_id), {}, Source)


def detach_customer_source(customer_id: str, source_id: str) -> Call[None]:
    return delete(_sub("customers", customer_id, "customer_id", source_id))


def list_customers(filters: Mapping[str, Any]) -> Call[PageData[Customer]]:
    return list_call("/customers", Customer, filters)


def create_checkout(request: Request) -> Call[Checkout]:
    return create("/checkouts", body_of(CheckoutRequest, request), Checkout)


def get_checkout(checkout_id: str) -> Call[Checkout]:
    return retrieve(_item("checkouts", checkout_id, "checkout_id"), Checkout)


def update_checkout(checkout_id: str, request: Request) -> Call[Checkout]:
    path = _item("checkouts", checkout_id, "checkout_id")
    return update(path, body_of(UpdateCheckoutRequest, request), Checkout)


def delete_checkout(checkout_id: str) -> Call[None]:
    return delete(_item("checkouts", checkout_id, "checkout_id"))


def attach_checkout_source(checkout_id: str, source_id: str) -> Call[Source]:
    return update(_sub("checkouts", checkout_id, "checkout_id", source_id), {}, Source)


def detach_checkout_source(checkout_id: str, source_id: str) -> Call[None]:
    return delete(_sub("checkouts", checkout_id, "checkout_id", source_id))


def list_checkouts(filters: Mapping[str, Any]) -> Call[PageData[Checkout]]:
    return list_call("/checkouts", Checkout, filters)


def create_source(request: Request) -> Call[Source]:
    return create("/sources", body_of(SourceRequest, request), Source)


def get_source(source_id: str) -> Call[Source]:
    return retrieve(_item("sources", source_id, "source_id"), Source)


def create_sku(request: Request) -> Call[Sku]:
    return create("/skus", body_of(SkuRequest, request), Sku)


def get_sku(sku_id: str) -> Call[Sku]:
    return retrieve(_item("skus", sku_id, "sku_id"), Sku)


def create_order(checkout_id: str) -> Call[Order]:
    body = {"checkoutId": require_id(checkout_id, "checkout_id")}
    return create("/orders", body, Order, resend=Resend.ONLY_IF_NOT_SENT)


def get_order(order_id: str, *, expand: bool = False) -> Call[Order]:
    params = (("expand", "true"),) if expand else ()
    return retrieve(_item("orders", order_id, "order_id"), Order, params)


def update_order(order_id: str, request: Request) -> Call[Order]:
    path = _item("orders", order_id, "order_id")
    return update(path, body_of(UpdateOrderRequest, request), Order)


def list_orders(filters: Mapping[str, Any]) -> Call[PageData[Order]]:
    return list_call("/orders", Order, filters)


def create_fulfillment(request: Request) -> Call[Fulfillment]:
    body = body_of(FulfillmentRequest, request)
    return create("/fulfillments", body, Fulfillment, resend=Resend.ONLY_IF_NOT_SENT)


def get_fulfillment(fulfillment_id: str) -> Call[Fulfillment]:
    return retrieve(_item("fulfillments", fulfillment_id, "fulfillment_id"), Fulfillment)


def list_fulfillments(filters: Mapping[str, Any]) -> Call[PageData[Fulfillment]]:
    return list_call("/fulfillments", Fulfillment, filters)


def get_event(event_id: str) -> Call[Event]:
    return retrieve(_item("events", event_id, "event_id"), Event)


def list_events(filters: Mapping[str, Any]) -> Call[PageData[Event]]:
    return list_call("/events", Event, filters)


def create_refund(request: Request) -> Call[Refund]:
    body = body_of(RefundRequest, request)
    return create("/refunds", body, Refund, resend=Resend.ONLY_IF_NOT_SENT)


def get_refund(refund_id: str) -> Call[Refund]:
    return retrieve(_item("refunds", refund_id, "refund_id"), Refund)


def list_refunds(filters: Mapping[str, Any]) -> Call[PageData[Refund]]:
    return list_call("/refunds", Refund, filters)


def create_return(request: Request) -> Call[Return]:
    body = body_of(ReturnRequest, request)
    return create("/returns", body, Return, resend=Resend.ONLY_IF_NOT_SENT)


def get_return(return_id: str) -> Call[Return]:
    return retrieve(_item("returns", return_id, "return_id"), Return)


def update_return(return_id: str, request: Request) -> Call[Return]:
    path = _item("returns", return_id, "return_id")
    return update(path, body_of(UpdateReturnRequest, request), Return)


def list_returns(filters: Mapping[str, Any]) -> Call[PageData[Return]]:
    return list_call("/returns", Return, filters)


def create_webhook(request: Request) -> Call[Webhook]:
    return create("/webhooks", body_of(WebhookRequest, request), Webhook)


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return retrieve(_item("webhooks", webhook_id, "webhook_id"), Webhook)


def update_webhook(webhook_id: str, request: Request) -> Call[Webhook]:
    path = _item("webhooks", webhook_id, "webhook_id")
    return update(path, body_of(UpdateWebhookRequest, request), Webhook, method="PATCH")


def delete_webhook(webhook_id: str) -> Call[None]:
    return delete(_item("webhooks", webhook_id, "webhook_id"))


def list_webhooks(filters: Mapping[str, Any]) -> Call[PageData[Webhook]]:
    return list_call("/webhooks", Webhook, filters)


# --- look-up filters (what "belongs to" means when reconciling) --------------------------------

LOOKUP_PAGE_SIZE = 100


def is_order_of_checkout(order: Order, checkout_id: str) -> bool:
    """Strict: another checkout's order must never pass for ours (DR's 404 guards resends)."""
    return order.checkout_id == checkout_id


def may_belong_to_order(order_id: str | None, wanted: str) -> bool:
    """Lenient: an entry without ``orderId`` is kept, since missing a fulfillment, refund or
    return when reconciling would send a duplicate that moves money again."""
    return order_id in (None, wanted)
