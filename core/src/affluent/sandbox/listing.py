"""List endpoints: filters, range operators and ``startingAfter``/``endingBefore`` paging."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from affluent.sandbox.errors import invalid

Doc = dict[str, Any]
Kind = Literal["text", "any", "time", "number", "bool"]
_RANGE = re.compile(r"^(?P<name>[A-Za-z_.]+)\[(?P<op>eq|gt|gte|lt|lte)\]$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Filter:
    """One query filter.

    ``text``: equals one of the given values (repeatable, comma-separated allowed);
    ``any``: the document's value is a list that contains one of the given values;
    ``time``/``number``: plain value or ``name[eq|gt|gte|lt|lte]``; ``bool``: ``true``/``false``.
    """

    kind: Kind
    get: Callable[[Doc], Any]


def field(name: str, kind: Kind = "text") -> Filter:
    """A filter on a top-level field."""
    return Filter(kind, lambda doc: doc.get(name))


def path(dotted: str, kind: Kind = "text") -> Filter:
    """A filter on a nested field (``fraudStateTransitions.blocked``)."""

    def get(doc: Doc) -> Any:
        value: Any = doc
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    return Filter(kind, get)


COMMON: dict[str, Filter] = {
    "ids": field("id"),
    "createdTime": field("createdTime", "time"),
}


def parse_time(text: str, parameter: str) -> datetime:
    """An ISO-8601 timestamp; naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError as exc:
        raise invalid(parameter, f"'{parameter}' must be an ISO-8601 timestamp.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _coerce(kind: Kind, raw: str, parameter: str) -> Any:
    if kind == "time":
        return parse_time(raw, parameter)
    if kind == "number":
        try:
            return Decimal(raw.strip())
        except InvalidOperation as exc:
            raise invalid(parameter, f"'{parameter}' must be a number.") from exc
    if kind == "bool":
        if raw not in ("true", "false"):
            raise invalid(parameter, f"'{parameter}' must be true or false.")
        return raw == "true"
    return raw


def _stored(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "time":
        return parse_time(str(value), "stored")
    if kind == "number":
        return Decimal(str(value))
    return value


def _predicate(flt: Filter, op: str, raws: list[str], parameter: str) -> Callable[[Doc], bool]:
    if flt.kind in ("text", "any") and op == "eq":
        wanted = {part for raw in raws for part in raw.split(",") if part}
        if flt.kind == "any":
            return lambda doc: bool(wanted.intersection(flt.get(doc) or ()))
        return lambda doc: str(flt.get(doc)) in wanted if flt.get(doc) is not None else False
    if flt.kind in ("text", "any"):
        raise invalid(parameter, f"'{parameter}' does not take a range operator.")
    if len(raws) > 1:
        raise invalid(parameter, f"'{parameter}' may be given once.")
    target = _coerce(flt.kind, raws[0], parameter)
    compare = _OPS[op]

    def check(doc: Doc) -> bool:
        value = _stored(flt.kind, flt.get(doc))
        return value is not None and compare(value, target)

    return check


def paginate(
    docs: Sequence[Doc],
    query: Sequence[tuple[str, str]],
    filters: Mapping[str, Filter],
    render: Callable[[Doc], Doc],
    *,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """``{"hasMore", "data"}`` for ``docs`` (oldest first), newest first after filtering.

    ``extra`` names query parameters the caller handles itself; any other unknown parameter is
    rejected so a typo in a filter name does not silently list everything.
    """
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    limit = 10
    after = before = None
    checks: list[Callable[[Doc], bool]] = []
    for key, values in grouped.items():
        if key == "limit":
            raw = values[-1]
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                raise invalid("limit", "'limit' must be an integer from 1 to 100.")
            limit = int(raw)
        elif key == "startingAfter":
            after = values[-1]
        elif key == "endingBefore":
            before = values[-1]
        elif key in extra:
            continue
        else:
            match = _RANGE.match(key)
            name, op = (match["name"], match["op"]) if match else (key, "eq")
            flt = filters.get(name)
            if flt is None:
                raise invalid(key, f"'{key}' is not a filter of this list.")
            checks.append(_predicate(flt, op, values, key))
    if after is not None and before is not None:
        raise invalid("endingBefore", "Use either 'startingAfter' or 'endingBefore', not both.")

    ranks = {doc["id"]: rank for rank, doc in enumerate(docs)}
    newest_first = [doc for doc in reversed(docs) if all(check(doc) for check in checks)]
    cursor = after if after is not None else before
    if cursor is not None:
        parameter = "startingAfter" if after is not None else "endingBefore"
        if cursor not in ranks:
            raise invalid(parameter, f"'{parameter}' names no object in this list.")
        pivot = ranks[cursor]
        if after is not None:
            rest = [d for d in newest_first if ranks[d["id"]] < pivot]
            page, has_more = rest[:limit], len(rest) > limit
        else:
            rest = [d for d in newest_first if ranks[d["id"]] > pivot]
            page, has_more = rest[-limit:], len(rest) > limit
    else:
        page, has_more = newest_first[:limit], len(newest_first) > limit
    return {"hasMore": has_more, "data": [render(doc) for doc in page]}
