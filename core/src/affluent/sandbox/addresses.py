"""Addresses and contacts (``shipTo``, ``billTo``, ``owner``, ``shipping``) in request bodies."""

from __future__ import annotations

import re
from typing import Any

from affluent.sandbox import tax
from affluent.sandbox.errors import invalid
from affluent.sandbox.fields import Fields

_COUNTRY = re.compile(r"^[A-Z]{2}$")
ADDRESS_FIELDS = ("line1", "line2", "line3", "city", "postalCode", "state", "country")
CONTACT_FIELDS = ("address", "name", "phone", "email", "organization", "additionalAddressInfo")


def parse_address(f: Fields) -> dict[str, Any]:
    """An ``Address``: strings only, ``country`` required (ISO 3166 alpha-2, upper case)."""
    f.only(ADDRESS_FIELDS)
    address: dict[str, Any] = {}
    for name in ADDRESS_FIELDS:
        value = f.string(name, required=name == "country")
        if value is not None:
            address[name] = value
    if not _COUNTRY.match(address["country"]):
        raise invalid(f.param("country"), f"'{f.param('country')}' must be a two-letter code.")
    bad = tax.address_problem(address["country"], address.get("state"), address.get("postalCode"))
    if bad is not None:
        raise invalid(
            f.param(bad), f"'{f.param(bad)}' is not valid for country {address['country']}."
        )
    return address


def parse_contact(
    f: Fields, *, extra: tuple[str, ...] = (), address_required: bool = False
) -> dict[str, Any]:
    """A contact block (``Shipping``/``Billing``/``owner``): address plus names and phone."""
    f.only(CONTACT_FIELDS + extra)
    contact: dict[str, Any] = {}
    for name in CONTACT_FIELDS + extra:
        if name == "address":
            sub = f.obj("address", required=address_required)
            if sub is not None:
                contact["address"] = parse_address(sub)
        elif name == "additionalAddressInfo":
            info = f.json_object(name)
            if info is not None:
                contact[name] = info
        else:
            value = f.string(name)
            if value is not None:
                contact[name] = value
    return contact


def missing_part(
    address: dict[str, Any] | None, prefix: str, *, with_state: bool = True
) -> str | None:
    """The first part a complete postal address lacks (state only for US/CA), as a path."""
    address = address or {}
    for part in ("line1", "city", "postalCode", "country"):
        if not address.get(part):
            return f"{prefix}.{part}"
    if with_state and address["country"] in ("US", "CA") and not address.get("state"):
        return f"{prefix}.state"
    return None
