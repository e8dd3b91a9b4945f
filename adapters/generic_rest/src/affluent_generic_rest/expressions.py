"""JMESPath expressions with defaults and conversions: how a mapping file reads platform JSON.

A field in the mapping file is either a bare JMESPath expression (``quantity = "qty"``) or a
table ``{ expr = "...", default = ..., convert = "..." }``. A table without ``expr`` is a
constant (its ``default``). Expressions are compiled, and their function names checked, when
the file is loaded, so a typo fails at start-up rather than on a live order.

Reading a value never raises a traceback at the user: every failure is a
:class:`TranslationError` that names the mapping key.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath.functions import Functions
from jmespath.parser import ParsedResult

from affluent.currencies import CURRENCY_DECIMALS

CONVERSIONS: dict[str, str] = {
    "string": "numbers and booleans to text",
    "integer": "whole numbers written as text ('3') or as 3.0 to 3",
    "decimal": "decimal text ('19.99') or a number to an exact decimal",
    "minor_units": "an integer amount in the currency's minor unit (cents) to major units",
    "boolean": "'true'/'false', 'yes'/'no', 'y'/'n', 'on'/'off', 1/0 to true or false",
    "country": "a country name to its ISO 3166-1 alpha-2 code via the [countries] table",
    "upper": "text to upper case",
    "lower": "text to lower case",
}
"""Conversion names accepted by ``convert``, with what each does (also shown in errors)."""

_BOOLEANS = {
    "true": True, "yes": True, "y": True, "on": True, "1": True,
    "false": False, "no": False, "n": False, "off": False, "0": False,
}  # fmt: skip
_ALIASES = {
    "cents": "minor_units",
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "float": "decimal",
    "number": "decimal",
    "money": "decimal",
}
_FIELD_KEYS = ("expr", "default", "convert")
_MISSING: Any = object()


class TranslationError(Exception):
    """A mapping key could not be read from a payload.

    ``problem`` may contain ``{payload}``, filled in by :meth:`render` with what was being read
    ("the sample payload" for the check command, "this payload" for live traffic).
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")

    def render(self, payload: str = "this payload") -> str:
        return self.problem.replace("{payload}", payload)


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- compiling ----------------------------------------------------------------------------------


def _functions_in(node: Mapping[str, Any]) -> list[str]:
    found = [str(node["value"])] if node.get("type") == "function_expression" else []
    for child in node.get("children", ()):
        if isinstance(child, Mapping):
            found.extend(_functions_in(child))
    return found


@functools.lru_cache(maxsize=2048)
def compile_expression(source: str) -> ParsedResult:
    """Compile ``source``; raise ``ValueError`` with a one-line reason if it is not valid."""
    if not source.strip():
        raise ValueError("empty JMESPath expression")
    try:
        parsed = jmespath.compile(source)
    except jp_errors.IncompleteExpressionError:
        raise ValueError(f"invalid JMESPath expression {source!r}: it ends too early") from None
    except jp_errors.LexerError as exc:
        raise ValueError(
            f"invalid JMESPath expression {source!r} at column {exc.lexer_position}: "
            f"{exc.message[:1].lower()}{exc.message[1:]}"
        ) from None
    except jp_errors.ParseError as exc:
        raise ValueError(
            f"invalid JMESPath expression {source!r} at column {exc.lex_position}: "
            f"{exc.msg[:1].lower()}{exc.msg[1:]}"
        ) from None
    known = Functions.FUNCTION_TABLE
    for name in _functions_in(parsed.parsed):
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]}()?)" if close else ""
            raise ValueError(f"unknown JMESPath function {name}() in {source!r}{hint}")
    return parsed


def search(source: str, data: Any, key: str) -> Any:
    """Evaluate a compiled expression; a runtime failure becomes a :class:`TranslationError`."""
    try:
        return compile_expression(source).search(data)
    except jp_errors.JMESPathError as exc:
        reason = str(exc).splitlines()[0]
        raise TranslationError(
            key, f"expression {source!r} failed on {{payload}}: {reason}"
        ) from None


# -- fields ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One readable field: an expression, a default used when it gives null, a conversion."""

    expr: str | None = None
    default: Any = _MISSING
    convert: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    @classmethod
    def parse(cls, value: Any) -> FieldSpec:
        """Build from the file's value; ``ValueError`` messages are shown to the user as is."""
        if isinstance(value, FieldSpec):
            return value
        if isinstance(value, str):
            compile_expression(value)
            return cls(expr=value)
        if not isinstance(value, Mapping):
            raise ValueError(
                f"expected a JMESPath expression or a table with expr/default/convert, "
                f"got {json_type(value)}"
            )
        for name in value:
            if name not in _FIELD_KEYS:
                close = difflib.get_close_matches(str(name), _FIELD_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"unknown key {name!r}{hint}; a field takes expr, default, convert"
                )
        expr = value.get("expr")
        if expr is not None:
            if not isinstance(expr, str):
                raise ValueError(f"expr: expected a JMESPath expression, got {json_type(expr)}")
            compile_expression(expr)
        convert = value.get("convert")
        if convert is not None and convert not in CONVERSIONS:
            close = difflib.get_close_matches(str(convert), list(CONVERSIONS), n=1)
            close = [_ALIASES[convert]] if convert in _ALIASES else close
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown conversion {convert!r}; {hint}known: {', '.join(CONVERSIONS)}"
            )
        if expr is None and "default" not in value:
            raise ValueError("a field needs expr, default, or both")
        return cls(expr=expr, default=value.get("default", _MISSING), convert=convert)


