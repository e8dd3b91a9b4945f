"""Customers and their saved (reusable) payment sources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affluent.sandbox import listing, sources
from affluent.sandbox.addresses import parse_contact
from affluent.sandbox.errors import conflict, invalid, not_found
from affluent.sandbox.fields import Fields, require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

# fmt: off
_UPDATABLE = (
    "email", "shipping", "defaultSourceId", "type", "locale", "enabled", "metadata",
    "taxCertificate", "taxIdentifiers", "requestToBeForgotten"
)
# fmt: on
FILTERS = {
    **listing.COMMON,
    "updatedTime": listing.field("updatedTime", "time"),
    "email": listing.field("email"),
    "requestToBeForgotten": listing.field("requestToBeForgotten", "bool"),
}


def find(sb: Sandbox, customer_id: str, parameter: str = "customerId") -> Doc:
    """A copy of a stored customer, or 404."""
    doc = sb.store.get("customers", customer_id)
    if doc is None:
        raise not_found(parameter, customer_id, "Customer")
    return doc


def render(sb: Sandbox, doc: Doc) -> Doc:
    """The customer with its attached sources."""
    view = public(doc)
    attached = (sb.store.peek("sources", s) for s in doc["_sourceIds"])
    view["sources"] = [sources.render(s) for s in attached if s is not None]
    return view


def _apply(sb: Sandbox, doc: Doc, f: Fields) -> None:
    email = f.string("email")
    if email is not None:
        doc["email"] = email
    shipping = f.obj("shipping")
    if shipping is not None:
        doc["shipping"] = parse_contact(shipping)
    kind = f.choice("type", ("individual", "business"))
    if kind is not None:
        doc["type"] = kind
    locale = f.string("locale")
    if locale is not None:
        doc["locale"] = locale
    for flag in ("enabled", "requestToBeForgotten"):
        value = f.boolean(flag)
        if value is not None:
            doc[flag] = value
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata
    certificate = f.json_object("taxCertificate")
    if certificate is not None:
        doc["taxCertificates"] = [certificate]
    identifiers = f.json_array("taxIdentifiers")
    if identifiers is not None:
        doc["taxIdentifiers"] = identifiers
    default = f.string("defaultSourceId")
    if default is not None:
        if default not in doc["_sourceIds"]:
            raise invalid("defaultSourceId", "'defaultSourceId' must be a source attached first.")
        doc["defaultSourceId"] = default


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /customers``: the caller may choose the id (at most 40 characters)."""
    f = require_object(body)
    f.only(("id", *_UPDATABLE))
    if f.has("requestToBeForgotten"):
        raise invalid("requestToBeForgotten", "'requestToBeForgotten' can only be updated.")
    customer_id = f.string("id")
    if customer_id is not None:
        if not customer_id or len(customer_id) > 40:
            raise invalid("id", "'id' must be 1 to 40 characters long.")
        if sb.store.peek("customers", customer_id) is not None:
            raise conflict("already_exists", f"Customer '{customer_id}' already exists.", "id")
    else:
        customer_id = sb.numeric_id(12, lambda c: sb.store.peek("customers", c) is not None)
    now = sb.timestamp()
    doc: Doc = {
        "id": customer_id,
        "createdTime": now,
        "updatedTime": now,
        "enabled": True,
        "requestToBeForgotten": False,
        "taxIdentifiers": [],
        "taxCertificates": [],
        "liveMode": False,
        "_sourceIds": [],
    }
    _apply(sb, doc, f)
    sb.store.put("customers", doc)
    return render(sb, doc)


def get(sb: Sandbox, customer_id: str) -> Doc:
    """``GET /customers/{id}``."""
    return render(sb, find(sb, customer_id))


def update(sb: Sandbox, customer_id: str, body: Any) -> Doc:
    """``POST /customers/{id}``."""
    doc = find(sb, customer_id)
    f = require_object(body)
    f.only(_UPDATABLE)
    _apply(sb, doc, f)
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("customers", doc)
    return render(sb, doc)


def delete(sb: Sandbox, customer_id: str) -> None:
    """``DELETE /customers/{id}``: its saved sources are cancelled."""
    doc = find(sb, customer_id)
    for source_id in doc["_sourceIds"]:
        _cancel(sb, source_id)
    sb.store.delete("customers", customer_id)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /customers``."""
    return listing.paginate(sb.store.values("customers"), query, FILTERS, lambda d: render(sb, d))


def attach_source(sb: Sandbox, customer_id: str, source_id: str) -> Doc:
    """``POST /customers/{id}/sources/{sourceId}``: save the source (it becomes reusable)."""
    doc = find(sb, customer_id)
    source = sources.find(sb, source_id)
    if source_id in doc["_sourceIds"]:
        return sources.render(source)
    if source["type"] == "customerCredit":
        raise conflict("nonreusable_source", "This payment method cannot be reused.", "sourceId")
    if source["state"] != "chargeable":
        raise conflict(
            "source_not_chargeable", f"Source is '{source['state']}', not chargeable.", "sourceId"
        )
    if source.get("customerId") not in (None, customer_id):
        raise conflict("source_in_use", "Source belongs to another customer.", "sourceId")
    source["reusable"] = True
    source["customerId"] = customer_id
    sb.store.put("sources", source)
    doc["_sourceIds"].append(source_id)
    doc.setdefault("defaultSourceId", source_id)
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("customers", doc)
    return sources.render(source)


def _cancel(sb: Sandbox, source_id: str) -> None:
    source = sb.store.get("sources", source_id)
    if source is not None:
        source["state"] = "cancelled"
        sb.store.put("sources", source)


def detach_source(sb: Sandbox, customer_id: str, source_id: str) -> None:
    """``DELETE /customers/{id}/sources/{sourceId}``: the source is cancelled for good."""
    doc = find(sb, customer_id)
    if source_id not in doc["_sourceIds"]:
        raise not_found("sourceId", source_id, "Source of this customer")
    _cancel(sb, source_id)
    doc["_sourceIds"].remove(source_id)
    if doc.get("defaultSourceId") == source_id:
        del doc["defaultSourceId"]
        if doc["_sourceIds"]:
            doc["defaultSourceId"] = doc["_sourceIds"][0]
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("customers", doc)
