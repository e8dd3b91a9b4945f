"""Checkouts: items, addresses, tax and totals, and the payment session."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from affluent.sandbox import catalog, listing, money, pricing, sources, tax
from affluent.sandbox.addresses import missing_part, parse_address, parse_contact
from affluent.sandbox.errors import ApiError, conflict, invalid, not_found
from affluent.sandbox.fields import Fields, require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

# fmt: off
_COMMON = (
    "currency", "items", "customerId", "sourceId", "email", "locale", "browserIp",
    "applicationId", "shipFrom", "shipTo", "billTo", "organization", "shippingChoice",
    "shippingDiscount", "chargeType", "customerType", "taxIdentifiers", "purchaseLocation",
    "upstreamId", "metadata", "invoiceAttributeId", "billingOptimization", "disclosures"
)
# fmt: on
CREATE_FIELDS = (*_COMMON, "discount", "taxInclusive")
# fmt: off
ITEM_FIELDS = (
    "skuId", "productDetails", "price", "aggregatePrice", "quantity", "discount", "metadata",
    "shipFrom", "subscriptionInfo"
)
# fmt: on
ITEM_UPDATE_FIELDS = ("id", "subscriptionInfo", "shipFrom", "metadata")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
FILTERS = {
    **listing.COMMON,
    "updatedTime": listing.field("updatedTime", "time"),
    "upstreamIds": listing.field("upstreamId"),
    "customerId": listing.field("customerId"),
    "applicationId": listing.field("applicationId"),
    "email": listing.field("email"),
    "currency": listing.field("currency"),
    "totalAmount": listing.field("totalAmount", "number"),
    "locale": listing.field("locale"),
    "chargeType": listing.field("chargeType"),
    "customerType": listing.field("customerType"),
    "browserIp": listing.field("browserIp"),
}


def find(sb: Sandbox, checkout_id: str, parameter: str = "checkoutId") -> Doc:
    """A copy of a stored checkout, or 404."""
    doc = sb.store.get("checkouts", checkout_id)
    if doc is None:
        raise not_found(parameter, checkout_id, "Checkout")
    return doc


def render(sb: Sandbox, doc: Doc) -> Doc:
    """The checkout as DR returns it, with its sources."""
    view = public(doc)
    attached = (sb.store.peek("sources", s) for s in doc["_sourceIds"])
    view["payment"] = {
        "sources": [sources.summary(s) for s in attached if s is not None],
        "session": copy.deepcopy(doc["payment"]["session"]),
    }
    return view


def is_physical(doc: Doc) -> bool:
    """Whether any item ships (a SKU or ``productDetails`` with ``physical: true``)."""
    return any(line["physical"] for line in doc["_lines"].values())


# -- parsing -----------------------------------------------------------------------------------


def _item(sb: Sandbox, f: Fields) -> tuple[Doc, Doc]:
    """A new checkout item and its pricing inputs."""
    if f.has("id"):
        raise invalid(f.param("id"), "Item ids are assigned by the checkout.")
    f.only(ITEM_FIELDS)
    item: Doc = {"id": sb.new_uuid()}
    sku_id = f.string("skuId")
    details = f.obj("productDetails")
    if sku_id is not None:
        sku = catalog.find(sb, sku_id, f.param("skuId"))
        item["skuId"] = sku_id
        product = {k: v for k, v in sku.items() if k in catalog.PRODUCT_FIELDS}
        physical, meta = bool(sku.get("physical")), sku.get("metadata")
    elif details is not None:
        details.only((*catalog.PRODUCT_FIELDS, "physical", "metadata"))
        product = catalog.parse_product(details)
        physical, meta = product.pop("physical"), product.pop("metadata", None)
    else:
        raise ApiError(
            400,
            "missing_parameter",
            "Each item needs 'skuId' or 'productDetails'.",
            f.param("skuId"),
        )
    item["productDetails"] = product
    price = f.decimal("price")
    aggregate = f.decimal("aggregatePrice")
    if (price is None) == (aggregate is None):
        raise ApiError(
            400,
            "missing_parameter",
            "Each item needs exactly one of 'price', 'aggregatePrice'.",
            f.param("price"),
        )
    item["quantity"] = f.integer("quantity", minimum=1) or 1
    discount = f.obj("discount")
    if discount is not None:
        item["discount"] = pricing.parse_discount(discount, with_quantity=True)
    _item_extras(item, f)
    line = {
        "price": None if price is None else str(price),
        "aggregatePrice": None if aggregate is None else str(aggregate),
        "physical": physical,
        "productMetadata": meta,
    }
    return item, line


def _item_extras(item: Doc, f: Fields) -> None:
    ship_from = f.obj("shipFrom")
    if ship_from is not None:
        item["shipFrom"] = _ship_from(ship_from)
    subscription = f.json_object("subscriptionInfo")
    if subscription is not None:
        item["subscriptionInfo"] = subscription
    metadata = f.metadata()
    if metadata is not None:
        item["metadata"] = metadata


def _ship_from(f: Fields) -> Doc:
    f.only(("address", "additionalAddressInfo"))
    ship_from: Doc = {"address": parse_address(f.child("address"))}
    info = f.json_object("additionalAddressInfo")
    if info is not None:
        ship_from["additionalAddressInfo"] = info
    return ship_from


def _apply(sb: Sandbox, doc: Doc, f: Fields) -> None:
    """Fields settable on create and update."""
    currency = f.string("currency")
    if currency is not None:
        if not _CURRENCY.match(currency):
            raise invalid("currency", "'currency' must be a three-letter ISO 4217 code.")
        if currency not in tax.ENABLED_CURRENCIES:
            raise conflict(
                "currency_unactivated", f"Currency {currency} is not activated.", "currency"
            )
        doc["currency"] = currency
    customer_id = f.string("customerId")
    if customer_id is not None:
        if sb.store.peek("customers", customer_id) is None:
            raise not_found("customerId", customer_id, "Customer")
        doc["customerId"] = customer_id
    for name in (
        "email",
        "locale",
        "browserIp",
        "applicationId",
        "upstreamId",
        "invoiceAttributeId",
    ):
        value = f.string(name)
        if value is not None:
            doc[name] = value
    for name in ("organization", "billingOptimization", "disclosures"):
        blob = f.json_object(name)
        if blob is not None:
            doc[name] = blob
    identifiers = f.json_array("taxIdentifiers")
    if identifiers is not None:
        doc["taxIdentifiers"] = identifiers
    for name, options in (
        ("chargeType", ("customer_initiated", "merchant_initiated", "moto")),
        ("customerType", ("individual", "business")),
    ):
        chosen = f.choice(name, options)
        if chosen is not None:
            doc[name] = chosen
    ship_from = f.obj("shipFrom")
    if ship_from is not None:
        doc["shipFrom"] = _ship_from(ship_from)
    for name in ("shipTo", "billTo"):
        contact = f.obj(name)
        if contact is not None:
            doc[name] = parse_contact(contact, address_required=True)
    location = f.obj("purchaseLocation")
    if location is not None:
        location.only(("country", "state", "postalCode"))
        doc["purchaseLocation"] = parse_address(location)
    choice = f.obj("shippingChoice")
    if choice is not None:
        choice.only(("id", "amount", "description", "serviceLevel", "shippingTerms"))
        if not choice.has("amount"):
            raise ApiError(
                400,
                "internal_error",
                "Client must provide shipping cost.",
                "shippingChoice.amount",
            )
        doc["_shipping"] = str(choice.decimal("amount"))
        shipping: Doc = {"amount": 0.0, "taxAmount": 0.0}
        for name in ("id", "description", "serviceLevel"):
            value = choice.string(name)
            if value is not None:
                shipping[name] = value
        shipping["shippingTerms"] = choice.choice("shippingTerms", ("DDP", "DAP")) or "DDP"
        doc["shippingChoice"] = shipping
    shipping_discount = f.obj("shippingDiscount")
    if shipping_discount is not None:
        doc["shippingDiscount"] = pricing.parse_discount(shipping_discount)
    metadata = f.metadata()
    if metadata is not None:
        doc["metadata"] = metadata


def _validate(doc: Doc) -> None:
    """Rules on the checkout as a whole (after create or update)."""
    for name in ("shipTo", "billTo"):
        country = ((doc.get(name) or {}).get("address") or {}).get("country")
        if country in tax.UNSUPPORTED_COUNTRIES:
            raise conflict(
                "country_unsupported",
                f"Digital River does not sell to {country}.",
                f"{name}.address.country",
            )
    if is_physical(doc) and "shipTo" in doc:
        gap = missing_part(doc["shipTo"].get("address"), "shipTo.address")
        if gap is not None:
            raise ApiError(400, "missing_parameter", f"'{gap}' is required to ship goods.", gap)
        if "shippingChoice" not in doc:
            raise ApiError(
                400,
                "invalid_shipping_choice",
                "Could not get shipping options: send a 'shippingChoice' for physical goods.",
                "shippingChoice",
            )


def _finish(sb: Sandbox, doc: Doc, f: Fields) -> Doc:
    _validate(doc)
    pricing.price(doc)
    doc["sellingEntity"] = tax.selling_entity(tax.destination(doc)[0])
    source_id = f.string("sourceId")
    if source_id is not None:
        _attach(sb, doc, sources.find(sb, source_id))
    refresh_session(sb, doc)
    sb.store.put("checkouts", doc)
    return render(sb, doc)


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /checkouts``."""
    f = require_object(body)
    f.only(CREATE_FIELDS)
    f.string("currency", required=True)
    item_fields = f.objects("items", required=True) or []
    now = sb.timestamp()
    session_id = sb.new_uuid()
    doc: Doc = {"id": sb.new_uuid(), "createdTime": now, "updatedTime": now, "locale": "en_US"}
    _apply(sb, doc, f)
    doc.setdefault("chargeType", "customer_initiated")
    doc.setdefault("customerType", "individual")
    doc.setdefault("taxIdentifiers", [])
    doc["_lines"] = {}
    doc["items"] = []
    for item_f in item_fields:
        item, line = _item(sb, item_f)
        doc["items"].append(item)
        doc["_lines"][item["id"]] = line
    discount = f.obj("discount")
    if discount is not None:
        doc["discount"] = pricing.parse_discount(discount)
    doc["_taxInclusive"] = bool(f.boolean("taxInclusive"))
    doc["payment"] = {
        "session": {
            "id": session_id,
            "amountContributed": 0.0,
            "amountRemainingToBeContributed": 0.0,
            "state": "requires_source",
            "clientSecret": f"{session_id}_{sb.new_uuid()}",
        }
    }
    doc["liveMode"] = False
    doc["_sourceIds"] = []
    return _finish(sb, doc, f)


