"""URL and JSON body templates for writes to the platform.

A string in a template may hold placeholders ``{name}`` or ``{name|filter}``; ``{{`` and ``}}``
are literal braces. A string that is exactly one placeholder takes the value's own JSON type
(``"{final}"`` becomes ``true``); a placeholder inside other text is written as text. In URLs
every value is percent-encoded, so a value can never change the host or add a path segment.

Templates are checked when the mapping file is loaded: unknown placeholders and filters are
errors naming the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from affluent.currencies import CURRENCY_DECIMALS

STATUS_VARIABLES: dict[str, str] = {
    "order_ref": "the platform's order id",
    "status": "affluent's status, e.g. ready_to_fulfill",
    "platform_status": "the status in the platform's words (from push.status.words)",
    "dr_order_id": "Digital River's order id (null before an order exists)",
    "dr_state": "Digital River's order state",
    "dr_checkout_id": "Digital River's checkout id",
    "dr_customer_id": "Digital River's customer id (null for guests)",
    "currency": "ISO 4217 currency code",
    "total_amount": "the order total",
    "selling_entity_id": "the selling entity's id",
    "selling_entity_name": "the selling entity's name",
    "shopper_message": "what to show the shopper (set after a declined payment)",
    "lines": "the order's lines, each rendered with line_body",
}
STATUS_LINE_VARIABLES: dict[str, str] = {
    "line_ref": "the platform's line id",
    "dr_item_id": "Digital River's order item id",
    "sku_id": "the SKU",
    "ordered": "units ordered",
    "fulfilled": "units shipped",
    "cancelled": "units cancelled",
    "returned": "units returned",
    "currency": "ISO 4217 currency code",
}
CHECKOUT_VARIABLES: dict[str, str] = {
    "order_ref": "the platform's order id",
    "checkout_id": "Digital River's checkout id",
    "currency": "ISO 4217 currency code",
    "subtotal": "sum of the lines",
    "total_tax": "total tax",
    "total_shipping": "shipping charged",
    "total_discount": "discounts applied",
    "total_amount": "what the shopper pays",
    "selling_entity_id": "the selling entity's id",
    "selling_entity_name": "the selling entity's name (the seller of record)",
    "final": "true once a payment source is applied (final totals)",
    "lines": "per-line tax, each rendered with line_body",
}
CHECKOUT_LINE_VARIABLES: dict[str, str] = {
    "line_ref": "the platform's line id",
    "amount": "the line amount",
    "tax": "the line's tax",
    "tax_rate": "the line's tax rate",
    "currency": "ISO 4217 currency code",
}
FILTERS: dict[str, str] = {
    "string": "write the value as text",
    "number": "write an amount as a JSON number instead of text",
    "minor_units": "write an amount as an integer of minor units (cents)",
    "upper": "upper-case text",
    "lower": "lower-case text",
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([A-Za-z_]+))?$")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    filter: str | None


Part = str | Placeholder


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {{{close[0]}}}?)" if close else ""


def parse(text: str, variables: Mapping[str, str]) -> list[Part]:
    """Split ``text`` into literal text and placeholders; ``ValueError`` names the problem."""
    parts: list[Part] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if match.group(1) is None:
            raise ValueError(
                f"unmatched {token!r} at position {match.start()} in {text!r} "
                "(write {{ or }} for a literal brace)"
            )
        found = _NAME.match(match.group(1).strip())
        if found is None:
            raise ValueError(f"malformed placeholder {token!r} in {text!r}")
        name, filter_name = found.group(1), found.group(2)
        if name not in variables:
            raise ValueError(
                f"unknown placeholder {{{name}}}{_suggest(name, list(variables))}; "
                f"known: {', '.join(variables)}"
            )
        if filter_name is not None and filter_name not in FILTERS:
            raise ValueError(
                f"unknown filter |{filter_name} in {token!r}; known: {', '.join(FILTERS)}"
            )
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(Placeholder(name, filter_name))
    literal.append(text[position:])
    if "".join(literal):
        parts.append("".join(literal))
    return parts


def check_body(
    template: Any, variables: Mapping[str, str], path: str = ""
) -> list[tuple[str, str]]:
    """Every problem in a JSON body template, as (key suffix, message)."""
    problems: list[tuple[str, str]] = []
    if isinstance(template, str):
        try:
            parts = parse(template, variables)
        except ValueError as exc:
            return [(path, str(exc))]
        lists = [p for p in parts if isinstance(p, Placeholder) and p.name == "lines"]
        if lists and len(parts) != 1:
            problems.append((path, '{lines} is a list; it must be the whole string "{lines}"'))
    elif isinstance(template, Mapping):
        for name, value in template.items():
            problems.extend(check_body(value, variables, f"{path}.{name}" if path else str(name)))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            problems.extend(check_body(value, variables, f"{path}[{index}]"))
    elif template is not None and not isinstance(template, bool | int | float):
        problems.append((path, f"{type(template).__name__} values cannot be sent as JSON"))
    return problems


def check_url(template: str, variables: Mapping[str, str]) -> None:
    """Placeholders may appear only after the host: in the path or the query."""
    parse(template, variables)
    scheme, sep, rest = template.partition("://")
    if sep:
        authority = rest.split("/", 1)[0].split("?", 1)[0]
        if "{" in scheme or "{" in authority:
            raise ValueError("placeholders are not allowed in the scheme or host of a URL")
        if "@" in authority:
            raise ValueError("URLs must not carry user names or passwords; use push.auth")
    elif not template.startswith("/"):
        raise ValueError(
            "expected an absolute URL (https://host/path) or a path starting with / "
            "(joined to push.base_url)"
        )


# -- rendering ----------------------------------------------------------------------------------


def _apply_filter(name: str | None, value: Any, currency: str | None) -> Any:
    if name is None or value is None:
        return value
    match name:
        case "string":
            return _text(value)
        case "number":
            if isinstance(value, Decimal):
                return int(value) if value == value.to_integral_value() else float(value)
            return value
        case "minor_units":
            if not isinstance(value, Decimal | int) or currency is None:
                raise ValueError("minor_units needs an amount and a currency")
            scaled = Decimal(value).scaleb(CURRENCY_DECIMALS[currency])
            return int(scaled.to_integral_value(rounding="ROUND_HALF_UP"))
        case "upper":
            return _text(value).upper()
        case "lower":
            return _text(value).lower()
    raise ValueError(f"unknown filter {name!r}")  # pragma: no cover


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed(value: Any) -> Any:
    """The JSON value for a whole-string placeholder: amounts stay exact, as text."""
    return str(value) if isinstance(value, Decimal) else value


def render_text(template: str, variables: Mapping[str, str], values: Mapping[str, Any]) -> str:
    out = []
    for part in parse(template, variables):
        if isinstance(part, str):
            out.append(part)
        else:
            value = _apply_filter(part.filter, values.get(part.name), values.get("currency"))
            out.append(_text(value))
    return "".join(out)


def render_url(template: str, variables: Mapping[str, str], values: Mapping[str, Any]) -> str:
    out = []
    for part in parse(template, variables):
        if isinstance(part, str):
            out.append(part)
        else:
            value = _apply_filter(part.filter, values.get(part.name), values.get("currency"))
            out.append(quote(_text(value), safe=""))
    return "".join(out)


def render_body(
    template: Any,
    variables: Mapping[str, str],
    values: Mapping[str, Any],
    lines: list[Any] | None = None,
) -> Any:
    """Fill a JSON body template; ``lines`` is what ``"{lines}"`` becomes."""
    if isinstance(template, str):
        parts = parse(template, variables)
        if len(parts) == 1 and isinstance(parts[0], Placeholder):
            part = parts[0]
            if part.name == "lines":
                return lines or []
            value = _apply_filter(part.filter, values.get(part.name), values.get("currency"))
            return _typed(value)
        return render_text(template, variables, values)
    if isinstance(template, Mapping):
        return {k: render_body(v, variables, values, lines) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, variables, values, lines) for v in template]
    return template
