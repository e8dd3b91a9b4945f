"""``affluent adapters check NAME``: the conformance suite against an installed adapter."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_MODULE = """
from affluent.testing.suite import AdapterConformance


class TestAdapter(AdapterConformance):
    adapter_name = {name!r}
"""


@dataclass
class _Results:
    """A pytest plugin that keeps one row per test: name, outcome, and why."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1].encode().decode("unicode_escape")
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            why = ""
            if report.skipped and isinstance(report.longrepr, tuple):
                why = str(report.longrepr[2]).removeprefix("Skipped: ")
            elif report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                why = crash.message if crash is not None else str(report.longrepr)[:300]
            self.rows.append((name, report.outcome, why.splitlines()[0] if why else ""))


def run_conformance(name: str, console: Any) -> int:
    """Run the suite against adapter ``name`` (loaded by entry point); print a table."""
    from rich.markup import escape
    from rich.table import Table

    results = _Results()
    with tempfile.TemporaryDirectory(prefix="affluent-check-") as folder:
        module = Path(folder) / f"test_conformance_{name}.py"
        module.write_text(_MODULE.format(name=name))
        code = pytest.main(
            [
                str(module),
                "-qq",
                "-p",
                "affluent.testing",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                folder,
                "-o",
                "asyncio_mode=auto",
                "--tb=short",
                "-o",
                "asyncio_default_fixture_loop_scope=function",
                "--no-header",
                "-rN",
                "-W",
                "ignore::pytest.PytestAssertRewriteWarning",
            ],
            plugins=[results],
        )
    table = Table(title=f"conformance of adapter {name!r}")
    for column in ("test", "result", "detail"):
        table.add_column(column)
    colours = {"passed": "green", "failed": "red", "skipped": "yellow"}
    for test, outcome, why in results.rows:
        table.add_row(escape(test), f"[{colours.get(outcome, 'white')}]{outcome}[/]", escape(why))
    console.print(table)
    counts = {outcome: sum(1 for row in results.rows if row[1] == outcome) for outcome in colours}
    console.print(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
    return int(code)
