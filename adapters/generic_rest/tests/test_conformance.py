"""The core's conformance suite, run against both example platforms of generic_rest."""

from __future__ import annotations

import pytest

from affluent.testing.suite import AdapterConformance
from affluent_generic_rest.plugin import GenericRestAdapter


class TestGenericRestConformance(AdapterConformance):
    adapter_name = "generic_rest"

    @pytest.fixture(params=["nested_shop", "flat_shop"])
    def adapter(self, request: pytest.FixtureRequest) -> object:
        return GenericRestAdapter(example=request.param)
