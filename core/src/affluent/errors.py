"""Errors the core raises. Digital River's own errors live in :mod:`affluent.dr.errors`."""

from __future__ import annotations


class AffluentError(Exception):
    """Base class for every error raised by affluent's core."""


class InvalidInput(AffluentError):
    """Input from a platform or caller was rejected; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class UnknownOrder(AffluentError):
    """No order is known for this platform reference or Digital River id."""

    def __init__(self, ref: str, *, platform: str | None = None) -> None:
        self.ref = ref
        self.platform = platform
        where = f" on platform {platform!r}" if platform else ""
        super().__init__(f"unknown order {ref!r}{where}")


class FlowStateError(AffluentError):
    """The step is not allowed in the order's current state (e.g. shipping before acceptance)."""


class QuantityExceeded(InvalidInput):
    """A line change asks for more units than remain on the line."""


class AdapterError(AffluentError):
    """An adapter is missing, fails to load, or returned something the core cannot use."""


class SignatureError(AffluentError):
    """A webhook's signature is missing, malformed, stale, or matches no configured secret."""
