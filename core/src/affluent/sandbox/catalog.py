"""SKUs: the catalog entries checkout items point at with ``skuId``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affluent.sandbox import listing
from affluent.sandbox.errors import conflict, invalid, not_found
from affluent.sandbox.fields import Fields, require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

# fmt: off
_STRINGS = (
    "name", "description", "skuGroupId", "eccn", "taxCode", "countryOfOrigin", "partNumber",
    "url", "image", "manufacturerId"
)
# the fields of ``productDetails``, in requests and responses
PRODUCT_FIELDS = (
    "id", "skuGroupId", "name", "description", "url", "countryOfOrigin", "image", "weight",
    "weightUnit", "partNumber"
)
# fmt: on
WEIGHT_UNITS = ("oz", "lb", "g", "kg")


def parse_product(f: Fields) -> dict[str, Any]:
    """Product fields shared by SKUs and ``productDetails`` (plus ``physical``, ``metadata``)."""
    product: dict[str, Any] = {}
    for name in PRODUCT_FIELDS + _STRINGS:
        if name in ("weight", "weightUnit") or name in product:
            continue
        value = f.string(name, required=name == "name", max_len=255)
        if value is not None:
            product[name] = value
    weight = f.decimal("weight")
    if weight is not None:
        product["weight"] = float(weight)
    unit = f.choice("weightUnit", WEIGHT_UNITS)
    if unit is not None:
        product["weightUnit"] = unit
    product["physical"] = bool(f.boolean("physical"))
    metadata = f.metadata()
    if metadata is not None:
        product["metadata"] = metadata
    return product


def _write(sb: Sandbox, sku_id: str, f: Fields, existing: Doc | None) -> Doc:
    f.only(
        (
            "id",
            *PRODUCT_FIELDS,
            *_STRINGS,
            "physical",
            "metadata",
            "fulfill",
            "allowOversell",
            "managedFulfillment",
        )
    )
    doc: Doc = {**parse_product(f), "id": sku_id}
    for flag in ("fulfill", "allowOversell"):
        value = f.boolean(flag)
        if value is not None:
            doc[flag] = value
    managed = f.string("managedFulfillment")
    if managed is not None:
        doc["managedFulfillment"] = managed
    now = sb.timestamp()
    doc["createdTime"] = existing["createdTime"] if existing else now
    doc["updatedTime"] = now
    doc["liveMode"] = False
    sb.store.put("skus", doc)
    return public(doc)


def create(sb: Sandbox, body: Any) -> Doc:
    """``POST /skus``: the id is the caller's or ``sku_<uuid>``."""
    f = require_object(body)
    sku_id = f.string("id", max_len=100) or f"sku_{sb.new_uuid()}"
    if sb.store.peek("skus", sku_id) is not None:
        raise conflict("already_exists", f"SKU '{sku_id}' already exists.", "id")
    return _write(sb, sku_id, f, None)


def upsert(sb: Sandbox, sku_id: str, body: Any) -> Doc:
    """``PUT /skus/{id}``: create or replace."""
    f = require_object(body)
    body_id = f.string("id")
    if body_id is not None and body_id != sku_id:
        raise invalid("id", "'id' in the body must match the SKU id in the path.")
    return _write(sb, sku_id, f, sb.store.peek("skus", sku_id))


def find(sb: Sandbox, sku_id: str, parameter: str = "skuId") -> Doc:
    """A stored SKU or 404."""
    doc = sb.store.peek("skus", sku_id)
    if doc is None:
        raise not_found(parameter, sku_id, "SKU")
    return doc


def get(sb: Sandbox, sku_id: str) -> Doc:
    """``GET /skus/{id}``."""
    return public(find(sb, sku_id))


def delete(sb: Sandbox, sku_id: str) -> None:
    """``DELETE /skus/{id}``."""
    find(sb, sku_id)
    sb.store.delete("skus", sku_id)


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /skus``."""
    filters = {**listing.COMMON, "skuGroupId": listing.field("skuGroupId")}
    return listing.paginate(sb.store.values("skus"), query, filters, public)