def _consumed(doc: Doc) -> ApiError:
    return conflict(
        "checkout_already_submitted",
        f"Checkout {doc['id']} already became order {doc['_orderId']}; create a new checkout.",
        "checkoutId",
    )


def update(sb: Sandbox, checkout_id: str, body: Any) -> Doc:
    """``POST /checkouts/{id}``: items only by id, and only their extras."""
    doc = find(sb, checkout_id)
    if "_orderId" in doc:
        raise _consumed(doc)
    f = require_object(body)
    for name in ("discount", "taxInclusive"):
        if f.has(name):
            raise invalid(name, f"'{name}' can only be set when the checkout is created.")
    f.only(_COMMON)
    _apply(sb, doc, f)
    by_id = {item["id"]: item for item in doc["items"]}
    for item_f in f.objects("items") or []:
        for name in item_f.data:
            if name not in ITEM_UPDATE_FIELDS:
                where = item_f.param(name)
                raise invalid(
                    where, f"'{where}' cannot change after create; create a new checkout."
                )
        item_id = item_f.string("id", required=True) or ""
        if item_id not in by_id:
            raise invalid(item_f.param("id"), f"No item '{item_id}' in this checkout.")
        _item_extras(by_id[item_id], item_f)
    doc["updatedTime"] = sb.timestamp()
    return _finish(sb, doc, f)


