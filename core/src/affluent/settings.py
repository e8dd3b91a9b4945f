"""Settings from ``AFFLUENT_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration. Secrets are ``SecretStr``: they print as ``**********``."""

    model_config = SettingsConfigDict(env_prefix="AFFLUENT_", env_nested_delimiter="__")

    database_url: str = "sqlite:///affluent.sqlite3"
    """SQLAlchemy URL of the store; PostgreSQL (``postgresql+psycopg://…``) for many hosts."""
    database_pool_size: int = Field(default=10, ge=1)
    """Database connections each process keeps open (``serve`` stores that many events at once)."""
    dr_api_key: SecretStr | None = None
    """DR confidential key. ``worker`` and ``reconcile`` stop with an error without one; ``serve``
    stores webhooks without it, but its storefront API needs it. ``affluent demo`` runs its own
    sandbox and needs none."""
    dr_base_url: str = "https://api.digitalriver.com"
    dr_webhook_secrets: list[SecretStr] = Field(default_factory=list)
    """Active DR webhook signing secrets (several during rotation)."""
    adapters: list[str] | None = None
    """Adapters to load by entry-point name; ``None`` loads every installed one."""
    adapter_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-adapter configuration, keyed by entry-point name."""

    # -- the connector service: ``affluent serve`` and ``affluent worker`` -----------------------

    storefront_api_keys: dict[str, list[SecretStr]] = Field(default_factory=dict)
    """Storefront API keys per platform, several during rotation: ``{"shopify_like": ["…"]}``."""
    adapter_paths: dict[str, str] = Field(default_factory=dict)
    """Adapters loaded by import path instead of entry point: ``{"name": "module:Plugin"}``."""
    webhook_max_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest request body accepted (webhooks and the storefront API); larger ones get 413."""
    webhook_tolerance: float = Field(default=300.0, ge=0)
    """Seconds a DR signature's timestamp may be away from now, either way."""
    dr_max_retry_wait: float = Field(default=10.0, ge=0)
    """Longest ``Retry-After`` a worker waits in place; a longer one reschedules the job."""
    worker_concurrency: int = Field(default=8, ge=1)
    """Jobs one worker process runs at once."""
    worker_poll_interval: float = Field(default=0.25, gt=0)
    """Seconds an idle worker waits before looking for due jobs again."""
    lease_seconds: float = Field(default=30.0, gt=0)
    """How long a claim (a job, an order) outlives a worker that stopped renewing it."""
    job_max_attempts: int = Field(default=10, ge=1)
    """Attempts before a failing job is parked (rate-limit waits do not count)."""
    job_backoff_base: float = Field(default=1.0, gt=0)
    """First retry delay in seconds; doubles per attempt, with jitter."""
    job_backoff_max: float = Field(default=600.0, gt=0)
    """Longest retry delay in seconds."""
    job_timeout: float = Field(default=300.0, gt=0)
    """Seconds one attempt of a job may take before it is abandoned and retried."""
    write_retry_base: float = Field(default=1.0, gt=0)
    """First retry delay of a failed platform write (the flow doubles it per attempt)."""
    sweep_interval: float = Field(default=5.0, gt=0)
    """Seconds between the worker's sweeps for due platform writes and unfinished DR calls."""
    reconcile_interval: float = Field(default=300.0, ge=0)
    """Seconds between reconciliation passes inside the worker; 0 turns them off."""
    reconcile_lookback: float = Field(default=72 * 3600.0, gt=0)
    """How far back the first reconciliation (no stored cursor yet) reads DR's events."""
    reconcile_overlap: float = Field(default=300.0, ge=0)
    """Seconds re-read before the cursor on every pass, for events DR lists late."""
    order_lock_wait: float = Field(default=10.0, ge=0)
    """Seconds a storefront call waits for an order another process is working on."""
    migrate_on_start: bool = True
    """Bring the schema up to date (once, under a lock) when serve or worker starts."""
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
