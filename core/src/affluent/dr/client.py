"""The Digital River clients: :class:`DigitalRiver` (sync) and :class:`AsyncDigitalRiver`.

Both run the same calls (built in ``_calls``) through the same retry and error rules (``_base``);
only the I/O differs. Every method takes keyword ``upstream_id``, sent as the ``upstream-id``
header (a fresh uuid4 per call when omitted, reused by that call's retries).

Retries (up to ``max_retries`` more attempts, capped exponential backoff with jitter, never less
than a ``Retry-After``): reads, updates, deletes, attach/detach and the creates of customers,
checkouts, sources, SKUs and webhooks are resent after 408, 429, 5xx and any transport failure.
``POST /orders``, ``/fulfillments``, ``/refunds`` and ``/returns`` are resent only after 429 or a
failure to connect; after a timeout, a dropped connection or a 5xx they raise with
``ambiguous=True``, so the caller can look before it writes again. 4xx answers are never retried.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random as _random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from affluent.dr import _calls as calls
from affluent.dr._base import (
    DEFAULT_API_VERSION,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    Attempts,
    Call,
    ClientConfig,
    Retry,
    after_response,
    after_transport_error,
    mask_key,
    new_upstream_id,
    parse_success,
    request_args,
    resolve_config,
)
from affluent.dr.errors import DigitalRiverError
from affluent.dr.models import (
    Checkout,
    CheckoutRequest,
    Customer,
    CustomerRequest,
    Event,
    Fulfillment,
    FulfillmentRequest,
    Order,
    Refund,
    RefundRequest,
    Return,
    ReturnRequest,
    Sku,
    SkuRequest,
    Source,
    SourceRequest,
    UpdateCheckoutRequest,
    UpdateCustomerRequest,
    UpdateOrderRequest,
    UpdateReturnRequest,
    UpdateWebhookRequest,
    Webhook,
    WebhookRequest,
)
from affluent.dr.pagination import AsyncPage, PageData, SyncPage

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from affluent.dr._calls import (
        CheckoutFilters,
        CustomerFilters,
        EventFilters,
        FulfillmentFilters,
        OrderFilters,
        PageFilters,
        RefundFilters,
        ReturnFilters,
    )
    from affluent.dr.pagination import HasId

__all__ = ["AsyncDigitalRiver", "DigitalRiver"]

log = logging.getLogger("affluent.dr")

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound="HasId")

Body = Mapping[str, Any]


class _ClientBase:
    """Configuration and representation shared by both clients."""

    _config: ClientConfig
    _owns_http: bool

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        api_version: str,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_retry_wait: float,
        random: Callable[[], float] | None,
    ) -> None:
        self._config = resolve_config(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._random = random or _random.random

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    @property
    def timeout(self) -> httpx.Timeout:
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._config.base_url!r}, "
            f"api_version={self._config.api_version!r}, "
            f"api_key={mask_key(self._config.api_key)!r}, "
            f"max_retries={self._config.max_retries})"
        )

    def _copy_kwargs(self, changes: dict[str, Any]) -> dict[str, Any]:
        cfg = self._config
        kwargs: dict[str, Any] = {
            "api_key": cfg.api_key,
            "base_url": cfg.base_url,
            "api_version": cfg.api_version,
            "timeout": cfg.timeout,
            "max_retries": cfg.max_retries,
            "max_retry_wait": cfg.max_retry_wait,
            "random": self._random,
        }
        kwargs.update({k: v for k, v in changes.items() if v is not None})
        return kwargs

    def _log_retry(self, call: Call[Any], state: Attempts, retry: Retry) -> None:
        log.info(
            "retrying %s %s in %.2fs (attempt %d failed, upstream-id %s)",
            call.method,
            call.path,
            retry.delay,
            state.count,
            state.upstream_id,
        )


# =================================================================================================
# sync
# =================================================================================================


class DigitalRiver(_ClientBase):
    """Synchronous Digital River client.

    :param api_key: confidential key; defaults to ``$AFFLUENT_DR_API_KEY``. Never shown in
        ``repr`` or errors.
    :param base_url: defaults to ``$AFFLUENT_DR_BASE_URL`` or ``https://api.digitalriver.com``.
    :param api_version: sent as ``digitalriver-version`` on every request.
    :param timeout: seconds, or an ``httpx.Timeout``.
    :param max_retries: retries after the first attempt (see ``errors`` for what is retried).
    :param max_retry_wait: longest ``Retry-After`` honoured by sleeping; a longer one raises
        :class:`~affluent.dr.errors.RateLimitError` at once (its ``retry_after`` says when).
    :param http_client: an ``httpx.Client`` to send through (e.g. with a mock or ASGI
        transport); the caller keeps ownership and closes it.
    :param sleep: waits between attempts (tests inject a recorder).
    :param random: source of jitter in [0, 1).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            random=random,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._sleep = sleep or time.sleep
        self.customers = Customers(self)
        self.checkouts = Checkouts(self)
        self.sources = Sources(self)
        self.skus = Skus(self)
        self.orders = Orders(self)
        self.fulfillments = Fulfillments(self)
        self.events = Events(self)
        self.refunds = Refunds(self)
        self.returns = Returns(self)
        self.webhooks = Webhooks(self)

    def with_options(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
    ) -> DigitalRiver:
        """A copy with some settings changed, sharing this client's connection pool."""
        kwargs = self._copy_kwargs(
            {
                "api_key": api_key,
                "base_url": base_url,
                "api_version": api_version,
                "timeout": timeout,
                "max_retries": max_retries,
                "max_retry_wait": max_retry_wait,
            }
        )
        return DigitalRiver(http_client=self._http, sleep=self._sleep, **kwargs)

    def close(self) -> None:
        """Close the connection pool, if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, call: Call[T], upstream_id: str | None = None) -> T:
        state = Attempts(upstream_id or new_upstream_id())
        request = self._http.build_request(**request_args(self._config, call, state.upstream_id))
        while True:
            state.count += 1
            outcome: Retry | DigitalRiverError
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                outcome = after_transport_error(self._config, call, exc, state, self._random())
            else:
                answer = after_response(self._config, call, response, state, self._random())
                if answer is None:
                    return parse_success(call, response, state)
                outcome = answer
            if isinstance(outcome, Retry):
                self._log_retry(call, state, outcome)
                self._sleep(outcome.delay)
                continue
            raise outcome

    def _page(self, call: Call[PageData[ItemT]], upstream_id: str | None) -> SyncPage[ItemT]:
        return SyncPage(
            self._request(call, upstream_id), call, lambda nxt: self._page(nxt, upstream_id)
        )


class _SyncResource:
    def __init__(self, client: DigitalRiver) -> None:
        self._client = client


class Customers(_SyncResource):
    """``/customers``: registered shoppers and their saved sources."""

    def create(
        self, request: CustomerRequest | Body, *, upstream_id: str | None = None
    ) -> Customer:
        """``POST /customers``."""
        return self._client._request(calls.create_customer(request), upstream_id)

    def get(self, customer_id: str, *, upstream_id: str | None = None) -> Customer:
        """``GET /customers/{id}``."""
        return self._client._request(calls.get_customer(customer_id), upstream_id)

    def update(
        self,
        customer_id: str,
        request: UpdateCustomerRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Customer:
        """``POST /customers/{id}``."""
        return self._client._request(calls.update_customer(customer_id, request), upstream_id)

    def delete(self, customer_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /customers/{id}``."""
        return self._client._request(calls.delete_customer(customer_id), upstream_id)

    def attach_source(
        self, customer_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> Source:
        """``POST /customers/{id}/sources/{sourceId}``: save a chargeable source (it becomes
        reusable). Do this before the order is placed."""
        call = calls.attach_customer_source(customer_id, source_id)
        return self._client._request(call, upstream_id)

    def detach_source(
        self, customer_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> None:
        """``DELETE /customers/{id}/sources/{sourceId}``: the source is cancelled for good."""
        call = calls.detach_customer_source(customer_id, source_id)
        return self._client._request(call, upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[CustomerFilters]
    ) -> SyncPage[Customer]:
        """``GET /customers``: one page."""
        return self._client._page(calls.list_customers(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[CustomerFilters]
    ) -> Iterator[Customer]:
        """Every customer matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()


class Checkouts(_SyncResource):
    """``/checkouts``: carts priced and taxed by DR, from which orders are made."""

    def create(
        self, request: CheckoutRequest | Body, *, upstream_id: str | None = None
    ) -> Checkout:
        """``POST /checkouts``."""
        return self._client._request(calls.create_checkout(request), upstream_id)

    def get(self, checkout_id: str, *, upstream_id: str | None = None) -> Checkout:
        """``GET /checkouts/{id}``."""
        return self._client._request(calls.get_checkout(checkout_id), upstream_id)

    def update(
        self,
        checkout_id: str,
        request: UpdateCheckoutRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Checkout:
        """``POST /checkouts/{id}`` (items can't be added, quantities can't change)."""
        return self._client._request(calls.update_checkout(checkout_id, request), upstream_id)

    def delete(self, checkout_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /checkouts/{id}``."""
        return self._client._request(calls.delete_checkout(checkout_id), upstream_id)

    def attach_source(
        self, checkout_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> Source:
        """``POST /checkouts/{id}/sources/{sourceId}`` (replaces the primary source)."""
        call = calls.attach_checkout_source(checkout_id, source_id)
        return self._client._request(call, upstream_id)

    def detach_source(
        self, checkout_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> None:
        """``DELETE /checkouts/{id}/sources/{sourceId}``."""
        call = calls.detach_checkout_source(checkout_id, source_id)
        return self._client._request(call, upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[CheckoutFilters]
    ) -> SyncPage[Checkout]:
        """``GET /checkouts``: one page."""
        return self._client._page(calls.list_checkouts(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[CheckoutFilters]
    ) -> Iterator[Checkout]:
        """Every checkout matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()


class Sources(_SyncResource):
    """``/sources``: payment sources (normally created in the browser)."""

    def create(self, request: SourceRequest | Body, *, upstream_id: str | None = None) -> Source:
        """``POST /sources`` (store credit; raw cards in test mode)."""
        return self._client._request(calls.create_source(request), upstream_id)

    def get(self, source_id: str, *, upstream_id: str | None = None) -> Source:
        """``GET /sources/{id}``."""
        return self._client._request(calls.get_source(source_id), upstream_id)


class Skus(_SyncResource):
    """``/skus``: catalog entries checkout items refer to."""

    def create(self, request: SkuRequest | Body, *, upstream_id: str | None = None) -> Sku:
        """``POST /skus``."""
        return self._client._request(calls.create_sku(request), upstream_id)

    def get(self, sku_id: str, *, upstream_id: str | None = None) -> Sku:
        """``GET /skus/{id}``."""
        return self._client._request(calls.get_sku(sku_id), upstream_id)


class Orders(_SyncResource):
    """``/orders``. ``create`` is never resent after an ambiguous failure; when an error says
    ``ambiguous``, look with :meth:`find_by_checkout` before creating again."""

    def create(self, checkout_id: str, *, upstream_id: str | None = None) -> Order:
        """``POST /orders {"checkoutId": ...}``.

        Raises :class:`~affluent.dr.errors.OrderDeclinedError` (409: no order; a new attempt
        needs a new checkout) or :class:`~affluent.dr.errors.NotFoundError` whose
        ``is_consumed_checkout`` is true (the checkout already became an order).
        """
        return self._client._request(calls.create_order(checkout_id), upstream_id)

    def get(self, order_id: str, *, expand: bool = False, upstream_id: str | None = None) -> Order:
        """``GET /orders/{id}`` (``expand=True`` adds product details to the items)."""
        return self._client._request(calls.get_order(order_id, expand=expand), upstream_id)

    def update(
        self, order_id: str, request: UpdateOrderRequest | Body, *, upstream_id: str | None = None
    ) -> Order:
        """``POST /orders/{id}`` (``upstreamId``, ``metadata``, ``requestToBeForgotten``)."""
        return self._client._request(calls.update_order(order_id, request), upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[OrderFilters]
    ) -> SyncPage[Order]:
        """``GET /orders``: one page."""
        return self._client._page(calls.list_orders(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[OrderFilters]
    ) -> Iterator[Order]:
        """Every order matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()

    def find_by_checkout(self, checkout_id: str, *, upstream_id: str | None = None) -> Order | None:
        """The order made from ``checkout_id``, or ``None`` if there is none (yet)."""
        calls.require_id(checkout_id, "checkout_id")
        found = self.iterate(
            upstream_id=upstream_id, checkout_id=checkout_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        for order in found:
            if calls.is_order_of_checkout(order, checkout_id):
                return order
        return None

    def find_by_upstream_id(
        self, order_upstream_id: str, /, *, upstream_id: str | None = None
    ) -> builtins.list[Order]:
        """Orders whose body field ``upstreamId`` equals ``order_upstream_id`` (your order id).

        Keyword ``upstream_id`` is, as everywhere, the request header.
        """
        calls.require_id(order_upstream_id, "order_upstream_id")
        found = self.iterate(
            upstream_id=upstream_id, upstream_ids=[order_upstream_id], limit=calls.LOOKUP_PAGE_SIZE
        )
        return [o for o in found if o.upstream_id == order_upstream_id]


class Fulfillments(_SyncResource):
    """``/fulfillments``: ship (capture) or cancel (reverse) order units. ``create`` is never
    resent after an ambiguous failure: reconcile with :meth:`list_for_order` first."""

    def create(
        self, request: FulfillmentRequest | Body, *, upstream_id: str | None = None
    ) -> Fulfillment:
        """``POST /fulfillments``."""
        return self._client._request(calls.create_fulfillment(request), upstream_id)

    def get(self, fulfillment_id: str, *, upstream_id: str | None = None) -> Fulfillment:
        """``GET /fulfillments/{id}``."""
        return self._client._request(calls.get_fulfillment(fulfillment_id), upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[FulfillmentFilters]
    ) -> SyncPage[Fulfillment]:
        """``GET /fulfillments``: one page."""
        return self._client._page(calls.list_fulfillments(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[FulfillmentFilters]
    ) -> Iterator[Fulfillment]:
        """Every fulfillment matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()

    def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Fulfillment]:
        """Every fulfillment of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [f for f in found if calls.may_belong_to_order(f.order_id, order_id)]


class Events(_SyncResource):
    """``/events``: what happened at DR (the objects webhooks deliver)."""

    def get(self, event_id: str, *, upstream_id: str | None = None) -> Event:
        """``GET /events/{id}``."""
        return self._client._request(calls.get_event(event_id), upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[EventFilters]
    ) -> SyncPage[Event]:
        """``GET /events``: one page; filter by ``type`` or ``types``, not both."""
        return self._client._page(calls.list_events(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[EventFilters]
    ) -> Iterator[Event]:
        """Every event matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()


class Refunds(_SyncResource):
    """``/refunds``: pay captured money back. ``create`` is never resent after an ambiguous
    failure: reconcile with :meth:`list_for_order` first."""

    def create(self, request: RefundRequest | Body, *, upstream_id: str | None = None) -> Refund:
        """``POST /refunds``."""
        return self._client._request(calls.create_refund(request), upstream_id)

    def get(self, refund_id: str, *, upstream_id: str | None = None) -> Refund:
        """``GET /refunds/{id}``."""
        return self._client._request(calls.get_refund(refund_id), upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[RefundFilters]
    ) -> SyncPage[Refund]:
        """``GET /refunds``: one page."""
        return self._client._page(calls.list_refunds(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[RefundFilters]
    ) -> Iterator[Refund]:
        """Every refund matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()

    def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Refund]:
        """Every refund of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [r for r in found if calls.may_belong_to_order(r.order_id, order_id)]


class Returns(_SyncResource):
    """``/returns``: third-party coordinated returns. ``create`` is never resent after an
    ambiguous failure: reconcile with :meth:`list_for_order` first."""

    def create(self, request: ReturnRequest | Body, *, upstream_id: str | None = None) -> Return:
        """``POST /returns``."""
        return self._client._request(calls.create_return(request), upstream_id)

    def get(self, return_id: str, *, upstream_id: str | None = None) -> Return:
        """``GET /returns/{id}``."""
        return self._client._request(calls.get_return(return_id), upstream_id)

    def update(
        self, return_id: str, request: UpdateReturnRequest | Body, *, upstream_id: str | None = None
    ) -> Return:
        """``POST /returns/{id}``: accept the whole return or some items."""
        return self._client._request(calls.update_return(return_id, request), upstream_id)

    def accept(self, return_id: str, *, upstream_id: str | None = None) -> Return:
        """Accept every item (``{"state": "accepted"}``); DR then refunds."""
        call = calls.update_return(return_id, {"state": "accepted"})
        return self._client._request(call, upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[ReturnFilters]
    ) -> SyncPage[Return]:
        """``GET /returns``: one page."""
        return self._client._page(calls.list_returns(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[ReturnFilters]
    ) -> Iterator[Return]:
        """Every return matching ``filters``, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()

    def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Return]:
        """Every return of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [r for r in found if calls.may_belong_to_order(r.order_id, order_id)]


class Webhooks(_SyncResource):
    """``/webhooks``: where DR delivers events."""

    def create(self, request: WebhookRequest | Body, *, upstream_id: str | None = None) -> Webhook:
        """``POST /webhooks``."""
        return self._client._request(calls.create_webhook(request), upstream_id)

    def get(self, webhook_id: str, *, upstream_id: str | None = None) -> Webhook:
        """``GET /webhooks/{id}``."""
        return self._client._request(calls.get_webhook(webhook_id), upstream_id)

    def update(
        self,
        webhook_id: str,
        request: UpdateWebhookRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Webhook:
        """``PATCH /webhooks/{id}`` (e.g. ``{"enabled": False}``)."""
        return self._client._request(calls.update_webhook(webhook_id, request), upstream_id)

    def delete(self, webhook_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /webhooks/{id}``."""
        return self._client._request(calls.delete_webhook(webhook_id), upstream_id)

    def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[PageFilters]
    ) -> SyncPage[Webhook]:
        """``GET /webhooks`` (DR answers a bare array: one page, ``has_more`` false)."""
        return self._client._page(calls.list_webhooks(filters), upstream_id)

    def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[PageFilters]
    ) -> Iterator[Webhook]:
        """Every webhook, fetching pages as needed."""
        yield from self.list(upstream_id=upstream_id, **filters).auto_paging_iter()


# =================================================================================================
# async
# =================================================================================================


class AsyncDigitalRiver(_ClientBase):
    """Asynchronous Digital River client; same settings and resources as :class:`DigitalRiver`.

    :param http_client: an ``httpx.AsyncClient`` (e.g. with ``httpx.ASGITransport(app)``); the
        caller keeps ownership and closes it.
    :param sleep: awaitable wait between attempts (default ``asyncio.sleep``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            random=random,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self._sleep = sleep or asyncio.sleep
        self.customers = AsyncCustomers(self)
        self.checkouts = AsyncCheckouts(self)
        self.sources = AsyncSources(self)
        self.skus = AsyncSkus(self)
        self.orders = AsyncOrders(self)
        self.fulfillments = AsyncFulfillments(self)
        self.events = AsyncEvents(self)
        self.refunds = AsyncRefunds(self)
        self.returns = AsyncReturns(self)
        self.webhooks = AsyncWebhooks(self)

    def with_options(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
    ) -> AsyncDigitalRiver:
        """A copy with some settings changed, sharing this client's connection pool."""
        kwargs = self._copy_kwargs(
            {
                "api_key": api_key,
                "base_url": base_url,
                "api_version": api_version,
                "timeout": timeout,
                "max_retries": max_retries,
                "max_retry_wait": max_retry_wait,
            }
        )
        return AsyncDigitalRiver(http_client=self._http, sleep=self._sleep, **kwargs)

    async def aclose(self) -> None:
        """Close the connection pool, if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _request(self, call: Call[T], upstream_id: str | None = None) -> T:
        state = Attempts(upstream_id or new_upstream_id())
        request = self._http.build_request(**request_args(self._config, call, state.upstream_id))
        while True:
            state.count += 1
            outcome: Retry | DigitalRiverError
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                outcome = after_transport_error(self._config, call, exc, state, self._random())
            else:
                answer = after_response(self._config, call, response, state, self._random())
                if answer is None:
                    return parse_success(call, response, state)
                outcome = answer
            if isinstance(outcome, Retry):
                self._log_retry(call, state, outcome)
                await self._sleep(outcome.delay)
                continue
            raise outcome

    async def _page(self, call: Call[PageData[ItemT]], upstream_id: str | None) -> AsyncPage[ItemT]:
        return AsyncPage(
            await self._request(call, upstream_id), call, lambda nxt: self._page(nxt, upstream_id)
        )


class _AsyncResource:
    def __init__(self, client: AsyncDigitalRiver) -> None:
        self._client = client


class AsyncCustomers(_AsyncResource):
    """``/customers``: registered shoppers and their saved sources."""

    async def create(
        self, request: CustomerRequest | Body, *, upstream_id: str | None = None
    ) -> Customer:
        """``POST /customers``."""
        return await self._client._request(calls.create_customer(request), upstream_id)

    async def get(self, customer_id: str, *, upstream_id: str | None = None) -> Customer:
        """``GET /customers/{id}``."""
        return await self._client._request(calls.get_customer(customer_id), upstream_id)

    async def update(
        self,
        customer_id: str,
        request: UpdateCustomerRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Customer:
        """``POST /customers/{id}``."""
        return await self._client._request(calls.update_customer(customer_id, request), upstream_id)

    async def delete(self, customer_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /customers/{id}``."""
        return await self._client._request(calls.delete_customer(customer_id), upstream_id)

    async def attach_source(
        self, customer_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> Source:
        """``POST /customers/{id}/sources/{sourceId}``: save a chargeable source (it becomes
        reusable). Do this before the order is placed."""
        call = calls.attach_customer_source(customer_id, source_id)
        return await self._client._request(call, upstream_id)

    async def detach_source(
        self, customer_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> None:
        """``DELETE /customers/{id}/sources/{sourceId}``: the source is cancelled for good."""
        call = calls.detach_customer_source(customer_id, source_id)
        return await self._client._request(call, upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[CustomerFilters]
    ) -> AsyncPage[Customer]:
        """``GET /customers``: one page."""
        return await self._client._page(calls.list_customers(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[CustomerFilters]
    ) -> AsyncGenerator[Customer, None]:
        """Every customer matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item


class AsyncCheckouts(_AsyncResource):
    """``/checkouts``: carts priced and taxed by DR, from which orders are made."""

    async def create(
        self, request: CheckoutRequest | Body, *, upstream_id: str | None = None
    ) -> Checkout:
        """``POST /checkouts``."""
        return await self._client._request(calls.create_checkout(request), upstream_id)

    async def get(self, checkout_id: str, *, upstream_id: str | None = None) -> Checkout:
        """``GET /checkouts/{id}``."""
        return await self._client._request(calls.get_checkout(checkout_id), upstream_id)

    async def update(
        self,
        checkout_id: str,
        request: UpdateCheckoutRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Checkout:
        """``POST /checkouts/{id}`` (items can't be added, quantities can't change)."""
        return await self._client._request(calls.update_checkout(checkout_id, request), upstream_id)

    async def delete(self, checkout_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /checkouts/{id}``."""
        return await self._client._request(calls.delete_checkout(checkout_id), upstream_id)

    async def attach_source(
        self, checkout_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> Source:
        """``POST /checkouts/{id}/sources/{sourceId}`` (replaces the primary source)."""
        call = calls.attach_checkout_source(checkout_id, source_id)
        return await self._client._request(call, upstream_id)

    async def detach_source(
        self, checkout_id: str, source_id: str, *, upstream_id: str | None = None
    ) -> None:
        """``DELETE /checkouts/{id}/sources/{sourceId}``."""
        call = calls.detach_checkout_source(checkout_id, source_id)
        return await self._client._request(call, upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[CheckoutFilters]
    ) -> AsyncPage[Checkout]:
        """``GET /checkouts``: one page."""
        return await self._client._page(calls.list_checkouts(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[CheckoutFilters]
    ) -> AsyncGenerator[Checkout, None]:
        """Every checkout matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item


class AsyncSources(_AsyncResource):
    """``/sources``: payment sources (normally created in the browser)."""

    async def create(
        self, request: SourceRequest | Body, *, upstream_id: str | None = None
    ) -> Source:
        """``POST /sources`` (store credit; raw cards in test mode)."""
        return await self._client._request(calls.create_source(request), upstream_id)

    async def get(self, source_id: str, *, upstream_id: str | None = None) -> Source:
        """``GET /sources/{id}``."""
        return await self._client._request(calls.get_source(source_id), upstream_id)


class AsyncSkus(_AsyncResource):
    """``/skus``: catalog entries checkout items refer to."""

    async def create(self, request: SkuRequest | Body, *, upstream_id: str | None = None) -> Sku:
        """``POST /skus``."""
        return await self._client._request(calls.create_sku(request), upstream_id)

    async def get(self, sku_id: str, *, upstream_id: str | None = None) -> Sku:
        """``GET /skus/{id}``."""
        return await self._client._request(calls.get_sku(sku_id), upstream_id)


class AsyncOrders(_AsyncResource):
    """``/orders``. ``create`` is never resent after an ambiguous failure; when an error says
    ``ambiguous``, look with :meth:`find_by_checkout` before creating again."""

    async def create(self, checkout_id: str, *, upstream_id: str | None = None) -> Order:
        """``POST /orders {"checkoutId": ...}``.

        Raises :class:`~affluent.dr.errors.OrderDeclinedError` (409: no order; a new attempt
        needs a new checkout) or :class:`~affluent.dr.errors.NotFoundError` whose
        ``is_consumed_checkout`` is true (the checkout already became an order).
        """
        return await self._client._request(calls.create_order(checkout_id), upstream_id)

    async def get(
        self, order_id: str, *, expand: bool = False, upstream_id: str | None = None
    ) -> Order:
        """``GET /orders/{id}`` (``expand=True`` adds product details to the items)."""
        return await self._client._request(calls.get_order(order_id, expand=expand), upstream_id)

    async def update(
        self, order_id: str, request: UpdateOrderRequest | Body, *, upstream_id: str | None = None
    ) -> Order:
        """``POST /orders/{id}`` (``upstreamId``, ``metadata``, ``requestToBeForgotten``)."""
        return await self._client._request(calls.update_order(order_id, request), upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[OrderFilters]
    ) -> AsyncPage[Order]:
        """``GET /orders``: one page."""
        return await self._client._page(calls.list_orders(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[OrderFilters]
    ) -> AsyncGenerator[Order, None]:
        """Every order matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item

    async def find_by_checkout(
        self, checkout_id: str, *, upstream_id: str | None = None
    ) -> Order | None:
        """The order made from ``checkout_id``, or ``None`` if there is none (yet)."""
        calls.require_id(checkout_id, "checkout_id")
        found = self.iterate(
            upstream_id=upstream_id, checkout_id=checkout_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        async with aclosing(found):
            async for order in found:
                if calls.is_order_of_checkout(order, checkout_id):
                    return order
        return None

    async def find_by_upstream_id(
        self, order_upstream_id: str, /, *, upstream_id: str | None = None
    ) -> builtins.list[Order]:
        """Orders whose body field ``upstreamId`` equals ``order_upstream_id`` (your order id).

        Keyword ``upstream_id`` is, as everywhere, the request header.
        """
        calls.require_id(order_upstream_id, "order_upstream_id")
        found = self.iterate(
            upstream_id=upstream_id, upstream_ids=[order_upstream_id], limit=calls.LOOKUP_PAGE_SIZE
        )
        return [o async for o in found if o.upstream_id == order_upstream_id]


class AsyncFulfillments(_AsyncResource):
    """``/fulfillments``: ship (capture) or cancel (reverse) order units. ``create`` is never
    resent after an ambiguous failure: reconcile with :meth:`list_for_order` first."""

    async def create(
        self, request: FulfillmentRequest | Body, *, upstream_id: str | None = None
    ) -> Fulfillment:
        """``POST /fulfillments``."""
        return await self._client._request(calls.create_fulfillment(request), upstream_id)

    async def get(self, fulfillment_id: str, *, upstream_id: str | None = None) -> Fulfillment:
        """``GET /fulfillments/{id}``."""
        return await self._client._request(calls.get_fulfillment(fulfillment_id), upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[FulfillmentFilters]
    ) -> AsyncPage[Fulfillment]:
        """``GET /fulfillments``: one page."""
        return await self._client._page(calls.list_fulfillments(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[FulfillmentFilters]
    ) -> AsyncGenerator[Fulfillment, None]:
        """Every fulfillment matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item

    async def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Fulfillment]:
        """Every fulfillment of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [f async for f in found if calls.may_belong_to_order(f.order_id, order_id)]


class AsyncEvents(_AsyncResource):
    """``/events``: what happened at DR (the objects webhooks deliver)."""

    async def get(self, event_id: str, *, upstream_id: str | None = None) -> Event:
        """``GET /events/{id}``."""
        return await self._client._request(calls.get_event(event_id), upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[EventFilters]
    ) -> AsyncPage[Event]:
        """``GET /events``: one page; filter by ``type`` or ``types``, not both."""
        return await self._client._page(calls.list_events(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[EventFilters]
    ) -> AsyncGenerator[Event, None]:
        """Every event matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item


class AsyncRefunds(_AsyncResource):
    """``/refunds``: pay captured money back. ``create`` is never resent after an ambiguous
    failure: reconcile with :meth:`list_for_order` first."""

    async def create(
        self, request: RefundRequest | Body, *, upstream_id: str | None = None
    ) -> Refund:
        """``POST /refunds``."""
        return await self._client._request(calls.create_refund(request), upstream_id)

    async def get(self, refund_id: str, *, upstream_id: str | None = None) -> Refund:
        """``GET /refunds/{id}``."""
        return await self._client._request(calls.get_refund(refund_id), upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[RefundFilters]
    ) -> AsyncPage[Refund]:
        """``GET /refunds``: one page."""
        return await self._client._page(calls.list_refunds(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[RefundFilters]
    ) -> AsyncGenerator[Refund, None]:
        """Every refund matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item

    async def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Refund]:
        """Every refund of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [r async for r in found if calls.may_belong_to_order(r.order_id, order_id)]


class AsyncReturns(_AsyncResource):
    """``/returns``: third-party coordinated returns. ``create`` is never resent after an
    ambiguous failure: reconcile with :meth:`list_for_order` first."""

    async def create(
        self, request: ReturnRequest | Body, *, upstream_id: str | None = None
    ) -> Return:
        """``POST /returns``."""
        return await self._client._request(calls.create_return(request), upstream_id)

    async def get(self, return_id: str, *, upstream_id: str | None = None) -> Return:
        """``GET /returns/{id}``."""
        return await self._client._request(calls.get_return(return_id), upstream_id)

    async def update(
        self, return_id: str, request: UpdateReturnRequest | Body, *, upstream_id: str | None = None
    ) -> Return:
        """``POST /returns/{id}``: accept the whole return or some items."""
        return await self._client._request(calls.update_return(return_id, request), upstream_id)

    async def accept(self, return_id: str, *, upstream_id: str | None = None) -> Return:
        """Accept every item (``{"state": "accepted"}``); DR then refunds."""
        call = calls.update_return(return_id, {"state": "accepted"})
        return await self._client._request(call, upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[ReturnFilters]
    ) -> AsyncPage[Return]:
        """``GET /returns``: one page."""
        return await self._client._page(calls.list_returns(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[ReturnFilters]
    ) -> AsyncGenerator[Return, None]:
        """Every return matching ``filters``, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item

    async def list_for_order(
        self, order_id: str, *, upstream_id: str | None = None
    ) -> builtins.list[Return]:
        """Every return of ``order_id`` (all pages; entries lacking ``orderId`` kept)."""
        calls.require_id(order_id, "order_id")
        found = self.iterate(
            upstream_id=upstream_id, order_id=order_id, limit=calls.LOOKUP_PAGE_SIZE
        )
        return [r async for r in found if calls.may_belong_to_order(r.order_id, order_id)]


class AsyncWebhooks(_AsyncResource):
    """``/webhooks``: where DR delivers events."""

    async def create(
        self, request: WebhookRequest | Body, *, upstream_id: str | None = None
    ) -> Webhook:
        """``POST /webhooks``."""
        return await self._client._request(calls.create_webhook(request), upstream_id)

    async def get(self, webhook_id: str, *, upstream_id: str | None = None) -> Webhook:
        """``GET /webhooks/{id}``."""
        return await self._client._request(calls.get_webhook(webhook_id), upstream_id)

    async def update(
        self,
        webhook_id: str,
        request: UpdateWebhookRequest | Body,
        *,
        upstream_id: str | None = None,
    ) -> Webhook:
        """``PATCH /webhooks/{id}`` (e.g. ``{"enabled": False}``)."""
        return await self._client._request(calls.update_webhook(webhook_id, request), upstream_id)

    async def delete(self, webhook_id: str, *, upstream_id: str | None = None) -> None:
        """``DELETE /webhooks/{id}``."""
        return await self._client._request(calls.delete_webhook(webhook_id), upstream_id)

    async def list(
        self, *, upstream_id: str | None = None, **filters: Unpack[PageFilters]
    ) -> AsyncPage[Webhook]:
        """``GET /webhooks`` (DR answers a bare array: one page, ``has_more`` false)."""
        return await self._client._page(calls.list_webhooks(filters), upstream_id)

    async def iterate(
        self, *, upstream_id: str | None = None, **filters: Unpack[PageFilters]
    ) -> AsyncGenerator[Webhook, None]:
        """Every webhook, fetching pages as needed."""
        page = await self.list(upstream_id=upstream_id, **filters)
        async for item in page.auto_paging_iter():
            yield item
