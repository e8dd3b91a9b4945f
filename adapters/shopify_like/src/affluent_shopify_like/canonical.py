"""Building canonical models from Shopify data, turning pydantic errors into InvalidInput.

The canonical models validate themselves (a registered shopper needs an id, a discount may not
exceed the price); this helper reports such a refusal against the Shopify field it came from.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from affluent.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], field: str, /, **values: Any) -> M:
    """``model(**values)``; a validation failure becomes ``InvalidInput`` under ``field``."""
    try:
        return model(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        path = f"{field}.{where}" if where and field else (where or field)
        raise InvalidInput(path or model.__name__, message) from None
