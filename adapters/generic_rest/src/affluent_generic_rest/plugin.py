"""Entry point object for the ``generic_rest`` adapter: every hook, driven by the mapping file.

The hooks only load the mapping (cached) and delegate: :mod:`.translate` for the map hooks,
:mod:`.webhooks` for inbound events, :mod:`.push` for the platform client. Translation
problems in a live payload become :class:`~affluent.errors.InvalidInput` naming the mapping
key; problems in the file or configuration become :class:`~.mapping.MappingError` at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from affluent.errors import InvalidInput
from affluent.hookspecs import hookimpl
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
from affluent_generic_rest import settings, translate, webhooks
from affluent_generic_rest.expressions import TranslationError
from affluent_generic_rest.mapping import MappingFile

if TYPE_CHECKING:
    from affluent_generic_rest.push import RestPlatformClient
    from affluent_generic_rest.testing import GenericRestFake

T = TypeVar("T")

FAKE_ENV = "AFFLUENT_GENERIC_REST_EXAMPLE"
"""Which example platform ``affluent_platform_fake`` returns: ``nested_shop`` (default) or
``flat_shop``."""


def _live(read: Callable[[], T]) -> T:
    """Run a translation; a mapping key that cannot be read becomes ``InvalidInput``."""
    try:
        return read()
    except TranslationError as exc:
        raise InvalidInput(exc.key, exc.render("this payload")) from None


def capabilities(mapping: MappingFile) -> Capabilities:
    """What a mapping file supports, for the conformance kit."""
    events = mapping.events
    registered = mapping.cart.shopper.customer_id is not None
    return Capabilities(
        registered_shoppers=registered,
        saved_sources=registered and events.payment.save is not None,
        tracking=events.line_shipped.tracking is not None,
        partial_cancellation=events.line_cancelled is not None,
        platform_webhooks=mapping.webhooks is not None,
    )


class GenericRestAdapter:
    """Registered with pluggy under the entry name ``generic_rest``.

    :param example: which example platform :meth:`affluent_platform_fake` serves
        (``nested_shop`` or ``flat_shop``); ``None`` reads ``AFFLUENT_GENERIC_REST_EXAMPLE``,
        then defaults to ``nested_shop``. Register one instance per example, under two names,
        to run both side by side.
    """

    def __init__(self, example: str | None = None) -> None:
        self.example = example

    @hookimpl
    def affluent_capabilities(self, config: Mapping[str, Any]) -> Capabilities | None:
        # called once at load: the place to refuse a broken file or a missing secret. An
        # adapter that is installed but not configured at all (no mapping) is left alone here;
        # it fails with a clear message when first used.
        if not config:
            return None
        loaded = settings.require_ready(settings.load(config))
        return capabilities(loaded.mapping)

    @hookimpl
    def affluent_platform_client(self, config: Mapping[str, Any]) -> RestPlatformClient:
        from affluent_generic_rest.push import RestPlatformClient

        return RestPlatformClient(settings.require_ready(settings.load(config)))

    @hookimpl
    def affluent_platform_fake(self) -> GenericRestFake:
        from affluent_generic_rest.testing import GenericRestFake

        return GenericRestFake(self.example or os.environ.get(FAKE_ENV) or "nested_shop")

    @hookimpl
    def affluent_parse_webhook(
        self, headers: Mapping[str, str], body: bytes, config: Mapping[str, Any]
    ) -> PlatformEvent | None:
        loaded = settings.load(config)
        if loaded.mapping.webhooks is None:
            return None
        return webhooks.parse(loaded.mapping, loaded.secrets(), headers, body)

    @hookimpl
    def affluent_map_shopper(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> Shopper:
        mapping = settings.load(config).mapping
        return _live(lambda: translate.shopper(mapping, payload))

    @hookimpl
    def affluent_map_cart(self, payload: Mapping[str, Any], config: Mapping[str, Any]) -> Cart:
        mapping = settings.load(config).mapping
        return _live(lambda: translate.cart(mapping, payload))

    @hookimpl
    def affluent_map_payment(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> PaymentHandoff:
        mapping = settings.load(config).mapping
        return _live(lambda: translate.payment(mapping, payload))

    @hookimpl
    def affluent_map_line_changes(
        self, payload: Mapping[str, Any], config: Mapping[str, Any]
    ) -> LineItemChanges | None:
        mapping = settings.load(config).mapping
        return _live(lambda: translate.line_changes(mapping, payload))

    @hookimpl
    def affluent_map_status(
        self, order: OrderView, status: OrderStatus, config: Mapping[str, Any]
    ) -> PlatformUpdate | None:
        loaded = settings.load(config)
        return _live(
            lambda: translate.status_update(loaded.mapping, loaded.base_url, order, status)
        )

    @hookimpl
    def affluent_check_config(self, config_path: str, sample_path: str | None) -> str:
        from affluent_generic_rest.check import check

        return check(config_path, sample_path)

    @hookimpl
    def affluent_example_platforms(self) -> dict[str, GenericRestAdapter] | None:
        """The entry-point instance offers Flat Shop beside its own Nested Shop to the demo."""
        if self.example not in (None, "nested_shop"):
            return None
        return {"generic_rest_flat": GenericRestAdapter(example="flat_shop")}

    @hookimpl
    def affluent_map_checkout(
        self, summary: CheckoutSummary, config: Mapping[str, Any]
    ) -> PlatformUpdate | None:
        loaded = settings.load(config)
        return _live(lambda: translate.checkout_update(loaded.mapping, loaded.base_url, summary))


def example_adapters() -> dict[str, GenericRestAdapter]:
    """One adapter instance per example platform, under the names the demo shows them by.

    ``generic_rest`` serves Nested Shop (as the entry point does), ``generic_rest_flat`` Flat
    Shop; register both with :meth:`affluent.plugins.Adapters.from_plugins` to run them side by
    side, each with its own fake and configuration.
    """
    return {
        "generic_rest": GenericRestAdapter(example="nested_shop"),
        "generic_rest_flat": GenericRestAdapter(example="flat_shop"),
    }