@dataclass(frozen=True, slots=True)
class Context:
    """What conversions need besides the value: the currency and the country table."""

    countries: Mapping[str, str]
    currency: str | None = None


def countries_index(table: Mapping[str, str]) -> dict[str, str]:
    """Country table keyed case- and space-insensitively."""
    return {" ".join(name.casefold().split()): code for name, code in table.items()}


def read(spec: FieldSpec | None, data: Any, key: str, ctx: Context) -> Any:
    """Evaluate ``spec`` on ``data``: expression, then default when null, then conversion.

    ``None`` means the field is absent (no spec, or null with no default).
    """
    if spec is None:
        return None
    value = search(spec.expr, data, key) if spec.expr is not None else None
    if value is None and spec.has_default:
        value = spec.default
    if value is None or spec.convert is None:
        return value
    return convert(spec.convert, value, key, ctx)


def require(spec: FieldSpec | None, data: Any, key: str, ctx: Context) -> Any:
    """Like :func:`read`, but null is an error."""
    value = read(spec, data, key, ctx)
    if value is None:
        raise TranslationError(key, "expression returned null for {payload}")
    return value


# -- conversions --------------------------------------------------------------------------------


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, bool):
        raise TranslationError(key, f"cannot read {_shown(value)} as a decimal number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TranslationError(key, f"{value} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise TranslationError(
                key, f"cannot read {_shown(value)} as a decimal number"
            ) from None
    else:
        raise TranslationError(key, f"cannot read a {json_type(value)} as a decimal number")
    if not result.is_finite():
        raise TranslationError(key, f"{_shown(value)} is not a finite number")
    return result


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise TranslationError(key, f"cannot read {_shown(value)} as a whole number")
    if isinstance(value, int):
        return value
    try:
        number = _decimal(value, key) if isinstance(value, str | float | Decimal) else None
    except TranslationError:
        number = None
    if number is None or number != number.to_integral_value():
        raise TranslationError(key, f"cannot read {_shown(value)} as a whole number")
    return int(number)


def _string(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    raise TranslationError(key, f"cannot turn a {json_type(value)} into text")


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise TranslationError(key, f"cannot read {_shown(value)} as true or false")


def _country(value: Any, key: str, ctx: Context) -> str:
    if not isinstance(value, str):
        raise TranslationError(key, f"expected a country name or code, got {json_type(value)}")
    text = value.strip()
    found = ctx.countries.get(" ".join(text.casefold().split()))
    if found is not None:
        return found
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    raise TranslationError(
        key, f"{_shown(value)} is not in the [countries] table and is not a two-letter code"
    )


def _minor_units(value: Any, key: str, ctx: Context) -> Decimal:
    if ctx.currency is None:
        raise TranslationError(key, "minor_units needs the cart's currency, which is unknown here")
    units = _integer(value, key)
    return Decimal(units).scaleb(-CURRENCY_DECIMALS[ctx.currency])


def convert(name: str, value: Any, key: str, ctx: Context) -> Any:
    """Apply the named conversion (see :data:`CONVERSIONS`)."""
    match name:
        case "string":
            return _string(value, key)
        case "integer":
            return _integer(value, key)
        case "decimal":
            return _decimal(value, key)
        case "minor_units":
            return _minor_units(value, key, ctx)
        case "boolean":
            return _boolean(value, key)
        case "country":
            return _country(value, key, ctx)
        case "upper" | "lower":
            if not isinstance(value, str):
                raise TranslationError(key, f"{name}: expected text, got {json_type(value)}")
            return value.upper() if name == "upper" else value.lower()
    raise TranslationError(key, f"unknown conversion {name!r}")  # pragma: no cover


# -- target types -------------------------------------------------------------------------------
# Values arriving at a canonical field without a conversion must already have its type; the
# error says which conversion would make them fit.


def as_text(value: Any, key: str) -> str:
    """Text targets take strings, and integers (ids are often numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TranslationError(
        key, f'expected text, got {json_type(value)} {_shown(value)} (use convert = "string")'
    )


def as_whole(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    hint = ' (use convert = "integer")' if isinstance(value, str) else ""
    raise TranslationError(
        key, f"expected a whole number, got {json_type(value)} {_shown(value)}{hint}"
    )


def as_money(value: Any, key: str) -> Decimal:
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        amount = _decimal(value, key)
    else:
        hint = ' (use convert = "decimal" or "minor_units")' if isinstance(value, str) else ""
        raise TranslationError(
            key, f"expected an amount, got {json_type(value)} {_shown(value)}{hint}"
        )
    if amount < 0:
        raise TranslationError(key, f"amount {amount} is negative")
    return amount


def as_flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise TranslationError(
        key,
        f'expected true or false, got {json_type(value)} {_shown(value)} (use convert = "boolean")',
    )


def as_list(value: Any, key: str) -> list[Any]:
    if isinstance(value, list):
        return value
    raise TranslationError(key, f"expected an array, got {json_type(value)} for {{payload}}")
