"""What ``serve`` and ``worker`` build from :class:`~affluent.settings.Settings`: the store, the
adapters, a rate-gated DR client and the flow."""

from __future__ import annotations

import importlib
from typing import Any

import httpx

from affluent import logs
from affluent.dr import AsyncDigitalRiver
from affluent.errors import AdapterError
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.service.gate import GatedTransport, RateGate
from affluent.service.inbox import Inbox
from affluent.settings import Settings
from affluent.store import Store

__all__ = ["Runtime", "load_adapters"]


class NotConfigured(RuntimeError):
    """A setting the requested work needs is missing."""


def _import(path: str) -> object:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise AdapterError(f"adapter path {path!r} must look like 'package.module:Plugin'")
    try:
        target: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise AdapterError(f"adapter path {path!r} cannot be imported: {exc}") from exc
    return target() if isinstance(target, type) else target


def load_adapters(settings: Settings) -> Adapters:
    """Adapters by entry point (``settings.adapters``) plus any given by import path."""
    names = settings.adapters
    if not settings.adapter_paths:
        return Adapters.load(names)
    plugins: dict[str, object] = {}
    if names is None or names:
        loaded = Adapters.load(names)
        plugins = {name: loaded.info(name).plugin for name in loaded.names}
    for name, path in settings.adapter_paths.items():
        plugins[name] = _import(path)
    return Adapters.from_plugins(plugins)


def register_secrets(settings: Settings) -> None:
    """Tell the log redaction about every configured secret, whatever its shape."""
    logs.register_secret(settings.dr_api_key)
    for secret in settings.dr_webhook_secrets:
        logs.register_secret(secret)
    for keys in settings.storefront_api_keys.values():
        for key in keys:
            logs.register_secret(key)


class Runtime:
    """The long-lived objects of one service or worker process."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        adapters: Adapters | None = None,
        dr: AsyncDigitalRiver | None = None,
    ) -> None:
        self.settings = settings
        register_secrets(settings)
        self.store = store or Store(settings.database_url, pool_size=settings.database_pool_size)
        self._owns_store = store is None
        self.inbox = Inbox(self.store)
        self.adapters = adapters or load_adapters(settings)
        self.gate = RateGate(self.store, "dr", max_wait=settings.dr_max_retry_wait)
        self._dr = dr
        self._owns_dr = dr is None
        self._flow: Flow | None = None

    @property
    def dr(self) -> AsyncDigitalRiver:
        """The DR client, every request of which passes the shared rate gate."""
        if self._dr is None:
            key = self.settings.dr_api_key
            if key is None:
                raise NotConfigured(
                    "no Digital River API key: set AFFLUENT_DR_API_KEY (a sandbox accepts any "
                    "sk_test_… key; point AFFLUENT_DR_BASE_URL at it)"
                )
            http = httpx.AsyncClient(
                transport=GatedTransport(self.gate),
                timeout=httpx.Timeout(30.0, connect=5.0),
                follow_redirects=False,
            )
            self._dr = AsyncDigitalRiver(
                api_key=key.get_secret_value(),
                base_url=self.settings.dr_base_url,
                http_client=http,
                max_retry_wait=self.settings.dr_max_retry_wait,
            )
            self._http = http
        return self._dr

    @property
    def flow(self) -> Flow:
        if self._flow is None:
            self._flow = Flow(
                dr=self.dr,
                store=self.store,
                adapters=self.adapters,
                configs=self.settings.adapter_config,
                write_retry_base=self.settings.write_retry_base,
            )
        return self._flow

    async def aclose(self) -> None:
        if self._flow is not None:
            await self._flow.aclose()
            self._flow = None
        if self._dr is not None and self._owns_dr:
            await self._dr.aclose()
            await self._http.aclose()
            self._dr = None
        if self._owns_store:
            self.store.dispose()
