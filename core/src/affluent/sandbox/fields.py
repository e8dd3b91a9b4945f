"""Read and validate a JSON request body, naming the exact field in every error."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from affluent.sandbox.errors import ApiError, invalid, missing

_INT = re.compile(r"^-?\d+$")


class Fields:
    """A JSON object with its path in the request (``items[0].discount``) for error messages.

    Accessors return ``None`` for absent or ``null`` fields unless ``required``. Inputs DR's own
    examples send loosely (integers and amounts as strings) are accepted.
    """

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, Mapping):
            where = path or "body"
            raise invalid(where, f"'{where}' must be a JSON object.")
        self.data: Mapping[str, Any] = data
        self.path = path

    def param(self, name: str) -> str:
        """The full path of field ``name``."""
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        """Whether ``name`` is present and not ``null``."""
        return self.data.get(name) is not None

    def only(self, allowed: Collection[str]) -> None:
        """Reject any field not in ``allowed``."""
        for name in self.data:
            if name not in allowed:
                raise invalid(self.param(name), f"'{self.param(name)}' is not a known field here.")

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise missing(self.param(name))
        return value

    def string(
        self, name: str, *, required: bool = False, max_len: int | None = None
    ) -> str | None:
        """A string; blank counts as missing when required."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(self.param(name), f"'{self.param(name)}' must be a string.")
        if required and not value.strip():
            raise missing(self.param(name))
        if max_len is not None and len(value) > max_len:
            raise invalid(
                self.param(name), f"'{self.param(name)}' must be at most {max_len} characters."
            )
        return value

    def choice(self, name: str, options: Collection[str], *, required: bool = False) -> str | None:
        """A string from ``options``."""
        value = self.string(name, required=required)
        if value is not None and value not in options:
            listed = ", ".join(sorted(options))
            raise invalid(self.param(name), f"'{self.param(name)}' must be one of: {listed}.")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """An integer (a string of digits is accepted too)."""
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool):
            raise invalid(self.param(name), f"'{self.param(name)}' must be an integer.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and _INT.match(value.strip()):
            value = int(value.strip())
        if not isinstance(value, int):
            raise invalid(self.param(name), f"'{self.param(name)}' must be an integer.")
        if minimum is not None and value < minimum:
            raise invalid(self.param(name), f"'{self.param(name)}' must be at least {minimum}.")
        if maximum is not None and value > maximum:
            raise invalid(self.param(name), f"'{self.param(name)}' must be at most {maximum}.")
        return value

    def decimal(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: Decimal | None = Decimal(0),
        maximum: Decimal | None = None,
    ) -> Decimal | None:
        """A non-negative number (a numeric string is accepted too) as an exact ``Decimal``."""
        value = self._get(name, required)
        if value is None:
            return None
        bad = invalid(self.param(name), f"'{self.param(name)}' must be a number.")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad
        if isinstance(value, float) and not math.isfinite(value):
            raise bad
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise bad from exc
        if not number.is_finite():
            raise bad
        if minimum is not None and number < minimum:
            raise invalid(self.param(name), f"'{self.param(name)}' must be at least {minimum}.")
        if maximum is not None and number > maximum:
            raise invalid(self.param(name), f"'{self.param(name)}' must be at most {maximum}.")
        return number

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        """A JSON boolean."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise invalid(self.param(name), f"'{self.param(name)}' must be true or false.")
        return value

    def obj(self, name: str, *, required: bool = False) -> Fields | None:
        """A nested object."""
        value = self._get(name, required)
        return None if value is None else Fields(value, self.param(name))

    def child(self, name: str) -> Fields:
        """A nested object that must be present."""
        return Fields(self._get(name, True), self.param(name))

    def objects(self, name: str, *, required: bool = False) -> list[Fields] | None:
        """An array of objects; an empty array counts as missing when required."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid(self.param(name), f"'{self.param(name)}' must be an array.")
        if required and not value:
            raise missing(self.param(name))
        return [Fields(item, f"{self.param(name)}[{i}]") for i, item in enumerate(value)]

    def strings(self, name: str, *, required: bool = False) -> list[str] | None:
        """An array of strings."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(self.param(name), f"'{self.param(name)}' must be an array of strings.")
        if required and not value:
            raise missing(self.param(name))
        return list(value)

    def json_object(self, name: str) -> dict[str, Any] | None:
        """A free-form object passed through as is."""
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise invalid(self.param(name), f"'{self.param(name)}' must be a JSON object.")
        return dict(value)

    def json_array(self, name: str) -> list[Any] | None:
        """A free-form array passed through as is."""
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid(self.param(name), f"'{self.param(name)}' must be an array.")
        return list(value)

    def metadata(self, name: str = "metadata") -> dict[str, Any] | None:
        """DR metadata: an object whose values are strings, booleans or integers."""
        value = self.json_object(name)
        if value is None:
            return None
        for key, item in value.items():
            if not isinstance(item, str | bool | int):
                where = f"{self.param(name)}.{key}"
                raise invalid(where, f"'{where}' must be a string, boolean or integer.")
        return value


def require_object(body: Any) -> Fields:
    """The request body as ``Fields`` (a missing body counts as ``{}``)."""
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise ApiError(400, "invalid_parameter", "The request body must be a JSON object.")
    return Fields(body)
