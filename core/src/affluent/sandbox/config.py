"""Settings of one sandbox instance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

DEFAULT_WEBHOOK_SECRET = "whsec_affluent_sandbox_0123456789abcdef"  # noqa: S105 (test secret)
"""The signing secret used when none is configured; fixed so tests and demos can verify."""

TEST_API_KEY = "sk_test_affluent_sandbox"
"""A key the sandbox accepts (any ``sk_test_…`` key works); printed by ``affluent sandbox``."""


def utc_now() -> datetime:
    """The real clock, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class SandboxConfig:
    """How a sandbox behaves. Every field has a default suitable for tests and demos.

    ``resolve_delay``: seconds after which ``in_review``/``pending_payment`` orders, pending
    captures and pending refunds settle on their own (by their trigger); ``None`` = only when
    asked through ``POST /_sandbox/orders/{id}/resolve``.
    ``clock``: returns an aware ``datetime``; drives every timestamp the sandbox writes.
    """

    rate_limit: float | None = 25.0
    webhook_secrets: list[str] = field(default_factory=lambda: [DEFAULT_WEBHOOK_SECRET])
    resolve_delay: float | None = 1.0
    webhook_transport: httpx.AsyncBaseTransport | None = None
    webhook_timeout: float = 3.0
    webhook_retry_delays: Sequence[float] = (0.5, 2.0, 8.0)
    duplicate_deliveries: bool = False
    shuffle_deliveries: bool = False
    persist_path: str | None = None
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        if not self.webhook_secrets or not all(self.webhook_secrets):
            raise ValueError("webhook_secrets needs at least one non-empty secret")
        if self.resolve_delay is not None and self.resolve_delay < 0:
            raise ValueError("resolve_delay must be >= 0 or None")