def get(sb: Sandbox, checkout_id: str) -> Doc:
    """``GET /checkouts/{id}``."""
    return render(sb, find(sb, checkout_id))


def delete(sb: Sandbox, checkout_id: str) -> None:
    """``DELETE /checkouts/{id}``."""
    find(sb, checkout_id)
    sb.store.delete("checkouts", checkout_id)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /checkouts``."""
    return listing.paginate(sb.store.values("checkouts"), query, FILTERS, lambda d: render(sb, d))


# -- payment session ---------------------------------------------------------------------------


def refresh_session(sb: Sandbox, doc: Doc) -> None:
    """Recompute what the sources contribute; the primary source covers what credit doesn't."""
    session = doc["payment"]["session"]
    if session["state"] not in ("requires_source", "requires_confirmation"):
        return
    currency = doc["currency"]
    total = money.dec(doc["totalAmount"])
    attached = [sb.store.get("sources", s) for s in doc["_sourceIds"]]
    present = [s for s in attached if s is not None]
    credit = money.total(s["amount"] for s in present if s["type"] == "customerCredit")
    contributed = credit
    for source in present:
        if source["type"] != "customerCredit":
            share = max(total - credit, money.ZERO)
            source["amount"] = money.num(share, currency)
            source["currency"] = currency
            sb.store.put("sources", source)
            contributed += share
    contributed = min(contributed, total)
    remaining = total - contributed
    session["amountContributed"] = money.num(contributed, currency)
    session["amountRemainingToBeContributed"] = money.num(remaining, currency)
    funded = bool(present) and remaining == 0
    session["state"] = "requires_confirmation" if funded else "requires_source"


