"""The core's conformance suite, run against the shopify_like adapter."""

from affluent.testing.suite import AdapterConformance


class TestShopifyLikeConformance(AdapterConformance):
    adapter_name = "shopify_like"
