"""Test support for affluent and its adapters (install the ``testing`` extra).

Opt in with ``pytest -p affluent.testing``: the fixtures of :mod:`affluent.testing.plugin`
become available, and :class:`affluent.testing.suite.AdapterConformance` is the suite an
adapter subclasses.
"""

from affluent.testing.plugin import (
    affluent_dr,
    affluent_dr_in_process,
    affluent_postgres,
    affluent_sandbox_app,
    affluent_sandbox_url,
    affluent_store,
    pytest_addoption,
    pytest_generate_tests,
)

__all__ = [
    "affluent_dr",
    "affluent_dr_in_process",
    "affluent_postgres",
    "affluent_sandbox_app",
    "affluent_sandbox_url",
    "affluent_store",
    "pytest_addoption",
    "pytest_generate_tests",
]
