"""``affluent adapters check generic_rest --config FILE --sample PAYLOAD.json``.

:func:`check` validates the mapping file, translates the sample and returns a report: for a
cart, the Digital River checkout request affluent would send and the writes it would make to
the platform; for an event sample, what the event becomes. Any problem raises
:class:`~affluent_generic_rest.mapping.MappingError` whose lines name the mapping key, e.g.
```events.line_shipped.quantity`: expression returned null for the sample payload``.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from affluent.lifecycle import OrderStatus
from affluent.models import CheckoutSummary, LineTax, LineView, OrderView, SellingEntity
from affluent_generic_rest import settings, translate
from affluent_generic_rest.expressions import Context, TranslationError, read
from affluent_generic_rest.mapping import MappingError, MappingFile

SAMPLE = "the sample payload"
SECTIONS = ("cart", "payment", "submit", "line_shipped", "line_cancelled")
"""What a sample can be checked as (``event``); ``line_*`` both mean a line-change event."""


def _json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON")

    return json.dumps(value, indent=2, default=default, ensure_ascii=False)


def _detect(mapping: MappingFile, sample: Any) -> tuple[str, Any]:
    """Which section a sample is for, and the payload inside it (webhook envelopes unwrapped)."""
    hooks = mapping.webhooks
    if hooks is not None and hooks.topic is not None and isinstance(sample, dict):
        topic = read(hooks.topic, sample, "webhooks.topic", Context({}))
        for name, event in mapping.events.named().items():
            if topic in event.topics:
                payload = read(hooks.payload, sample, "webhooks.payload", Context({}))
                return ("cart" if name == "cart_ready" else name), (
                    payload if hooks.payload is not None else sample
                )
    return "cart", sample


def _writes(
    mapping: MappingFile, base_url: str | None, cart: Any, customer_id: str | None
) -> list[str]:
    """The status and tax writes for this cart, with illustrative Digital River values."""
    out: list[str] = []
    entity = SellingEntity(id="DR_INC-ENTITY", name="Digital River Inc.")
    summary = CheckoutSummary(
        order_ref=cart.order_ref,
        checkout_id="<checkout id>",
        currency=cart.currency,
        subtotal=sum((ln.unit_price * ln.quantity for ln in cart.lines), Decimal(0)),
        total_tax=Decimal("1.00"),
        total_shipping=cart.shipping.amount if cart.shipping else Decimal(0),
        total_discount=Decimal(0),
        total_amount=Decimal("1.00")
        + sum((ln.unit_price * ln.quantity for ln in cart.lines), Decimal(0)),
        selling_entity=entity,
        lines=[
            LineTax(
                line_ref=ln.line_ref,
                amount=ln.unit_price * ln.quantity,
                tax=Decimal(0),
                tax_rate=Decimal(0),
            )
            for ln in cart.lines
        ],
        final=True,
    )
    update = translate.checkout_update(mapping, base_url, summary)
    if update is not None:
        out.append(f"tax and selling entity: {update.body['method']} {update.body['url']}")
        out.append(_json(update.body["json"]))
    view = OrderView(
        platform="generic_rest",
        order_ref=cart.order_ref,
        status=OrderStatus.ready_to_fulfill.value,
        dr_state="accepted",
        dr_order_id="<order id>",
        dr_checkout_id="<checkout id>",
        dr_customer_id=customer_id,
        currency=cart.currency,
        total_amount=summary.total_amount,
        selling_entity=entity,
        shopper_message=None,
        lines=[
            LineView(
                line_ref=ln.line_ref,
                dr_item_id="<item id>",
                sku_id=ln.sku_id,
                ordered=ln.quantity,
                fulfilled=0,
                cancelled=0,
                returned=0,
            )
            for ln in cart.lines
        ],
    )
    status = translate.status_update(mapping, base_url, view, OrderStatus.ready_to_fulfill)
    if status is not None:
        out.append(f"status ready_to_fulfill: {status.body['method']} {status.body['url']}")
        out.append(_json(status.body["json"]))
    return out


def _translate(mapping: MappingFile, base_url: str | None, section: str, payload: Any) -> list[str]:
    from affluent.flow.translate import checkout_request

    if not isinstance(payload, dict):
        raise TranslationError("", "the sample must be a JSON object")
    if section == "cart":
        shopper = translate.shopper(mapping, payload)
        cart = translate.cart(mapping, payload)
        who = f"registered shopper {shopper.customer_id}" if shopper.customer_id else "guest"
        request = checkout_request(cart, shopper, shopper.customer_id)
        return [
            f"sample: cart {cart.order_ref} ({len(cart.lines)} line(s), {cart.currency}, {who})",
            "",
            "Digital River checkout request (POST /checkouts):",
            _json(request),
            "",
            "platform writes (with illustrative Digital River values):",
            *_writes(mapping, base_url, cart, shopper.customer_id),
        ]
    if section == "payment":
        handoff = translate.payment(mapping, payload)
        return ["sample: payment hand-off", _json(handoff.model_dump(mode="json"))]
    if section == "submit":
        return [f"sample: submit order {translate.submit_ref(mapping, payload)}"]
    changes = translate.line_changes(mapping, payload)
    if changes is None:
        return ["sample: line-item event with no shipped or cancelled quantity (ignored)"]
    return ["sample: line-item changes", _json(changes.model_dump(mode="json", exclude_none=True))]


def check(
    config_path: str | os.PathLike[str],
    sample_path: str | os.PathLike[str] | None = None,
    *,
    event: str | None = None,
) -> str:
    """Validate a mapping file and translate a sample; return the report to print.

    :param config_path: the TOML mapping file.
    :param sample_path: a JSON payload from the platform: a cart, or (recognised by its topic,
        or named by ``event``) an event.
    :param event: force how the sample is read: one of :data:`SECTIONS`.
    :raises MappingError: the file is invalid, or the sample cannot be translated; each line
        names the mapping key.
    """
    loaded = settings.load({"mapping": config_path})
    mapping = loaded.mapping
    lines = [f"mapping OK: {config_path} ({mapping.platform.name})"]
    for key, message in settings.startup_problems(loaded):
        lines.append(f"warning: `{key}`: {message}")
    if mapping.push.status is not None:
        silent = [s.value for s in OrderStatus if s not in mapping.push.status.words]
        if silent:
            lines.append(f"note: statuses never written to the platform: {', '.join(silent)}")
    if sample_path is None:
        return "\n".join(lines)
    if event is not None and event not in SECTIONS:
        raise MappingError("check", [("", f"--event must be one of {', '.join(SECTIONS)}")])
    try:
        sample = json.loads(Path(sample_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(
            str(sample_path), [("", f"cannot read the sample: {exc}")], context="reading the sample"
        ) from None
    try:
        section, payload = (event, sample) if event else _detect(mapping, sample)
        lines += _translate(mapping, loaded.base_url, section, payload)
    except TranslationError as exc:
        raise MappingError(
            str(sample_path), [(exc.key, exc.render(SAMPLE))], context="translating the sample"
        ) from None
    return "\n".join(lines)
