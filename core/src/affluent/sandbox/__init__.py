"""A stateful local emulator of the Digital River API, for tests, demos and integrators.

``create_app(SandboxConfig(...))`` returns a Starlette app; ``app.state.sandbox`` is its
``Sandbox`` (state, events, webhook secrets, and awaitable test controls). See docs/sandbox.md.
"""

from affluent.sandbox.app import create_app
from affluent.sandbox.config import DEFAULT_WEBHOOK_SECRET, TEST_API_KEY, SandboxConfig
from affluent.sandbox.state import Sandbox

__all__ = ["DEFAULT_WEBHOOK_SECRET", "TEST_API_KEY", "Sandbox", "SandboxConfig", "create_app"]
