"""Breaking one translation in an adapter makes the conformance suite name adapter, hook and field."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATE_SRC = Path(__file__).parents[2] / "adapters" / "_template" / "src"

BROKEN = """
import sys
sys.path.insert(0, {src!r})

import pytest
from affluent.models import LineItemChanges
from affluent.hookspecs import hookimpl
from affluent_template.plugin import TemplateAdapter
from affluent.testing.suite import AdapterConformance


class Broken(TemplateAdapter):
    @hookimpl
    def affluent_map_cart(self, payload):
        cart = super().affluent_map_cart(payload)
        return cart.model_copy(update={{"lines": cart.lines[:-1]}}) if {drop_line} else cart

    @hookimpl
    def affluent_map_line_changes(self, payload):
        changes = super().affluent_map_line_changes(payload)
        if changes is None or not {swap}:
            return changes
        swapped = [c.model_copy(update={{"shipped": c.cancelled, "cancelled": c.shipped}}) for c in changes.changes]
        return changes.model_copy(update={{"changes": swapped}})


class TestBroken(AdapterConformance):
    adapter_name = "broken_template"

    @pytest.fixture
    def adapter(self):
        return Broken()
"""


@pytest.mark.parametrize(
    ("drop_line", "swap", "test", "message"),
    [
        (
            True,
            False,
            "test_cart_keeps_every_line_quantity_and_price",
            "adapter 'broken_template', affluent_map_cart, lines[L3]: line dropped",
        ),
        (
            False,
            True,
            "test_line_changes_keep_lines_and_quantities",
            "adapter 'broken_template', affluent_map_line_changes, changes[L1].shipped: 0 != 2",
        ),
    ],
)
def test_a_broken_translation_fails_with_adapter_hook_and_field(
    pytester: pytest.Pytester, drop_line: bool, swap: bool, test: str, message: str
) -> None:
    pytester.makepyfile(
        test_broken=BROKEN.format(src=str(TEMPLATE_SRC), drop_line=drop_line, swap=swap)
    )
    result = pytester.runpytest(
        "-p",
        "affluent.testing",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-k",
        test,
        "-q",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert message in result.stdout.str()
