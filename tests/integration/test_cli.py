"""The ``affluent`` command as a user runs it, with the adapters installed in this workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from affluent.cli import main

ROOT = Path(__file__).parents[2]
FLAT_SHOP = ROOT / "adapters/generic_rest/src/affluent_generic_rest/examples/flat_shop.toml"


def affluent(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from affluent.cli import main; main()", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_adapters_list_shows_both_adapters_and_their_hooks() -> None:
    result = CliRunner().invoke(main, ["adapters", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "affluent-shopify-like" in result.output
    assert "affluent-generic-rest" in result.output
    assert "affluent_map_cart" in result.output


def test_check_a_mapping_file_and_a_sample(tmp_path: Path) -> None:
    ok = CliRunner().invoke(main, ["adapters", "check", "generic_rest", "--config", str(FLAT_SHOP)])
    assert ok.exit_code == 0, ok.output
    assert "mapping OK" in ok.output
    sample = tmp_path / "sample.json"
    sample.write_text('{"nothing": "useful"}')
    bad = CliRunner().invoke(
        main,
        ["adapters", "check", "generic_rest", "--config", str(FLAT_SHOP), "--sample", str(sample)],
    )
    assert bad.exit_code == 1
    assert "expression returned null for the sample payload" in bad.output


def test_an_adapter_without_a_config_file_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["adapters", "check", "shopify_like", "--config", str(FLAT_SHOP)]
    )
    assert result.exit_code == 1
    assert "has no configuration file to check" in result.output


@pytest.mark.slow
def test_conformance_check_of_an_installed_adapter_prints_a_table() -> None:
    result = affluent("adapters", "check", "shopify_like")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "conformance of adapter 'shopify_like'" in result.stdout
    assert "test_flow_scenario[sqlite-409 decline]" in result.stdout
    assert " 0 failed" in result.stdout


@pytest.mark.slow
def test_demo_exits_zero_and_every_row_matches() -> None:
    result = affluent("demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 differing from the expected outcome" in result.stdout
    assert result.stdout.count("✓ as expected") == 27


@pytest.mark.parametrize("command", [["worker", "--once"], ["reconcile"]])
def test_work_that_needs_digital_river_says_which_setting_is_missing(
    tmp_path: Path, command: list[str]
) -> None:
    env = {
        "AFFLUENT_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "AFFLUENT_ADAPTERS": "[]",
        "AFFLUENT_DR_API_KEY": None,  # unset, should the calling shell have one
    }
    result = CliRunner().invoke(main, command, env=env)

    assert result.exit_code == 1
    assert "no Digital River API key: set AFFLUENT_DR_API_KEY" in result.output
    assert "Traceback" not in result.output
