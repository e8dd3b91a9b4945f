"""Pydantic models of Digital River's JSON objects.

Attributes are snake_case; each has DR's camelCase name as its alias, and models dump by alias, so
``model.model_dump(mode="json", exclude_none=True)`` (or ``model.to_dict()``) is the JSON Digital
River sends and expects. Either name is accepted on input.

Tolerance: unknown fields are kept (``extra="allow"``) and written back unchanged; enum-typed
fields accept values DR adds later and keep them as plain strings. Money is
:class:`~decimal.Decimal` in Python and a JSON number on the wire.

Request models (``*Request``) check what DR would reject anyway and cheaply (quantity >= 1,
3-letter currency, required fields); the validation error names the field by its DR name.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "AdditionalAddressInfo",
    "Address",
    "Billing",
    "Cancel",
    "Capture",
    "Charge",
    "ChargeOperationState",
    "ChargeRefund",
    "ChargeState",
    "ChargeType",
    "Checkout",
    "CheckoutRequest",
    "CreditCard",
    "CreditCardRequest",
    "Customer",
    "CustomerRequest",
    "CustomerType",
    "DRModel",
    "Discount",
    "Duties",
    "ErrorDetail",
    "ErrorEnvelope",
    "Event",
    "EventData",
    "Fees",
    "FraudState",
    "Fulfillment",
    "FulfillmentItem",
    "FulfillmentRequest",
    "FulfillmentRequestItem",
    "ImporterTax",
    "Money",
    "NextAction",
    "Number",
    "Order",
    "OrderItem",
    "OrderItemState",
    "OrderState",
    "Owner",
    "Payment",
    "ProductDetails",
    "PurchaseLocation",
    "Refund",
    "RefundItem",
    "RefundRequest",
    "RefundRequestItem",
    "RefundState",
    "Return",
    "ReturnItem",
    "ReturnLocation",
    "ReturnRequest",
    "ReturnRequestItem",
    "ReturnState",
    "SellingEntity",
    "Session",
    "SessionState",
    "ShipFrom",
    "Shipping",
    "ShippingChoice",
    "Sku",
    "SkuItem",
    "SkuRequest",
    "SkuRequestItem",
    "Source",
    "SourceFlow",
    "SourceRequest",
    "SourceState",
    "Tax",
    "TaxIdentifier",
    "Tolerant",
    "UpdateCheckoutItem",
    "UpdateCheckoutRequest",
    "UpdateCustomerRequest",
    "UpdateOrderRequest",
    "UpdateReturnItem",
    "UpdateReturnRequest",
    "UpdateWebhookRequest",
    "Webhook",
    "WebhookAuthentication",
    "WebhookOAuth",
    "WebhookRequest",
]

M = TypeVar("M", bound="DRModel")
E = TypeVar("E", bound=StrEnum)


# --- building blocks ----------------------------------------------------------------------------


def _number_to_json(value: Decimal) -> float:
    return float(value)


Number = Annotated[Decimal, PlainSerializer(_number_to_json, return_type=float, when_used="json")]
"""A decimal (rate, percentage, weight): ``Decimal`` in Python, a JSON number on the wire."""

Money = Number
"""A money amount: ``Decimal`` in Python, a JSON number on the wire (never a string)."""

Tolerant = Annotated[E | str, Field(union_mode="left_to_right")]
"""An enum field that also keeps values DR adds later, as plain strings."""

Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)]
"""ISO-4217 code: three letters, upper-cased."""

Quantity = Annotated[int, Field(ge=1)]
"""A count of units: at least 1."""

Metadata = dict[str, Any]


class DRModel(BaseModel):
    """Base of every Digital River model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )

    def to_dict(self) -> dict[str, Any]:
        """DR's JSON as Python data: aliases, no ``None`` values, JSON-safe types."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        """DR's JSON text (aliases, no ``None`` values)."""
        return self.model_dump_json(by_alias=True, exclude_none=True)


