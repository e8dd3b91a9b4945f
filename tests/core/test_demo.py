"""``affluent demo`` machinery, driven with the dict test platform."""

from __future__ import annotations

from affluent.demo import SCENARIOS, run_demo
from affluent.plugins import Adapters
from affluent.testing.memory import DictPlatformWithFake


async def test_every_scenario_ends_as_expected() -> None:
    report = await run_demo(Adapters.from_plugins({"dict": DictPlatformWithFake()}))
    failures = [row for row in report.rows if not row.ok]
    assert not failures, failures
    assert [row.scenario for row in report.rows] == [scenario.name for scenario in SCENARIOS]
    rows = {row.scenario: row for row in report.rows}
    assert (
        rows["partial shipment, cancel the rest"].shipped,
        rows["partial shipment, cancel the rest"].cancelled,
    ) == (2, 1)
    assert rows["409 decline"].dr_state == "(no order)"
    assert rows["in_review → blocked"].platform_status == "blocked"
