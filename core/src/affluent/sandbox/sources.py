"""Payment sources: server-side creation with test data, masking, approval of redirects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affluent.sandbox import money, triggers
from affluent.sandbox.addresses import parse_contact
from affluent.sandbox.errors import invalid, missing, not_found
from affluent.sandbox.fields import Fields, require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

TYPES = ("creditCard", "payPal", "wireTransfer", "customerCredit")
FLOWS = {
    "creditCard": "standard",
    "customerCredit": "standard",
    "payPal": "redirect",
    "wireTransfer": "receiver",
}
UNUSABLE = ("failed", "cancelled", "consumed")
"""Source states that can never be attached or charged again."""


def find(sb: Sandbox, source_id: str, parameter: str = "sourceId") -> Doc:
    """A copy of a stored source, or 404."""
    doc = sb.store.get("sources", source_id)
    if doc is None:
        raise not_found(parameter, source_id, "Source")
    return doc


def render(doc: Doc) -> Doc:
    """The source as DR returns it (card data masked; the number is never stored)."""
    return public(doc)


def summary(doc: Doc) -> Doc:
    """The source as listed under ``payment.sources`` of a checkout or order."""
    view = public(doc)
    view.pop("clientSecret", None)
    return view


def behaviours(doc: Doc) -> set[str]:
    """Forced behaviours (see ``triggers``) of a source."""
    return set(doc.get("_behaviours", ()))


def _checkout_of_session(sb: Sandbox, session_id: str) -> Doc | None:
    for doc in sb.store.values("checkouts"):
        if doc["payment"]["session"]["id"] == session_id:
            return doc
    return None


def _card(sb: Sandbox, f: Fields) -> tuple[Doc, set[str]]:
    f.only(("number", "expirationMonth", "expirationYear", "cvv"))
    number = f.string("number", required=True) or ""
    card = triggers.card(number)
    if card is None:
        raise invalid(f.param("number"), "Use a sandbox test card number (see docs/sandbox.md).")
    month = f.integer("expirationMonth", required=True, minimum=1, maximum=12) or 0
    year = f.integer("expirationYear", required=True, minimum=1000, maximum=9999) or 0
    now = sb.now()
    if (year, month) < (now.year, now.month):
        raise invalid(f.param("expirationYear"), "The card has expired.")
    cvv = f.string("cvv")
    if cvv is not None and not (cvv.isdigit() and 3 <= len(cvv) <= 4):
        raise invalid(f.param("cvv"), f"'{f.param('cvv')}' must be 3 or 4 digits.")
    digits = number.replace(" ", "").replace("-", "")
    masked = {
        "brand": card.brand,
        "expirationMonth": month,
        "expirationYear": year,
        "lastFourDigits": digits[-4:],
    }
    return masked, {card.behaviour} if card.behaviour else set()


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /sources`` (secret or public test key): card, PayPal, wire or store credit."""
    f = require_object(body)
    f.only(
        (
            "type",
            "paymentSessionId",
            "amount",
            "currency",
            "owner",
            "reusable",
            "upstreamId",
            "metadata",
            *TYPES,
        )
    )
    source_type = f.choice("type", TYPES, required=True) or ""
    session_id = f.string("paymentSessionId")
    checkout = None
    if session_id is not None:
        checkout = _checkout_of_session(sb, session_id)
        if checkout is None:
            raise not_found("paymentSessionId", session_id, "Payment session")
    if f.boolean("reusable"):
        raise invalid(
            "reusable", "New sources are single-use; attach one to a customer to reuse it."
        )
    owner_f = f.obj("owner")
    owner = (
        parse_contact(owner_f, extra=("firstName", "lastName", "upstreamId"), address_required=True)
        if owner_f
        else None
    )
    currency = f.string("currency")
    if checkout is not None:
        if currency is not None and currency != checkout["currency"]:
            raise invalid("currency", "'currency' must match the payment session's currency.")
        currency = checkout["currency"]
    amount = f.decimal("amount")

    found: set[str] = set()
    doc: Doc = {"id": sb.new_uuid()}
    doc["clientSecret"] = f"{doc['id']}_{sb.new_uuid()}"
    doc["createdTime"] = sb.timestamp()
    doc["type"] = source_type
    details = f.obj(source_type, required=source_type == "creditCard")
    if source_type == "creditCard" and details is not None:
        doc["creditCard"], found = _card(sb, details)
    elif source_type == "customerCredit":
        if amount is None:
            raise missing("amount")
        if currency is None:
            raise missing("currency")
        if details is not None:
            details.only(())
        doc["customerCredit"] = {}
    elif source_type == "payPal":
        urls: Doc = {}
        if details is not None:
            details.only(("returnUrl", "cancelUrl"))
            for key in ("returnUrl", "cancelUrl"):
                url = details.string(key)
                if url is not None:
                    urls[key] = url
        doc["payPal"] = {}
        doc["redirect"] = {
            "redirectUrl": f"https://sandbox.affluent.invalid/paypal/{doc['id']}",
            **urls,
        }
    else:
        if details is not None:
            details.only(())
        doc["wireTransfer"] = {
            "accountHolder": "Digital River Sandbox",
            "bankName": "Sandbox Bank",
            "city": "Minnetonka",
            "country": "US",
            "referenceId": doc["id"][:8].upper(),
            "accountNumber": "000123456789",
            "swiftCode": "SANDUS00",
        }
    last_name = (owner or {}).get("lastName")
    named = triggers.LAST_NAMES.get(last_name or "")
    if named is not None:
        found.add(named)

    if currency is not None:
        doc["currency"] = currency
    if amount is None and checkout is not None:
        amount = money.dec(checkout["totalAmount"])
    if amount is not None:
        doc["amount"] = money.num(amount, currency or "USD")
    doc["reusable"] = False
    if owner is not None:
        doc["owner"] = owner
    doc["flow"] = FLOWS[source_type]
    if "source_fail" in found:
        doc["state"] = "failed"
    elif source_type == "payPal":
        doc["state"] = "pending_redirect"
    elif source_type == "wireTransfer":
        doc["state"] = "pending_funds"
    else:
        doc["state"] = "chargeable"
    if session_id is not None:
        doc["paymentSessionId"] = session_id
    upstream_id = f.string("upstreamId")
    if upstream_id is not None:
        doc["upstreamId"] = upstream_id
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    doc["liveMode"] = False
    doc["_behaviours"] = sorted(found)
    sb.store.put("sources", doc)
    return render(doc)


def get(sb: Sandbox, source_id: str) -> Doc:
    """``GET /sources/{id}``."""
    return render(find(sb, source_id))