def _attach(sb: Sandbox, doc: Doc, source: Doc) -> None:
    if "_orderId" in doc:
        raise _consumed(doc)
    if source["id"] in doc["_sourceIds"]:
        return
    if source["state"] in sources.UNUSABLE:
        raise conflict(
            "source_status_invalid_for_session",
            f"Source is '{source['state']}' and cannot be used.",
            "sourceId",
        )
    session_id = doc["payment"]["session"]["id"]
    if not source["reusable"] and source.get("paymentSessionId") not in (None, session_id):
        raise conflict(
            "source_status_invalid_for_session",
            "Source was created for another payment session.",
            "sourceId",
        )
    attached = [sb.store.get("sources", s) for s in doc["_sourceIds"]]
    present = [s for s in attached if s is not None]
    if source["type"] == "customerCredit":
        if source.get("currency") != doc["currency"]:
            raise invalid("sourceId", "The credit's currency differs from the checkout's.")
        primary = [s for s in present if s["type"] != "customerCredit"]
        if primary and not primary[0]["reusable"]:
            raise conflict(
                "session_update_not_allowed",
                "Add store credit before the single-use primary source.",
                "sourceId",
            )
        credit = money.total(s["amount"] for s in present if s["type"] == "customerCredit")
        if credit + money.dec(source["amount"]) > money.dec(doc["totalAmount"]):
            raise conflict(
                "session_source_amount_too_large",
                "Secondary sources would exceed the checkout total.",
                "sourceId",
            )
    else:
        for old in present:
            if old["type"] != "customerCredit":
                _detach(sb, doc, old)
    if not source["reusable"]:
        source["paymentSessionId"] = session_id
    sb.store.put("sources", source)
    doc["_sourceIds"].append(source["id"])
    if "billTo" not in doc and "address" in source.get("owner", {}):
        owner = source["owner"]
        name = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p)
        doc["billTo"] = {"address": owner["address"], **({"name": name} if name else {})}
        if owner.get("email"):
            doc["billTo"]["email"] = owner["email"]


def _detach(sb: Sandbox, doc: Doc, source: Doc) -> None:
    doc["_sourceIds"].remove(source["id"])
    if not source["reusable"]:
        source["state"] = "cancelled"
        sb.store.put("sources", source)


def attach_source(sb: Sandbox, checkout_id: str, source_id: str) -> Doc:
    """``POST /checkouts/{id}/sources/{sourceId}``."""
    doc = find(sb, checkout_id)
    source = sources.find(sb, source_id)
    _attach(sb, doc, source)
    refresh_session(sb, doc)
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("checkouts", doc)
    return sources.render(sb.store.peek("sources", source_id) or source)


def detach_source(sb: Sandbox, checkout_id: str, source_id: str) -> None:
    """``DELETE /checkouts/{id}/sources/{sourceId}``: a single-use source is cancelled."""
    doc = find(sb, checkout_id)
    if "_orderId" in doc:
        raise _consumed(doc)
    if source_id not in doc["_sourceIds"]:
        raise not_found("sourceId", source_id, "Source of this checkout")
    _detach(sb, doc, sources.find(sb, source_id))
    refresh_session(sb, doc)
    doc["updatedTime"] = sb.timestamp()
    sb.store.put("checkouts", doc)
