"""Checkout arithmetic: discounts, tax (exclusive or inclusive), shipping and totals.

Invariants (§3): ``items[].amount`` is the line after discounts and without tax;
``subtotal = Σ items[].amount + totalShipping + totalFees + totalDuty + totalImporterTax``;
``totalTax = Σ items[].tax.amount + shippingChoice.taxAmount``;
``totalAmount = subtotal + totalTax``. Every rounding is half-up to the currency's minor unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from affluent.sandbox import tax
from affluent.sandbox.errors import invalid
from affluent.sandbox.fields import Fields
from affluent.sandbox.money import ZERO, dec, num, round_money

Doc = dict[str, Any]
_HUNDRED = Decimal(100)


def parse_discount(f: Fields, *, with_quantity: bool = False) -> Doc:
    """``{amountOff | percentOff[, quantity]}``: exactly one of the two amounts."""
    f.only(
        ("amountOff", "percentOff", "quantity") if with_quantity else ("amountOff", "percentOff")
    )
    amount_off = f.decimal("amountOff")
    percent_off = f.decimal("percentOff", maximum=_HUNDRED)
    if (amount_off is None) == (percent_off is None):
        raise invalid(
            f.param("amountOff"), f"'{f.path}' needs exactly one of amountOff, percentOff."
        )
    discount: Doc = {}
    if amount_off is not None:
        discount["amountOff"] = float(amount_off)
    if percent_off is not None:
        discount["percentOff"] = float(percent_off)
    if with_quantity:
        quantity = f.integer("quantity", minimum=1)
        if quantity is not None:
            discount["quantity"] = quantity
    return discount


def _off(discount: Doc | None, base: Decimal, unit: Decimal, units: int, currency: str) -> Decimal:
    """Markdown of ``discount`` on a line worth ``base`` (``units`` at ``unit`` each)."""
    if not discount:
        return ZERO
    count = min(int(discount.get("quantity", units)), units)
    if "amountOff" in discount:
        return round_money(dec(discount["amountOff"]) * count, currency)
    share = base if count == units else unit * count
    return round_money(share * dec(discount["percentOff"]) / _HUNDRED, currency)


def _spread(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights``; the last share takes the rounding rest."""
    whole = sum(weights, ZERO)
    if whole == 0:
        return [ZERO for _ in weights]
    shares = [round_money(amount * w / whole, currency) for w in weights[:-1]]
    return [*shares, amount - sum(shares, ZERO)]


def _tax(base: Decimal, rate: Decimal, inclusive: bool, currency: str) -> tuple[Decimal, Decimal]:
    """(amount without tax, tax) for a taxable ``base``."""
    if inclusive:
        owed = round_money(base * rate / (1 + rate), currency)
        return base - owed, owed
    return base, round_money(base * rate, currency)


def price(doc: Doc) -> None:
    """Recompute a checkout's item amounts, tax, shipping and totals in place.

    Inputs: ``items[].quantity``/``discount``, ``_lines[id].price``/``aggregatePrice``,
    ``discount``, ``_shipping`` (amount as sent), ``shippingDiscount``, ``_taxInclusive``.
    """
    currency = doc["currency"]
    rate = tax.rate(*tax.destination(doc))
    inclusive = bool(doc.get("_taxInclusive"))
    bases: list[Decimal] = []
    markdown = ZERO
    for index, item in enumerate(doc["items"]):
        line = doc["_lines"][item["id"]]
        units = item["quantity"]
        if line.get("aggregatePrice") is not None:
            gross = dec(line["aggregatePrice"])
            unit = gross / units
        else:
            unit = dec(line["price"])
            gross = unit * units
        gross = round_money(gross, currency)
        off = _off(item.get("discount"), gross, unit, units, currency)
        if off > gross:
            raise invalid(f"items[{index}].discount", "The discount exceeds the item's price.")
        bases.append(gross - off)
        markdown += off

    order_discount = doc.get("discount")
    if order_discount:
        if "amountOff" in order_discount:
            wanted = round_money(dec(order_discount["amountOff"]), currency)
            if wanted > sum(bases, ZERO):
                raise invalid("discount.amountOff", "The discount exceeds the items' total.")
            offs = _spread(wanted, bases, currency)
        else:
            percent = dec(order_discount["percentOff"])
            offs = [round_money(b * percent / _HUNDRED, currency) for b in bases]
        bases = [b - o for b, o in zip(bases, offs, strict=True)]
        markdown += sum(offs, ZERO)

    subtotal = total_tax = ZERO
    for item, base in zip(doc["items"], bases, strict=True):
        amount, owed = _tax(base, rate, inclusive, currency)
        item["amount"] = num(amount, currency)
        item["tax"] = {"rate": float(rate), "amount": num(owed, currency)}
        item["importerTax"] = {"amount": 0.0}
        item["duties"] = {"amount": 0.0}
        item["fees"] = {"amount": 0.0, "taxAmount": 0.0}
        subtotal += amount
        total_tax += owed

    shipping = ZERO
    choice = doc.get("shippingChoice")
    if choice is not None:
        gross = round_money(dec(doc["_shipping"]), currency)
        off = _off(doc.get("shippingDiscount"), gross, gross, 1, currency)
        if off > gross:
            raise invalid("shippingDiscount", "The discount exceeds the shipping amount.")
        markdown += off
        shipping, owed = _tax(gross - off, rate, inclusive, currency)
        choice["amount"] = num(shipping, currency)
        choice["taxAmount"] = num(owed, currency)
        total_tax += owed
    subtotal += shipping

    doc["subtotal"] = num(subtotal, currency)
    doc["totalTax"] = num(total_tax, currency)
    doc["totalImporterTax"] = 0.0
    doc["importerOfRecordTax"] = False
    doc["totalFees"] = 0.0
    doc["totalDuty"] = 0.0
    doc["totalDiscount"] = num(markdown, currency)
    doc["totalShipping"] = num(shipping, currency)
    doc["totalAmount"] = num(subtotal + total_tax, currency)
