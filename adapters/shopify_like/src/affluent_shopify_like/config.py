"""The adapter's configuration: every key it reads from the ``config`` mapping, with defaults.

Unknown keys are refused so that a misspelt setting fails loudly instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from affluent.errors import AdapterError
from affluent.models import Address

DEFAULT_API_VERSION = "2024-07"


class ShopifyConfig(BaseModel):
    """Settings of the ``shopify_like`` adapter (all optional; see the field notes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- Admin API (writes back to the store) ---------------------------------------------------
    admin_url: str | None = None
    """Base URL of the store, e.g. ``https://example.myshopify.com``; needed for platform writes."""
    access_token: SecretStr | None = None
    """Sent as ``X-Shopify-Access-Token`` on every Admin API call."""
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^(\d{4}-\d{2}|unstable)$")
    timeout: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    """How many times a throttled (429) Admin call is retried after its ``Retry-After``."""
    max_retry_after: float = Field(default=30.0, gt=0)
    """Longest ``Retry-After`` honoured before giving up (the core retries later)."""
    call_limit_headroom: int = Field(default=2, ge=0)
    """Slow down when fewer calls than this are left in the ``X-Shopify-Shop-Api-Call-Limit``."""
    call_limit_leak_rate: float = Field(default=2.0, gt=0)
    """Calls per second the store's leaky bucket drains (Shopify REST: 2/s)."""

    # -- webhooks from the store ------------------------------------------------------------------
    webhook_secrets: tuple[SecretStr, ...] = ()
    """App secrets the store signs webhooks with; list old and new during a rotation."""
    shop_domain: str | None = None
    """When set, ``X-Shopify-Shop-Domain`` must equal it."""
    orders_create: Literal["cart_ready", "submit"] = "cart_ready"
    """What ``orders/create`` starts: building the DR checkout, or submitting the DR order."""
    checkout_token_pattern: str = r"\D"  # noqa: S105 (a regex, not a secret)
    """An order ref this regex finds something in is a checkout token, else an order id.

    Shopify order ids are integers, so by default anything with a non-digit is a token.
    """

    # -- translating in ---------------------------------------------------------------------------
    sku_source: Literal["sku", "variant_id", "product_details"] = "sku"
    """DR ``skuId`` from the Shopify ``sku`` or ``variant_id``, or ``productDetails``."""
    default_currency: str | None = None
    """Currency for payloads that carry none (Shopify carts)."""
    customer_id_prefix: str = Field(default="shopify-", max_length=20)
    """DR customer id = prefix + Shopify customer id."""
    guest_customer_states: tuple[str, ...] = ()
    """Shopify customer ``state`` values treated as guests (e.g. ``disabled``: no account)."""
    fulfillment_statuses: tuple[str, ...] = ("success",)
    """Shopify fulfillment statuses that mean the units have shipped."""
    ship_from: Address | None = None
    """Warehouse address sent as the DR checkout's ``shipFrom``."""
    shipping_service_levels: dict[str, str] = Field(default_factory=dict)
    """Shopify shipping line ``code`` -> DR ``serviceLevel``."""

    # -- translating out --------------------------------------------------------------------------
    write_tags: bool = True
    write_metafields: bool = True
    tag_prefix: str = Field(default="dr-", min_length=1, max_length=10)
    metafield_namespace: str = Field(default="digital_river", min_length=3, max_length=255)
    tax_title: str = "Tax"

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, (str, SecretStr)):
            return (value,)
        return value

    @field_validator("checkout_token_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    def is_checkout_token(self, order_ref: str) -> bool:
        """Whether ``order_ref`` names a checkout (by token) rather than an order (by id)."""
        return re.search(self.checkout_token_pattern, order_ref) is not None

    @field_validator("admin_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def load(config: Mapping[str, Any] | None) -> ShopifyConfig:
    """Validate the adapter's configuration mapping; raise AdapterError naming the bad key."""
    if isinstance(config, ShopifyConfig):
        return config
    try:
        return ShopifyConfig.model_validate(dict(config or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors()
        )
        raise AdapterError(f"shopify_like configuration is invalid: {problems}") from None
