"""Entry point object for the ``shopify_like`` adapter (hooks arrive in a later change)."""


class ShopifyLikeAdapter:
    """Registered with pluggy under the entry name ``shopify_like``."""
