"""What the core needs from a platform besides pure translation: I/O, and a fake to test with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from affluent.models import DemoCart, PlatformUpdate


@runtime_checkable
class PlatformClient(Protocol):
    """Writes to the platform, provided by the adapter through ``affluent_platform_client``."""

    async def push(self, update: PlatformUpdate) -> None:
        """Apply ``update`` to the platform order; raise on failure (the core retries)."""

    async def aclose(self) -> None:
        """Release connections."""


@runtime_checkable
class PlatformFake(Protocol):
    """An in-process imitation of the platform, for the demo and the conformance kit."""

    app: Any
    """ASGI app that accepts the adapter's platform writes and records them."""

    def client_config(self, base_url: str) -> Mapping[str, Any]:
        """Adapter configuration that points ``affluent_platform_client`` at the fake."""

    def checkout_payload(self, cart: DemoCart) -> Mapping[str, Any]:
        """The platform's own payload for a cart ready to check out (standard flow step 10)."""

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> Mapping[str, Any]:
        """The platform's own sourceId hand-off payload (step 22)."""

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Sequence[tuple[str, int, int]],
        tracking: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """The platform's own event for (line_ref, shipped, cancelled) changes (steps 49, 54)."""

    def platform_status(self, order_ref: str) -> str:
        """The order's status in the platform's own words, as last written by the adapter."""


@runtime_checkable
class SigningPlatformFake(PlatformFake, Protocol):
    """A platform fake that can also sign webhooks (adapters with ``platform_webhooks``)."""

    def signed_line_webhook(
        self, order_ref: str, change_ref: str, changes: Sequence[tuple[str, int, int]]
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of the signed webhook the platform sends for these changes."""
