"""Writes to the store through an Admin-API-style REST client (httpx).

Every call goes to ``{admin_url}/admin/api/{api_version}/...json`` with the
``X-Shopify-Access-Token`` header. The client respects the store's rate limits: it slows down
when ``X-Shopify-Shop-Api-Call-Limit`` (``used/size`` of a leaky bucket) is nearly full, and
on ``429`` waits ``Retry-After`` seconds and tries again (up to ``max_retries`` times). Any
other failure raises :class:`AdminAPIError`, and the core retries the push later.

It carries out the plans written by :mod:`affluent_shopify_like.translate_out`: tags are
merged (read, replace this adapter's tag families, write) so the merchant's own tags survive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from affluent.errors import AdapterError
from affluent.models import PlatformUpdate
from affluent_shopify_like.config import ShopifyConfig

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 (a header name)
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
DEFAULT_RETRY_AFTER = 1.0

Sleep = Callable[[float], Awaitable[None]]


class AdminAPIError(Exception):
    """The store refused or failed an Admin API call."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        super().__init__(f"{method} {path} -> {status}: {detail}")


class AdminClient:
    """The ``PlatformClient`` of the ``shopify_like`` adapter."""

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if config.admin_url is None:
            raise AdapterError("shopify_like: config admin_url is required for platform writes")
        if config.access_token is None:
            raise AdapterError("shopify_like: config access_token is required for platform writes")
        self._config = config
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=f"{config.admin_url}/admin/api/{config.api_version}/",
            headers={
                TOKEN_HEADER: config.access_token.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=config.timeout,
            transport=transport,
        )
        self._pause = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the PlatformClient protocol ------------------------------------------------------------

    async def push(self, update: PlatformUpdate) -> None:
        """Carry out one plan: update the order (tags merged), then cancel it if asked."""
        body = update.body
        key = "order" if "order" in body else "checkout"
        fields = dict(body.get(key) or {"id": update.order_ref})
        path = f"{key}s/{update.order_ref}.json"
        families = body.get("tags")
        if families:
            current = await self.request("GET", path, params={"fields": "id,tags"})
            existing = (current.get(key) or {}).get("tags") or ""
            fields["tags"] = merge_tags(existing, families)
        await self.request("PUT", path, json={key: fields})
        cancel = body.get("cancel")
        if cancel and key == "order":
            await self._cancel(update.order_ref, cancel)

    async def _cancel(self, order_ref: str, options: Mapping[str, Any]) -> None:
        try:
            await self.request("POST", f"orders/{order_ref}/cancel.json", json=dict(options))
        except AdminAPIError as exc:
            if exc.status == 422 and "already" in exc.detail.lower():
                return  # cancelled before (by the merchant, or an earlier push): same outcome
            raise

    # -- transport ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One Admin call, throttled and retried on 429; the decoded JSON body."""
        attempt = 0
        while True:
            if self._pause:
                pause, self._pause = self._pause, 0.0
                await self._sleep(pause)
            response = await self._http.request(method, path, json=json, params=params)
            self._note_call_limit(response)
            if response.status_code == 429 and attempt < self._config.max_retries:
                wait = self._retry_after(response)
                if wait <= self._config.max_retry_after:
                    attempt += 1
                    log.info("%s %s throttled; retrying in %.2fs", method, path, wait)
                    await self._sleep(wait)
                    continue
            if response.is_success:
                if not response.content:
                    return {}
                decoded = response.json()
                return decoded if isinstance(decoded, dict) else {}
            raise AdminAPIError(method, path, response.status_code, _detail(response))

    def _retry_after(self, response: httpx.Response) -> float:
        raw = response.headers.get("Retry-After")
        try:
            wait = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
        except ValueError:
            wait = DEFAULT_RETRY_AFTER
        return max(wait, 0.0)

    def _note_call_limit(self, response: httpx.Response) -> None:
        """Pause before the next call when the bucket has fewer than ``headroom`` calls left."""
        raw = response.headers.get(CALL_LIMIT_HEADER)
        if not raw:
            return
        try:
            used, size = (int(part) for part in raw.split("/", 1))
        except ValueError:
            return
        left = size - used
        headroom = self._config.call_limit_headroom
        if left < headroom:
            self._pause = (headroom - left) / self._config.call_limit_leak_rate


def merge_tags(existing: str, families: Mapping[str, str | None]) -> str:
    """Shopify's comma-separated tags with each family prefix replaced by its new tag."""
    kept = [
        tag
        for tag in (part.strip() for part in existing.split(","))
        if tag and not any(tag.startswith(prefix) for prefix in families)
    ]
    added = [tag for tag in families.values() if tag]
    return ", ".join(dict.fromkeys([*kept, *added]))


def _detail(response: httpx.Response) -> str:
    try:
        decoded = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    errors = decoded.get("errors", decoded) if isinstance(decoded, dict) else decoded
    return str(errors)[:500]
