"""Add up the JUnit reports the tox environments wrote: one closing line for the whole matrix."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for report in sorted(Path(".tox").glob("*/junit.xml")):
    for suite in ET.parse(report).getroot().iter("testsuite"):  # noqa: S314 (our own reports)
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    print(f"{report.parent.name}: {report}")
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"{passed} passed, {failed} failed, {totals['skipped']} skipped")
