"""docs/hooks.md documents every hookspec with its exact signature and call mode."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from affluent import hookspecs

DOCS = Path(__file__).parents[2] / "docs" / "hooks.md"
SECTION = re.compile(
    r"^### (?P<name>affluent_\w+)\n+```python\n(?P<signature>.+?)\n```\n+firstresult: (?P<first>yes|no)\.",
    re.MULTILINE,
)


def _specs() -> dict[str, object]:
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if name.startswith("affluent_") and hasattr(fn, f"{hookspecs.PROJECT_NAME}_spec")
    }


def _signature(fn: object) -> str:
    text = f"{fn.__name__}{inspect.signature(fn)}"  # type: ignore[attr-defined]
    return text.replace("'", "")


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    documented = {m["name"]: m for m in SECTION.finditer(DOCS.read_text())}
    specs = _specs()
    assert sorted(documented) == sorted(specs), "hooks.md and hookspecs.py list different hooks"
    for name, fn in specs.items():
        match = documented[name]
        assert match["signature"] == _signature(fn), f"{name}: signature differs from hookspecs.py"
        firstresult = getattr(fn, f"{hookspecs.PROJECT_NAME}_spec").get("firstresult", False)
        assert match["first"] == ("yes" if firstresult else "no"), f"{name}: firstresult differs"


def test_every_hook_has_a_docstring() -> None:
    for name, fn in _specs().items():
        assert inspect.getdoc(fn), f"{name} has no docstring"
