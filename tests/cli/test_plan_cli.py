"""`lake plan` and the plan `lake build` prints first: stale inputs, the models to rebuild and
why, and the JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from tests.transform.test_plan import edit, ingest, numbers_and_letters

runner = CliRunner()


@pytest.fixture
def config(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Path:
    numbers_and_letters(lake, project_dir, tmp_path)
    return project_dir / "lakehouse.toml"


def lake_cli(config: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--config", str(config), *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_lake_plan_lists_every_model_with_what_it_does_and_why(config: Path) -> None:
    output = lake_cli(config, "plan", "prod")
    lines = output.splitlines()
    assert lines[0].startswith("plan for prod (") and lines[0].endswith("prod.lock)")
    assert any(line.split()[:2] == ["numbers", "numbers"] for line in lines)
    assert "  staging      stg_numbers                  view" in lines
    assert "  intermediate bumped                       rebuild  never built" in lines
    assert lines[-1] == "3 models to rebuild (lettered, bumped, prod), 0 reused"


def test_lake_build_prints_the_short_plan_first_and_lake_plan_flags_a_stale_lock(
    config: Path, lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    built = lake_cli(config, "build", "prod")
    assert built.splitlines()[0] == "3 models to rebuild (lettered, bumped, prod), 0 reused"
    assert "prod                     built" in built  # the build's own lines follow

    newer = ingest(lake, tmp_path, "numbers", "n\n7\n")
    edit(project_dir / "transforms" / "common" / "helpers.py", "column + 1", "column + 2")
    output = lake_cli(config, "plan", "prod")
    assert "STALE" in output and "run `lake lock prod` to build from it." in output
    assert f"latest {newer}" in output
    assert "rebuild  a shared helper changed (common.helpers.plus_one)" in output
    assert "rebuild  an input changed (bumped)" in output

    built = lake_cli(config, "build", "prod").splitlines()
    assert built[0].startswith("numbers: the lock pins numbers ")
    assert built[0].endswith("run `lake lock prod` to build from it.")
    assert built[1] == "2 models to rebuild (bumped, prod), 1 reused"


def test_lake_plan_json_is_the_documented_shape(config: Path) -> None:
    data = json.loads(lake_cli(config, "plan", "prod", "--json"))
    assert data["plan_format"] == 1 and data["product"] == "prod"
    assert data["rebuild"] == ["lettered", "bumped", "prod"] and data["stale"] == []
    (bumped,) = [model for model in data["models"] if model["name"] == "bumped"]
    assert bumped["action"] == "rebuild"
    assert bumped["reasons"] == [{"kind": "never_built", "detail": "never built"}]


def test_lake_plan_of_an_unknown_product_fails_in_one_sentence(config: Path) -> None:
    output = lake_cli(config, "plan", "nope", code=1)
    assert output.startswith("Error: No recipe ")
