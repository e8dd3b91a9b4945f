"""The README and docs point at files that exist and commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from affluent.cli import main

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_opens_with_the_two_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands[0] == "uv run affluent demo"
    assert commands[1].startswith("uv run tox")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, ".ci/run must run the README's test command"


def test_every_command_in_the_readme_exists() -> None:
    text = (ROOT / "README.md").read_text()
    for command in sorted(set(re.findall(r"`affluent ([a-z]+(?: [a-z]+)?)", text))):
        words = [word for word in command.split() if not word.startswith("-")]
        result = CliRunner().invoke(main, [*words, "--help"])
        assert result.exit_code == 0, f"README names `affluent {command}`, which does not exist"
