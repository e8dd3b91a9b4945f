"""The adapter contract: every hook an adapter may implement.

Hooks are called with keyword arguments only, and an implementation may accept fewer arguments
than its spec (pluggy's opt-in arguments), so new arguments never break old adapters.

Families:

- ``affluent_map_*`` translate, and are pure: same input, same output, no I/O. The core calls
  them for one adapter at a time, stops at the first non-``None`` result, and treats ``None``
  as "this adapter does not handle that input".
- ``affluent_platform_*`` hand the core objects for platform I/O and testing.
- ``affluent_order_transitioned``, ``affluent_dr_event_handled`` and ``affluent_flow_error``
  observe; every registered plugin is called (logging, metrics), results are ignored.

Every argument named ``config`` is the adapter's own configuration mapping (from settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from affluent.lifecycle import OrderStatus
    from affluent.models import (
        Capabilities,
        Cart,
        CheckoutSummary,
        LineItemChanges,
        OrderView,
        PaymentHandoff,
        PlatformEvent,
        PlatformUpdate,
        Shopper,
    )
    from affluent.platform import PlatformClient, PlatformFake

PROJECT_NAME = "affluent"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -- describing the adapter -------------------------------------------------------------------


@hookspec(firstresult=True)
def affluent_capabilities(config: Mapping[str, Any]) -> Capabilities | None:
    """Declare what the adapter supports.

    Called once when the adapter is loaded, and by the conformance kit to choose its tests.

    :param config: the adapter's configuration.
    :return: the adapter's capabilities; ``None`` means all defaults of
        :class:`~affluent.models.Capabilities`.
    """


@hookspec(firstresult=True)
def affluent_platform_client(config: Mapping[str, Any]) -> PlatformClient | None:
    """Build the object through which the core writes to the platform.

    Called once per process when the flow starts. Its methods may be async; the hook itself
    is not.

    :param config: the adapter's configuration (base URL, credentials, ...).
    :return: a :class:`~affluent.platform.PlatformClient`; ``None`` means the adapter has no
        platform writes, and the core raises :class:`~affluent.errors.AdapterError` when it
        needs one.
    """


@hookspec(firstresult=True)
def affluent_platform_fake() -> PlatformFake | None:
    """Provide an in-process imitation of the platform for ``affluent demo`` and the kit.

    :return: a :class:`~affluent.platform.PlatformFake`; ``None`` means the adapter ships none
        and is left out of the demo.
    """


@hookspec(firstresult=True)
def affluent_example_platforms() -> Mapping[str, object] | None:
    """Offer more example platforms served by this adapter, for ``affluent demo``.

    An adapter driven by configuration (one mapping per platform) can show several platforms:
    each value is another adapter object, registered under its key beside this one.

    :return: platform name -> adapter object; ``None`` means none.
    """


@hookspec(firstresult=True)
def affluent_check_config(config_path: str, sample_path: str | None) -> str | None:
    """Validate a configuration file of the adapter, for ``affluent adapters check --config``.

    Raise :class:`~affluent.errors.AdapterError` whose message names each offending key.

    :param config_path: the file to validate.
    :param sample_path: a sample platform payload to translate with it, or ``None``.
    :return: the report to print (what was checked, the DR request the sample would produce);
        ``None`` means the adapter has no configuration file.
    """


# -- translating in: platform -> canonical ----------------------------------------------------


@hookspec(firstresult=True)
def affluent_parse_webhook(
    headers: Mapping[str, str], body: bytes, config: Mapping[str, Any]
) -> PlatformEvent | None:
    """Verify and parse a webhook the platform sent to ``POST /webhooks/{platform}``.

    Verify the signature on the raw ``body`` before parsing it. Raise
    :class:`~affluent.errors.SignatureError` for a bad or missing signature and
    :class:`~affluent.errors.InvalidInput` (naming the field) for a malformed body or an unknown
    topic; the service answers 401 and 400 respectively.

    :param headers: the request headers, keys lower-cased.
    :param body: the raw request body, unparsed.
    :param config: the adapter's configuration (webhook secrets, ...).
    :return: the event; ``None`` means the adapter receives no webhooks.
    """


@hookspec(firstresult=True)
def affluent_map_shopper(payload: Mapping[str, Any], config: Mapping[str, Any]) -> Shopper | None:
    """Say who is buying: a registered shopper (with the DR customer id) or a guest.

    Called at the start of checkout (standard flow step 10) on the platform's payload.

    :param payload: the platform's cart / order JSON, as received.
    :param config: the adapter's configuration.
    :return: the shopper; ``None`` means the payload is not this adapter's.
    """


@hookspec(firstresult=True)
def affluent_map_cart(payload: Mapping[str, Any], config: Mapping[str, Any]) -> Cart | None:
    """Translate the platform's cart or order into the canonical cart (step 10).

    The cart's ``order_ref`` becomes the DR checkout's ``upstreamId``; each line keeps the
    platform's line id as ``line_ref`` so later line-item events can be matched.

    :param payload: the platform's cart / order JSON, as received.
    :param config: the adapter's configuration.
    :return: the cart; ``None`` means the payload is not this adapter's.
    """


@hookspec(firstresult=True)
def affluent_map_payment(
    payload: Mapping[str, Any], config: Mapping[str, Any]
) -> PaymentHandoff | None:
    """Read the sourceId hand-off and the shopper's "save my card" choice (step 22).

    :param payload: the platform's request carrying the Drop-in source id.
    :param config: the adapter's configuration.
    :return: the hand-off; ``None`` means the payload is not this adapter's.
    """


@hookspec(firstresult=True)
def affluent_map_line_changes(
    payload: Mapping[str, Any], config: Mapping[str, Any]
) -> LineItemChanges | None:
    """Turn a platform line-item event (shipped, cancelled, tracking) into canonical deltas.

    Called for platform status-change events (steps 49 and 54).

    :param payload: the platform's event JSON.
    :param config: the adapter's configuration.
    :return: the changes; ``None`` means the event carries no line-item change and is ignored.
    """


# -- translating out: canonical -> platform ---------------------------------------------------


@hookspec(firstresult=True)
def affluent_map_status(
    order: OrderView, status: OrderStatus, config: Mapping[str, Any]
) -> PlatformUpdate | None:
    """Express an affluent status in the platform's own vocabulary (steps 34-39, 40-47).

    Called after every transition; ``order`` already carries the new status and ledger.

    :param order: the order after the transition.
    :param status: the status to show, e.g. ``ready_to_fulfill`` or ``payment_failed``.
    :param config: the adapter's configuration.
    :return: the platform write; ``None`` means nothing to write for this status.
    """


@hookspec(firstresult=True)
def affluent_map_checkout(
    summary: CheckoutSummary, config: Mapping[str, Any]
) -> PlatformUpdate | None:
    """Put DR's tax, totals and selling entity onto the platform order (steps 15 and 29).

    :param summary: the checkout's totals; ``summary.final`` is true once payment is applied.
    :param config: the adapter's configuration.
    :return: the platform write; ``None`` means the platform shows no DR tax.
    """


# -- observing --------------------------------------------------------------------------------


@hookspec
def affluent_order_transitioned(
    order: OrderView, old: OrderStatus | None, new: OrderStatus, cause: str
) -> None:
    """Observe a status change after it is stored.

    :param order: the order after the change.
    :param old: the previous status (``None`` for a new order).
    :param new: the new status.
    :param cause: what moved it: ``submit``, or ``event:<DR event id>``.
    """


@hookspec
def affluent_dr_event_handled(event_id: str, event_type: str, outcome: str) -> None:
    """Observe a Digital River event after the core handled it.

    :param event_id: the DR event id.
    :param event_type: e.g. ``order.accepted``.
    :param outcome: ``applied``, ``stale``, ``duplicate``, ``ignored`` or ``unknown_order``.
    """


@hookspec
def affluent_flow_error(step: str, order_ref: str | None, error: BaseException) -> None:
    """Observe an error raised by a flow step, before it propagates.

    :param step: the flow step, e.g. ``begin_checkout`` or ``ship``.
    :param order_ref: the platform order reference, when known.
    :param error: the exception.
    """
