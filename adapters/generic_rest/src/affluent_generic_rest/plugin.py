"""Entry point object for the ``generic_rest`` adapter (hooks arrive in a later change)."""


class GenericRestAdapter:
    """Registered with pluggy under the entry name ``generic_rest``."""
