"""Money as ``Decimal`` inside, JSON numbers in major units outside."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW"})


def exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency``."""
    return 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit."""
    return value.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    """A stored JSON number (or numeric string) as an exact ``Decimal``."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def num(value: Decimal, currency: str) -> float:
    """A JSON number for ``value`` rounded to the currency."""
    return float(round_money(value, currency))


def total(values: Any) -> Decimal:
    """Exact sum of stored amounts."""
    return sum((dec(v) for v in values), ZERO)
