"""Example mapping files shipped with the adapter, one per fake platform shape."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
NESTED_SHOP = EXAMPLES_DIR / "nested_shop.toml"
"""Nested ``order.items[]``, amounts in cents, country names; Shopify-style signatures."""
FLAT_SHOP = EXAMPLES_DIR / "flat_shop.toml"
"""Flat records, decimal strings, ISO codes; Stripe-style timestamped signatures."""

EXAMPLES: dict[str, Path] = {"nested_shop": NESTED_SHOP, "flat_shop": FLAT_SHOP}
