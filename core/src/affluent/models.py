"""Canonical, platform-neutral models: what adapters translate platform data into and out of.

Adapters turn a platform's cart, user, payment hand-off and line-item events into these objects;
the core turns them into Digital River requests. Quantities are whole units, money is ``Decimal``
in major units, currencies are ISO 4217 codes, countries ISO 3166-1 alpha-2 codes.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from affluent.currencies import CURRENCY_DECIMALS

MAX_QUANTITY = 10_000
"""Largest quantity accepted for one line; anything above is treated as a data error."""

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Delta = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]


class Model(BaseModel):
    """Base for canonical models: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Address(Model):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$")


class Contact(Model):
    """A person at an address: ship-to or bill-to."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    organization: str | None = None
    address: Address


class ShopperKind(StrEnum):
    registered = "registered"
    guest = "guest"


class Shopper(Model):
    """Who is buying. Registered shoppers get a DR customer whose id the adapter derives."""

    kind: ShopperKind
    email: str | None = None
    customer_id: str | None = Field(default=None, max_length=40)
    name: str | None = None
    locale: str | None = None

    @model_validator(mode="after")
    def _registered_needs_id(self) -> Shopper:
        if self.kind is ShopperKind.registered and not self.customer_id:
            raise ValueError("customer_id: required for a registered shopper")
        if self.kind is ShopperKind.guest and self.customer_id:
            raise ValueError("customer_id: a guest shopper has no customer id")
        return self


class Product(Model):
    """Product details for stores that keep no catalog at Digital River."""

    id: str
    name: str
    description: str | None = None
    url: str | None = None
    image: str | None = None
    country_of_origin: str | None = None
    weight: Decimal | None = None
    weight_unit: Literal["oz", "lb", "g", "kg"] | None = None


class CartLine(Model):
    """One cart line. ``line_ref`` is the platform's own line id, kept for the ledger."""

    line_ref: str = Field(min_length=1)
    sku_id: str | None = None
    product: Product | None = None
    quantity: Quantity
    unit_price: Money
    discount_per_unit: Money = Decimal(0)
    physical: bool = True
    metadata: dict[str, str | int | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sku_or_product(self) -> CartLine:
        if (self.sku_id is None) == (self.product is None):
            raise ValueError("exactly one of sku_id or product is required")
        if self.discount_per_unit > self.unit_price:
            raise ValueError("discount_per_unit: larger than unit_price")
        return self


class ShippingOption(Model):
    amount: Money
    description: str | None = None
    service_level: str | None = None


class Cart(Model):
    """Everything needed to build a DR checkout for one platform order, except the shopper."""

    order_ref: str = Field(min_length=1, max_length=100)
    currency: str
    lines: list[CartLine] = Field(min_length=1)
    email: str | None = None
    ship_to: Contact | None = None
    bill_to: Contact | None = None
    ship_from: Address | None = None
    shipping: ShippingOption | None = None
    browser_ip: str | None = None
    locale: str | None = None
    tax_inclusive: bool = False
    metadata: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCY_DECIMALS:
            raise ValueError(f"unknown currency code {value!r}")
        return value

    @model_validator(mode="after")
    def _unique_lines(self) -> Cart:
        refs = [line.line_ref for line in self.lines]
        duplicates = sorted({ref for ref in refs if refs.count(ref) > 1})
        if duplicates:
            raise ValueError(f"lines: duplicate line_ref {', '.join(duplicates)}")
        return self


class PaymentHandoff(Model):
    """The source the browser created with Drop-in, and whether the shopper asked to save it."""

    order_ref: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    save: bool = False


class Tracking(Model):
    company: str | None = None
    number: str | None = None
    url: str | None = None


class LineChange(Model):
    """Units of one platform line shipped and/or cancelled by one platform event."""

    line_ref: str = Field(min_length=1)
    shipped: Delta = 0
    cancelled: Delta = 0

    @model_validator(mode="after")
    def _something_changed(self) -> LineChange:
        if self.shipped == 0 and self.cancelled == 0:
            raise ValueError("shipped or cancelled must be at least 1")
        return self


class LineItemChanges(Model):
    """A platform fulfillment or cancellation, as canonical per-line deltas.

    ``change_ref`` identifies the platform event's business content (a fulfillment id, a refund
    id); the same ``change_ref`` twice is one change.
    """

    order_ref: str = Field(min_length=1)
    change_ref: str = Field(min_length=1, max_length=200)
    changes: list[LineChange] = Field(min_length=1)
    tracking: Tracking | None = None

    @model_validator(mode="after")
    def _unique_lines(self) -> LineItemChanges:
        refs = [change.line_ref for change in self.changes]
        if len(refs) != len(set(refs)):
            raise ValueError("changes: a line_ref appears twice")
        return self


class SellingEntity(Model):
    id: str
    name: str


class LineTax(Model):
    line_ref: str
    amount: Decimal
    tax: Decimal
    tax_rate: Decimal


class CheckoutSummary(Model):
    """Tax, totals and selling entity of a DR checkout: what the platform order must show."""

    order_ref: str
    checkout_id: str
    currency: str
    subtotal: Decimal
    total_tax: Decimal
    total_shipping: Decimal
    total_discount: Decimal
    total_amount: Decimal
    selling_entity: SellingEntity | None
    lines: list[LineTax]
    final: bool = False
    """True once a payment source is applied: the totals the shopper will be charged."""


class PlatformUpdate(Model):
    """A write the adapter wants made to the platform order, in the platform's own shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_ref: str
    kind: Literal["status", "checkout"]
    body: dict[str, Any]


class LineView(Model):
    """One line of an order as the core tracks it."""

    line_ref: str
    dr_item_id: str | None
    sku_id: str | None
    ordered: int
    fulfilled: int
    cancelled: int
    returned: int


class OrderView(Model):
    """A read-only view of an order's links, status and line ledger."""

    platform: str
    order_ref: str
    status: str | None
    dr_state: str | None
    dr_order_id: str | None
    dr_checkout_id: str | None
    dr_customer_id: str | None
    currency: str
    total_amount: Decimal | None
    selling_entity: SellingEntity | None
    shopper_message: str | None
    lines: list[LineView]


class Capabilities(Model):
    """What an adapter supports; the conformance kit turns the matching tests on."""

    registered_shoppers: bool = True
    saved_sources: bool = True
    tracking: bool = True
    partial_cancellation: bool = True
    platform_webhooks: bool = False


class DemoCart(Model):
    """A platform-neutral description of a cart, which a platform fake renders in its own shape."""

    order_ref: str
    currency: str = "USD"
    email: str
    customer_id: str | None = None
    name: str = "Ada Lovelace"
    country: str = "US"
    lines: list[tuple[str, str, int, Decimal]]
    """(line_ref, sku_id, quantity, unit price)."""


class PlatformEventKind(StrEnum):
    """Which standard-flow step a platform event starts."""

    cart_ready = "cart_ready"
    payment = "payment"
    submit = "submit"
    line_changes = "line_changes"


class PlatformEvent(Model):
    """A verified, parsed platform webhook, ready for the flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PlatformEventKind
    delivery_id: str | None = None
    """The platform's delivery or event id (unsigned header), for dedupe."""
    order_ref: str | None = None
    payload: dict[str, Any]
