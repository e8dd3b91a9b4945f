"""Shared fixtures: the real Shopify payloads in ``<repo root>/../shared/fixtures/shopify``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHOPIFY_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "shopify"


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    if not SHOPIFY_FIXTURES.is_dir():
        pytest.skip(f"Shopify fixtures not found at {SHOPIFY_FIXTURES} (shared/ beside the repo)")
    return SHOPIFY_FIXTURES


@pytest.fixture
def load(fixture_dir: Path) -> Any:
    """``load("order.json")`` -> a fresh copy of the parsed fixture."""
    cache: dict[str, Any] = {}

    def _load(name: str) -> Any:
        if name not in cache:
            cache[name] = json.loads((fixture_dir / name).read_text())
        return copy.deepcopy(cache[name])

    return _load
