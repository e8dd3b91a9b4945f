"""Fixtures for the ``affluent.dr`` tests (helpers live in ``dr_support``)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dr_support import Clients


@pytest.fixture(params=["sync", "async"])
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[Clients]:
    """Client factory, once with :class:`DigitalRiver` and once with :class:`AsyncDigitalRiver`."""
    factory = Clients(request.param)
    yield factory
    await factory.close()
