"""Reading Shopify JSON: typed field accessors that fail with the field's path in the message.

Every translation goes through these, so a malformed payload is refused with
``InvalidInput("line_items[2].price", "...")`` rather than a ``KeyError`` deep inside a hook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from affluent.errors import InvalidInput

WRAPPERS = ("order", "checkout", "cart", "customer", "fulfillment", "refund")
"""Resource keys of Shopify's REST envelopes (``{"order": {...}}``)."""


def unwrap(payload: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """Split a REST envelope ``{"order": {...}}`` into ``("order", {...})``.

    A bare resource (a webhook body) comes back as ``(None, payload)``.
    """
    if len(payload) == 1:
        ((key, value),) = payload.items()
        if key in WRAPPERS:
            return key, mapping(value, key)
    return None, payload


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"expected a JSON object, got {_kind(value)}")
    return value


def items(value: Any, field: str) -> list[Mapping[str, Any]]:
    """A list of JSON objects (``null`` or missing reads as empty)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInput(field, f"expected a list, got {_kind(value)}")
    return [mapping(item, f"{field}[{index}]") for index, item in enumerate(value)]


def text(value: Any, field: str) -> str | None:
    """An optional string; empty and blank strings read as ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInput(field, f"expected a string, got {_kind(value)}")
    stripped = str(value).strip()
    return stripped or None


def ref(value: Any, field: str) -> str:
    """A required id (Shopify sends integers; tokens are strings)."""
    result = text(value, field)
    if result is None:
        raise InvalidInput(field, "required")
    return result


def quantity(value: Any, field: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"expected a whole number, got {_kind(value)}")
    if value < minimum:
        raise InvalidInput(field, f"must be at least {minimum}, got {value}")
    return value


def money(value: Any, field: str, *, required: bool = True) -> Decimal:
    """A decimal amount; Shopify sends strings (``"199.00"``), older payloads numbers."""
    if value is None or value == "":
        if required:
            raise InvalidInput(field, "required")
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidInput(field, f"expected a decimal amount, got {_kind(value)}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(field, f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise InvalidInput(field, f"not a finite amount: {value!r}")
    if amount < 0:
        raise InvalidInput(field, f"must not be negative, got {value!r}")
    return amount


def flag(value: Any, field: str, *, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(field, f"expected true or false, got {_kind(value)}")
    return value


def timestamp(value: Any, field: str) -> datetime | None:
    raw = text(value, field)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, f"not an ISO 8601 timestamp: {raw!r}") from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__
