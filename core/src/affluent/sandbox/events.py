"""Reading the event log (``/events``) and managing webhooks (``/webhooks``)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from affluent.sandbox import listing
from affluent.sandbox.errors import invalid, not_found
from affluent.sandbox.fields import Fields, require_object
from affluent.sandbox.store import Doc, public

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox


def _object_ids(event: Doc) -> list[str]:
    obj = event["data"]["object"]
    return [str(v) for v in (obj.get("id"), obj.get("orderId")) if v is not None]


FILTERS: dict[str, listing.Filter] = {
    **listing.COMMON,
    "orderId": listing.Filter("any", _object_ids),
}


def get(sb: Sandbox, event_id: str) -> Doc:
    """``GET /events/{id}``."""
    doc = sb.store.peek("events", event_id)
    if doc is None:
        raise not_found("eventId", event_id, "Event")
    return doc


def list_all(sb: Sandbox, query: list[tuple[str, str]]) -> Doc:
    """``GET /events``: ``type`` (a name or ``order.*`` pattern) or ``types`` (not both)."""
    single = [v for k, v in query if k == "type"]
    many = [part for k, v in query if k == "types" for part in v.split(",") if part]
    if single and many:
        raise invalid("types", "Use either 'type' or 'types', not both.")
    if len(single) > 1:
        raise invalid("type", "'type' may be given once; use 'types' for several.")
    if len(many) >= 20:
        raise invalid("types", "'types' takes fewer than 20 event types.")
    patterns = single or many
    docs = sb.store.values("events")
    if patterns:
        docs = [d for d in docs if any(fnmatch.fnmatchcase(d["type"], p) for p in patterns)]
    return listing.paginate(docs, query, FILTERS, lambda d: d, extra=("type", "types"))


# -- webhooks ----------------------------------------------------------------------------------

_WEBHOOK_FIELDS = (
    "types",
    "address",
    "apiVersion",
    "enabled",
    "transportType",
    "authentication",
    "oauth",
)


def render_webhook(doc: Doc) -> Doc:
    """The webhook as DR returns it (without the Basic-auth password)."""
    view = public(doc)
    if "authentication" in view:
        view["authentication"] = {"userName": view["authentication"].get("userName")}
    return view


def _apply(doc: Doc, f: Fields, *, creating: bool) -> None:
    f.only(_WEBHOOK_FIELDS)
    types = f.strings("types", required=creating)
    if types is not None:
        if not types:
            raise invalid("types", "'types' needs at least one event type.")
        doc["types"] = types
    address = f.string("address", required=creating)
    if address is not None:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid("address", "'address' must be an absolute http(s) URL.")
        doc["address"] = address
    version = f.string("apiVersion")
    if version is not None:
        doc["apiVersion"] = version
    enabled = f.boolean("enabled")
    if enabled is not None:
        doc["enabled"] = enabled
    transport = f.choice("transportType", ("HTTP", "OAUTH"))
    if transport is not None:
        doc["transportType"] = transport
    auth = f.obj("authentication")
    if auth is not None:
        auth.only(("userName", "password"))
        doc["authentication"] = {
            "userName": auth.string("userName", required=True),
            "password": auth.string("password") or "",
        }
    oauth = f.json_object("oauth")
    if oauth is not None:
        doc["oauth"] = oauth


def _now_ms(sb: Sandbox) -> str:
    now = sb.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def create_webhook(sb: Sandbox, body: Any) -> Doc:
    """``POST /webhooks``."""
    now = _now_ms(sb)
    doc: Doc = {
        "id": sb.new_uuid(),
        "createdTime": now,
        "updatedTime": now,
        "apiVersion": "default",
        "enabled": True,
        "transportType": "HTTP",
        "liveMode": False,
    }
    _apply(doc, require_object(body), creating=True)
    sb.store.put("webhooks", doc)
    return render_webhook(doc)


def _find_webhook(sb: Sandbox, webhook_id: str) -> Doc:
    doc = sb.store.get("webhooks", webhook_id)
    if doc is None:
        raise not_found("webhookId", webhook_id, "Webhook")
    return doc


def get_webhook(sb: Sandbox, webhook_id: str) -> Doc:
    """``GET /webhooks/{id}``."""
    return render_webhook(_find_webhook(sb, webhook_id))


def update_webhook(sb: Sandbox, webhook_id: str, body: Any) -> Doc:
    """``PATCH /webhooks/{id}``."""
    doc = _find_webhook(sb, webhook_id)
    _apply(doc, require_object(body), creating=False)
    doc["updatedTime"] = _now_ms(sb)
    sb.store.put("webhooks", doc)
    return render_webhook(doc)


def delete_webhook(sb: Sandbox, webhook_id: str) -> None:
    """``DELETE /webhooks/{id}``."""
    _find_webhook(sb, webhook_id)
    sb.store.delete("webhooks", webhook_id)


def list_webhooks(sb: Sandbox) -> list[Doc]:
    """``GET /webhooks``: a bare array, newest first."""
    return [render_webhook(d) for d in reversed(sb.store.values("webhooks"))]
