"""Deterministic stand-ins for DR's tax engine and entity selection (emulator tables).

The rates are fixed round numbers close to real headline rates so that totals are easy to
check by hand; they are not DR's tax results. docs/sandbox.md lists the same tables.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

ENABLED_CURRENCIES = frozenset(
    {
        "USD",
        "CAD",
        "EUR",
        "GBP",
        "CHF",
        "SEK",
        "DKK",
        "NOK",
        "PLN",
        "JPY",
        "KRW",
        "AUD",
        "NZD",
        "SGD",
        "TWD",
    }
)
"""Currencies the sandbox account has activated; others get 409 ``currency_unactivated``."""

UNSUPPORTED_COUNTRIES = frozenset({"CU", "IR", "KP", "SY"})
"""Countries DR won't sell to (sanctions); 409 ``country_unsupported``."""

US_STATE_RATES: dict[str, Decimal] = {
    "CA": Decimal("0.0725"),
    "FL": Decimal("0.06"),
    "IL": Decimal("0.0625"),
    "MN": Decimal("0.0775"),
    "NY": Decimal("0.08875"),
    "TX": Decimal("0.0825"),
    "WA": Decimal("0.101"),
    "AK": Decimal(0),
    "DE": Decimal(0),
    "MT": Decimal(0),
    "NH": Decimal(0),
    "OR": Decimal(0),
}
US_DEFAULT_RATE = Decimal("0.06")

CA_PROVINCE_RATES: dict[str, Decimal] = {
    "AB": Decimal("0.05"),
    "BC": Decimal("0.12"),
    "ON": Decimal("0.13"),
    "QC": Decimal("0.14975"),
}
CA_DEFAULT_RATE = Decimal("0.05")

COUNTRY_RATES: dict[str, Decimal] = {
    "AT": Decimal("0.20"),
    "AU": Decimal("0.10"),
    "BE": Decimal("0.21"),
    "CH": Decimal("0.081"),
    "DE": Decimal("0.19"),
    "DK": Decimal("0.25"),
    "ES": Decimal("0.21"),
    "FI": Decimal("0.255"),
    "FR": Decimal("0.20"),
    "GB": Decimal("0.20"),
    "IE": Decimal("0.23"),
    "IT": Decimal("0.22"),
    "JP": Decimal("0.10"),
    "KR": Decimal("0.10"),
    "NL": Decimal("0.21"),
    "NO": Decimal("0.25"),
    "NZ": Decimal("0.15"),
    "PL": Decimal("0.23"),
    "PT": Decimal("0.23"),
    "SE": Decimal("0.25"),
    "SG": Decimal("0.09"),
    "TW": Decimal("0.05"),
}
"""Everything not listed (and not US/CA) is taxed at 0."""

EU = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)

INC = {"id": "C5_INC-ENTITY", "name": "DR globalTech Inc."}
IRELAND = {"id": "DR_IRELAND-ENTITY", "name": "Digital River Ireland Ltd."}
TAIWAN = {"id": "DR_TAIWAN-ENTITY", "name": "Digital River Taiwan Ltd."}
JAPAN = {"id": "DR_JAPAN-ENTITY", "name": "Digital River Japan K.K."}


def selling_entity(country: str | None) -> dict[str, str]:
    """The DR entity that sells into ``country``; ``{}`` while no country is known."""
    if country is None:
        return {}
    if country in ("US", "CA", "PR"):
        return dict(INC)
    if country == "TW":
        return dict(TAIWAN)
    if country == "JP":
        return dict(JAPAN)
    return dict(IRELAND)  # EU, UK, EFTA and the rest of the world


def rate(country: str | None, state: str | None) -> Decimal:
    """Tax rate for a destination."""
    if country == "US":
        if not state:
            return Decimal(0)
        return US_STATE_RATES.get(state, US_DEFAULT_RATE)
    if country == "CA":
        return CA_PROVINCE_RATES.get(state or "", CA_DEFAULT_RATE)
    return COUNTRY_RATES.get(country or "", Decimal(0))


def destination(checkout: dict[str, Any]) -> tuple[str | None, str | None]:
    """Where tax is owed: ship-to, else bill-to, else ``purchaseLocation`` (country, state)."""
    for key in ("shipTo", "billTo"):
        address = (checkout.get(key) or {}).get("address") or {}
        if address.get("country"):
            return address["country"], address.get("state")
    location = checkout.get("purchaseLocation") or {}
    if location.get("country"):
        return location["country"], location.get("state")
    return None, None


US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
        "AA",
        "AE",
        "AP",
    ]
)
CA_PROVINCES = frozenset(
    ["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"]
)
POSTAL_CODES: dict[str, re.Pattern[str]] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$"),
    "GB": re.compile(r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
}


def address_problem(country: str, state: str | None, postal_code: str | None) -> str | None:
    """Which of ``state``/``postalCode`` is malformed for ``country`` (or ``None``)."""
    if state is not None:
        if country == "US" and state not in US_STATES:
            return "state"
        if country == "CA" and state not in CA_PROVINCES:
            return "state"
    pattern = POSTAL_CODES.get(country)
    if postal_code is not None and pattern is not None and not pattern.match(postal_code):
        return "postalCode"
    return None
