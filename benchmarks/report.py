"""Result rows, the machine they ran on, and the markdown table."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Figure:
    """One measured figure: affluent's number, its floor's, and how they compare."""

    name: str
    unit: str
    affluent: float
    floor: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.affluent / self.floor  # type: ignore[operator]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}, {platform.system()}"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def markdown(figures: list[Figure]) -> str:
    host = machine()
    lines = [
        "| figure | affluent | floor | ratio | machine |",
        "|---|---|---|---|---|",
    ]
    for figure in figures:
        ratio = f"{figure.ratio:.2f}" if figure.ratio is not None else "—"
        name = f"{figure.name} ({figure.unit})" + (f" — {figure.note}" if figure.note else "")
        lines.append(
            f"| {name} | {_num(figure.affluent)} | {_num(figure.floor)} | {ratio} | {host} |"
        )
    return "\n".join(lines)


def save(figures: list[Figure], path: Path) -> None:
    """Write the figures, keeping earlier ones of other names (``--only`` runs part)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = {figure.name for figure in figures}
    if path.exists():
        earlier = json.loads(path.read_text())["figures"]
        kept = [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in earlier]
        figures = [f for f in kept if f.name not in names] + figures
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": [asdict(figure) | {"ratio": figure.ratio} for figure in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
