"""The core's conformance suite, run against the template adapter."""

import pytest
from affluent_template.plugin import TemplateAdapter

from affluent.testing.suite import AdapterConformance


class TestTemplateConformance(AdapterConformance):
    adapter_name = "template"

    @pytest.fixture
    def adapter(self) -> object:
        return TemplateAdapter()
