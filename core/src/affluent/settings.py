"""Settings from ``AFFLUENT_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration. Secrets are ``SecretStr``: they print as ``**********``."""

    model_config = SettingsConfigDict(env_prefix="AFFLUENT_", env_nested_delimiter="__")

    database_url: str = "sqlite:///affluent.sqlite3"
    """SQLAlchemy URL of the store; PostgreSQL (``postgresql+psycopg://…``) for many hosts."""
    dr_api_key: SecretStr | None = None
    """DR confidential key; without one, the embedded sandbox is used."""
    dr_base_url: str = "https://api.digitalriver.com"
    dr_webhook_secrets: list[SecretStr] = Field(default_factory=list)
    """Active DR webhook signing secrets (several during rotation)."""
    adapters: list[str] | None = None
    """Adapters to load by entry-point name; ``None`` loads every installed one."""
    adapter_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-adapter configuration, keyed by entry-point name."""