# --- enums (the values DR documents; fields typed Tolerant[...] also keep new ones) --------------


class OrderState(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    COMPLETE = "complete"
    RETURNED = "returned"
    DISPUTE = "dispute"


class FraudState(StrEnum):
    REVIEW_OPENED = "review_opened"
    BLOCKED = "blocked"
    PASSED = "passed"


class OrderItemState(StrEnum):
    CREATED = "created"
    FULFILLED = "fulfilled"
    PAID = "paid"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    RETURNED = "returned"


class SessionState(StrEnum):
    REQUIRES_SOURCE = "requires_source"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    CONFIRMED = "confirmed"
    PENDING = "pending"
    PENDING_FUNDS = "pending_funds"
    PENDING_REDIRECT = "pending_redirect"
    CHARGEABLE = "chargeable"
    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class SourceState(StrEnum):
    PENDING_FUNDS = "pending_funds"
    PENDING_REDIRECT = "pending_redirect"
    REQUIRES_ACTION = "requires_action"
    CHARGEABLE = "chargeable"
    CONSUMED = "consumed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class SourceFlow(StrEnum):
    STANDARD = "standard"
    REDIRECT = "redirect"
    RECEIVER = "receiver"


class ChargeState(StrEnum):
    PENDING = "pending"
    CAPTURABLE = "capturable"
    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ChargeOperationState(StrEnum):
    """State of a capture, cancel or charge-level refund."""

    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    COMPLETE = "complete"
    FAILED = "failed"


class RefundState(StrEnum):
    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class ReturnState(StrEnum):
    CREATED = "created"
    ACCEPTED = "accepted"


class ChargeType(StrEnum):
    CUSTOMER_INITIATED = "customer_initiated"
    MERCHANT_INITIATED = "merchant_initiated"
    MOTO = "moto"


class CustomerType(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


# --- errors -------------------------------------------------------------------------------------


class ErrorDetail(DRModel):
    """One entry of the error envelope's ``errors`` array."""

    code: str | None = None
    parameter: str | None = None
    message: str | None = None


class ErrorEnvelope(DRModel):
    """Body of every 4xx/5xx answer: ``{"type": ..., "errors": [...]}``."""

    type: str | None = None
    errors: list[ErrorDetail] = Field(default_factory=list)


# --- addresses and shared parts -----------------------------------------------------------------


class Address(DRModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None


class AdditionalAddressInfo(DRModel):
    neighborhood: str | None = None
    division: str | None = None
    phonetic_name: str | None = None


class Shipping(DRModel):
    """A ship-to party (``shipTo``; customers' ``shipping``)."""

    address: Address | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    organization: str | None = None
    additional_address_info: AdditionalAddressInfo | None = None


class Billing(Shipping):
    """The bill-to party (``billTo``); DR needs ``address`` and ``name`` before ordering."""


class ShipFrom(DRModel):
    address: Address | None = None
    additional_address_info: AdditionalAddressInfo | None = None


class ShippingChoice(DRModel):
    id: str | None = None
    amount: Money | None = None
    tax_amount: Money | None = None
    description: str | None = None
    service_level: str | None = None
    shipping_terms: str | None = None


class SellingEntity(DRModel):
    id: str | None = None
    name: str | None = None


class Discount(DRModel):
    """``amountOff`` (per unit) or ``percentOff``; on items ``quantity`` limits the units."""

    amount_off: Money | None = None
    percent_off: Number | None = None
    quantity: int | None = None


class Tax(DRModel):
    rate: Number | None = None
    amount: Money | None = None


class ImporterTax(DRModel):
    amount: Money | None = None


class Duties(DRModel):
    amount: Money | None = None


class Fees(DRModel):
    amount: Money | None = None
    tax_amount: Money | None = None
    details: list[dict[str, Any]] | None = None


class ProductDetails(DRModel):
    id: str | None = None
    sku_group_id: str | None = None
    name: str | None = None
    description: str | None = None
    url: str | None = None
    country_of_origin: str | None = None
    image: str | None = None
    weight: Number | None = None
    weight_unit: str | None = None
    part_number: str | None = None


class TaxIdentifier(DRModel):
    id: str | None = None
    type: str | None = None
    value: str | None = None


class PurchaseLocation(DRModel):
    country: str | None = None
    state: str | None = None
    postal_code: str | None = None


# --- payment: sources, sessions, charges -------------------------------------------------------


class Owner(DRModel):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    organization: str | None = None
    upstream_id: str | None = None
    address: Address | None = None
    additional_address_info: AdditionalAddressInfo | None = None


class CreditCard(DRModel):
    """Card details as DR returns them (masked)."""

    brand: str | None = None
    expiration_month: int | None = None
    expiration_year: int | None = None
    last_four_digits: str | None = None


class CreditCardRequest(DRModel):
    """Raw card data for server-side test-mode sources; kept out of ``repr``."""

    number: str = Field(repr=False)
    expiration_month: int = Field(ge=1, le=12)
    expiration_year: int
    cvv: str | None = Field(default=None, repr=False)


class Source(DRModel):
    id: str
    client_secret: str | None = Field(default=None, repr=False)
    created_time: datetime | None = None
    type: str | None = None
    currency: str | None = None
    amount: Money | None = None
    reusable: bool | None = None
    owner: Owner | None = None
    credit_card: CreditCard | None = None
    pay_pal: dict[str, Any] | None = None
    wire_transfer: dict[str, Any] | None = None
    customer_credit: dict[str, Any] | None = None
    flow: Tolerant[SourceFlow] | None = None
    state: Tolerant[SourceState] | None = None
    customer_id: str | None = None
    payment_session_id: str | None = None
    upstream_id: str | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class SourceRequest(DRModel):
    """Body of ``POST /sources`` (server-side creation: store credit, test-mode sources)."""

    type: str
    payment_session_id: str | None = None
    amount: Money | None = Field(default=None, ge=0)
    currency: Currency | None = None
    upstream_id: str | None = None
    reusable: bool | None = None
    owner: Owner | None = None
    credit_card: CreditCardRequest | None = None
    wire_transfer: dict[str, Any] | None = None
    pay_pal: dict[str, Any] | None = None
    customer_credit: dict[str, Any] | None = None
    metadata: Metadata | None = None


class NextAction(DRModel):
    """What the shopper must do next (``redirect``, ``show_payment_instructions``)."""

    action: str | None = None
    data: dict[str, Any] | None = None


class Session(DRModel):
    """The checkout's payment session (``payment.session``)."""

    id: str | None = None
    amount_contributed: Money | None = None
    amount_remaining_to_be_contributed: Money | None = None
    state: Tolerant[SessionState] | None = None
    client_secret: str | None = Field(default=None, repr=False)
    next_action: NextAction | None = None


class _ChargeOperation(DRModel):
    id: str | None = None
    created_time: datetime | None = None
    updated_time: datetime | None = None
    amount: Money | None = None
    state: Tolerant[ChargeOperationState] | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class Capture(_ChargeOperation):
    fulfillment_id: str | None = None


class Cancel(_ChargeOperation):
    pass


class ChargeRefund(_ChargeOperation):
    reason: str | None = None


class Charge(DRModel):
    id: str
    created_time: datetime | None = None
    currency: str | None = None
    amount: Money | None = None
    state: Tolerant[ChargeState] | None = None
    order_id: str | None = None
    source_id: str | None = None
    payment_session_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    captured: bool | None = None
    captures: list[Capture] | None = None
    cancels: list[Cancel] | None = None
    refunded: bool | None = None
    refunds: list[ChargeRefund] | None = None
    type: Tolerant[ChargeType] | None = None
    live_mode: bool | None = None


class Payment(DRModel):
    sources: list[Source] | None = None
    charges: list[Charge] | None = None
    session: Session | None = None


# --- customers ----------------------------------------------------------------------------------


class Customer(DRModel):
    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    email: str | None = None
    shipping: Shipping | None = None
    default_source_id: str | None = None
    sources: list[Source] | None = None
    type: Tolerant[CustomerType] | None = None
    locale: str | None = None
    enabled: bool | None = None
    request_to_be_forgotten: bool | None = None
    tax_identifiers: list[TaxIdentifier] | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class _CustomerWritable(DRModel):
    email: str | None = None
    shipping: Shipping | None = None
    default_source_id: str | None = None
    type: CustomerType | None = None
    locale: str | None = None
    enabled: bool | None = None
    tax_identifiers: list[TaxIdentifier] | None = None
    metadata: Metadata | None = None


class CustomerRequest(_CustomerWritable):
    """Body of ``POST /customers``; ``id`` is optional (DR generates one), at most 40 chars."""

    id: str | None = Field(default=None, min_length=1, max_length=40)


class UpdateCustomerRequest(_CustomerWritable):
    """Body of ``POST /customers/{id}``."""

    request_to_be_forgotten: bool | None = None


# --- checkout items -----------------------------------------------------------------------------


class SkuItem(DRModel):
    """A line of a checkout, as DR returns it (``id`` differs from the order item id)."""

    id: str | None = None
    sku_id: str | None = None
    product_details: ProductDetails | None = None
    price: Money | None = None
    aggregate_price: Money | None = None
    quantity: int | None = None
    amount: Money | None = None
    tax: Tax | None = None
    importer_tax: ImporterTax | None = None
    duties: Duties | None = None
    fees: Fees | None = None
    discount: Discount | None = None
    ship_from: ShipFrom | None = None
    shipping: dict[str, Any] | None = None
    subscription_info: dict[str, Any] | None = None
    seller_tax_identifier: dict[str, Any] | None = None
    metadata: Metadata | None = None


class SkuRequestItem(DRModel):
    """A line of ``POST /checkouts``: ``skuId`` or ``productDetails``, a price, a quantity."""

    sku_id: str | None = None
    product_details: ProductDetails | None = None
    price: Money | None = Field(default=None, ge=0)
    aggregate_price: Money | None = Field(default=None, ge=0)
    quantity: Quantity = 1
    discount: Discount | None = None
    ship_from: ShipFrom | None = None
    subscription_info: dict[str, Any] | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _identifies_product(self) -> Self:
        if self.sku_id is None and self.product_details is None:
            raise ValueError("skuId or productDetails is required")
        if self.price is not None and self.aggregate_price is not None:
            raise ValueError("send price or aggregatePrice, not both")
        return self


class UpdateCheckoutItem(DRModel):
    """A line in ``POST /checkouts/{id}``: only ``shipFrom``, ``subscriptionInfo``, ``metadata``
    of an existing line (by checkout item ``id``) may change."""

    id: str = Field(min_length=1)
    ship_from: ShipFrom | None = None
    subscription_info: dict[str, Any] | None = None
    metadata: Metadata | None = None


# --- checkouts and orders -----------------------------------------------------------------------


class _CartFields(DRModel):
    """Fields a checkout and the order built from it share."""

    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    customer_id: str | None = None
    currency: str | None = None
    email: str | None = None
    locale: str | None = None
    browser_ip: str | None = None
    application_id: str | None = None
    upstream_id: str | None = None
    ship_from: ShipFrom | None = None
    ship_to: Shipping | None = None
    bill_to: Billing | None = None
    organization: dict[str, Any] | None = None
    subtotal: Money | None = None
    total_tax: Money | None = None
    total_importer_tax: Money | None = None
    importer_of_record_tax: bool | None = None
    total_fees: Money | None = None
    total_duty: Money | None = None
    total_discount: Money | None = None
    total_shipping: Money | None = None
    total_amount: Money | None = None
    discount: Discount | None = None
    shipping_choice: ShippingChoice | None = None
    tax_identifiers: list[TaxIdentifier] | None = None
    purchase_location: PurchaseLocation | None = None
    customer_type: Tolerant[CustomerType] | None = None
    charge_type: Tolerant[ChargeType] | None = None
    selling_entity: SellingEntity | None = None
    payment: Payment | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class Checkout(_CartFields):
    items: list[SkuItem] | None = None


class _CheckoutWritable(DRModel):
    """Fields accepted by both ``POST /checkouts`` and ``POST /checkouts/{id}``."""

    customer_id: str | None = None
    source_id: str | None = None
    email: str | None = None
    locale: str | None = None
    browser_ip: str | None = None
    application_id: str | None = None
    upstream_id: str | None = None
    ship_from: ShipFrom | None = None
    ship_to: Shipping | None = None
    bill_to: Billing | None = None
    organization: dict[str, Any] | None = None
    shipping_choice: ShippingChoice | None = None
    shipping_discount: Discount | None = None
    charge_type: ChargeType | None = None
    customer_type: CustomerType | None = None
    tax_identifiers: list[TaxIdentifier] | None = None
    purchase_location: PurchaseLocation | None = None
    metadata: Metadata | None = None


class CheckoutRequest(_CheckoutWritable):
    """Body of ``POST /checkouts``."""

    currency: Currency
    items: list[SkuRequestItem] = Field(min_length=1)
    discount: Discount | None = None
    tax_inclusive: bool | None = None


class UpdateCheckoutRequest(_CheckoutWritable):
    """Body of ``POST /checkouts/{id}``: items cannot be added and quantities cannot change."""

    currency: Currency | None = None
    items: list[UpdateCheckoutItem] | None = None


class OrderItem(DRModel):
    """A line of an order; ``id`` is the order item id fulfillments and refunds refer to."""

    id: str | None = None
    sku_id: str | None = None
    product_details: ProductDetails | None = None
    quantity: int | None = None
    amount: Money | None = None
    state: Tolerant[OrderItemState] | None = None
    state_transitions: dict[str, datetime] | None = None
    available_to_refund_amount: Money | None = None
    tax: Tax | None = None
    importer_tax: ImporterTax | None = None
    duties: Duties | None = None
    fees: Fees | None = None
    discount: Discount | None = None
    ship_from: ShipFrom | None = None
    shipping: dict[str, Any] | None = None
    subscription_info: dict[str, Any] | None = None
    seller_tax_identifier: dict[str, Any] | None = None
    metadata: Metadata | None = None


class Order(_CartFields):
    checkout_id: str | None = None
    items: list[OrderItem] | None = None
    state: Tolerant[OrderState] | None = None
    state_transitions: dict[str, datetime] | None = None
    fraud_state: Tolerant[FraudState] | None = None
    fraud_state_transitions: dict[str, datetime] | None = None
    captured_amount: Money | None = None
    cancelled_amount: Money | None = None
    refunded_amount: Money | None = None
    available_to_refund_amount: Money | None = None
    cancel_reason: str | None = None
    request_to_be_forgotten: bool | None = None
    invoice_pdfs: list[dict[str, Any]] | None = Field(default=None, alias="invoicePDFs")
    credit_memo_pdfs: list[dict[str, Any]] | None = Field(default=None, alias="creditMemoPDFs")

    def item(self, item_id: str) -> OrderItem | None:
        """The line with order item id ``item_id``, if any."""
        return next((i for i in self.items or () if i.id == item_id), None)


class UpdateOrderRequest(DRModel):
    """Body of ``POST /orders/{id}``."""

    upstream_id: str | None = None
    metadata: Metadata | None = None
    request_to_be_forgotten: bool | None = None


# --- fulfillments -------------------------------------------------------------------------------


class FulfillmentItem(DRModel):
    item_id: str | None = None
    sku_id: str | None = None
    shipment_item_id: str | None = None
    quantity: int | None = None
    cancel_quantity: int | None = None


class FulfillmentRequestItem(DRModel):
    """One order line to ship (``quantity``) and/or cancel (``cancelQuantity``)."""

    item_id: str | None = None
    sku_id: str | None = None
    shipment_item_id: str | None = None
    quantity: int | None = Field(default=None, ge=0)
    cancel_quantity: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.item_id and not self.sku_id:
            raise ValueError("itemId or skuId is required")
        if not (self.quantity or self.cancel_quantity):
            raise ValueError("quantity or cancelQuantity must be at least 1")
        return self


class Fulfillment(DRModel):
    id: str
    created_time: datetime | None = None
    order_id: str | None = None
    shipment_id: str | None = None
    items: list[FulfillmentItem] | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    order_details: dict[str, Any] | None = None
    charge_operation_ids: list[str] | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class FulfillmentRequest(DRModel):
    """Body of ``POST /fulfillments``: ship and/or cancel units of an accepted order."""

    order_id: str = Field(min_length=1)
    items: list[FulfillmentRequestItem] = Field(min_length=1)
    shipment_id: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    metadata: Metadata | None = None


# --- refunds ------------------------------------------------------------------------------------


class RefundItem(DRModel):
    item_id: str | None = None
    sku_id: str | None = None
    quantity: int | None = None
    amount: Money | None = None
    refunded_amount: Money | None = None
    percent: Number | None = None
    type: str | None = None


class RefundRequestItem(DRModel):
    item_id: str = Field(min_length=1)
    sku_id: str | None = None
    quantity: Quantity | None = None
    amount: Money | None = Field(default=None, gt=0)
    percent: Number | None = Field(default=None, gt=0, le=100)
    type: str | None = None


class Refund(DRModel):
    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    order_id: str | None = None
    invoice_id: str | None = None
    currency: str | None = None
    type: str | None = None
    amount: Money | None = None
    percent: Number | None = None
    refunded_amount: Money | None = None
    items: list[RefundItem] | None = None
    reason: str | None = None
    state: Tolerant[RefundState] | None = None
    failure_reason: str | None = None
    charges: list[dict[str, Any]] | None = None
    token_information: dict[str, Any] | None = None
    expires_time: datetime | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class RefundRequest(DRModel):
    """Body of ``POST /refunds``: ``orderId`` (or ``invoiceId``), ``currency``, and one of
    ``amount``, ``percent`` or ``items``."""

    order_id: str | None = None
    invoice_id: str | None = None
    currency: Currency
    amount: Money | None = Field(default=None, gt=0)
    percent: Number | None = Field(default=None, gt=0, le=100)
    items: list[RefundRequestItem] | None = None
    type: str | None = None
    reason: str | None = Field(default=None, max_length=64)
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.order_id and not self.invoice_id:
            raise ValueError("orderId or invoiceId is required")
        given = [n for n in ("amount", "percent", "items") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of amount, percent or items is required")
        return self


# --- returns ------------------------------------------------------------------------------------


class ReturnLocation(DRModel):
    address: Address | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class ReturnItem(DRModel):
    item_id: str | None = None
    sku_id: str | None = None
    quantity: int | None = None
    quantity_accepted: int | None = None
    amount: Money | None = None
    state: Tolerant[ReturnState] | None = None


class Return(DRModel):
    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    order_id: str | None = None
    currency: str | None = None
    items: list[ReturnItem] | None = None
    reason: str | None = None
    location: ReturnLocation | None = None
    state: Tolerant[ReturnState] | None = None
    failure_reason: str | None = None
    refund_ids: list[str] | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class ReturnRequestItem(DRModel):
    item_id: str | None = None
    sku_id: str | None = None
    quantity: Quantity

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.item_id and not self.sku_id:
            raise ValueError("itemId or skuId is required")
        return self


class ReturnRequest(DRModel):
    """Body of ``POST /returns``."""

    order_id: str = Field(min_length=1)
    items: list[ReturnRequestItem] = Field(min_length=1)
    reason: str | None = Field(default=None, max_length=64)
    location: ReturnLocation | None = None
    metadata: Metadata | None = None


class UpdateReturnItem(DRModel):
    item_id: str = Field(min_length=1)
    quantity: Quantity
    state: ReturnState


class UpdateReturnRequest(DRModel):
    """Body of ``POST /returns/{id}``: ``{"state": "accepted"}`` or per-item acceptance."""

    state: ReturnState | None = None
    items: list[UpdateReturnItem] | None = None
    metadata: Metadata | None = None


# --- events -------------------------------------------------------------------------------------


class EventData(DRModel):
    """``data`` of an event: the object after the change and the attributes it had before."""

    object: dict[str, Any] = Field(default_factory=dict)
    previous_attributes: dict[str, Any] | None = None


class Event(DRModel):
    """A Digital River event, as listed by ``GET /events`` or delivered to a webhook."""

    id: str
    type: str
    data: EventData = Field(default_factory=EventData)
    live_mode: bool | None = None
    created_time: datetime | None = None
    webhook_ids: list[str] | None = None
    digitalriver_version: str | None = None

    def object_as(self, model: builtins.type[M]) -> M:
        """Validate ``data.object`` as ``model`` (e.g. ``event.object_as(Order)``)."""
        return model.model_validate(self.data.object)


# --- webhooks -----------------------------------------------------------------------------------


class WebhookAuthentication(DRModel):
    user_name: str | None = None
    password: str | None = Field(default=None, repr=False)


class WebhookOAuth(DRModel):
    token_end_point: str | None = None
    client_id: str | None = Field(default=None, alias="clientID")
    client_secret: str | None = Field(default=None, repr=False)


class Webhook(DRModel):
    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    types: list[str] | None = None
    address: str | None = None
    api_version: str | None = None
    enabled: bool | None = None
    transport_type: str | None = None
    authentication: WebhookAuthentication | None = None
    oauth: WebhookOAuth | None = None
    live_mode: bool | None = None


class UpdateWebhookRequest(DRModel):
    """Body of ``PATCH /webhooks/{id}`` (e.g. ``{"enabled": false}``)."""

    types: list[str] | None = None
    address: str | None = None
    api_version: str | None = None
    enabled: bool | None = None
    transport_type: Literal["HTTP", "OAUTH"] | None = None
    authentication: WebhookAuthentication | None = None
    oauth: WebhookOAuth | None = None


class WebhookRequest(UpdateWebhookRequest):
    """Body of ``POST /webhooks``."""

    types: list[str] = Field(min_length=1)
    address: str = Field(min_length=1)


# --- catalog SKUs -------------------------------------------------------------------------------


class Sku(DRModel):
    id: str
    created_time: datetime | None = None
    updated_time: datetime | None = None
    name: str | None = None
    description: str | None = None
    eccn: str | None = None
    tax_code: str | None = None
    country_of_origin: str | None = None
    part_number: str | None = None
    sku_group_id: str | None = None
    weight: Number | None = None
    weight_unit: str | None = None
    fulfill: bool | None = None
    metadata: Metadata | None = None
    live_mode: bool | None = None


class SkuRequest(DRModel):
    """Body of ``POST /skus``."""

    id: str | None = None
    name: str = Field(min_length=1)
    description: str | None = None
    eccn: str | None = None
    tax_code: str | None = None
    country_of_origin: str | None = None
    part_number: str | None = None
    sku_group_id: str | None = None
    weight: Number | None = Field(default=None, ge=0)
    weight_unit: str | None = None
    fulfill: bool | None = None
    metadata: Metadata | None = None
