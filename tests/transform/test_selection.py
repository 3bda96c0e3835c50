"""Choosing what to build: `lake build p --select m / m+ / +m` runs part of a product into the
cache without recording a build; `lake build --all` builds every product after the products
it reads, and a failed product's readers are skipped while the others go on."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import ConfigError, ContractError, NotFoundError
from lakehouse.project import Lakehouse
from lakehouse.transform.index import list_builds
from lakehouse.transform.models import load_models
from lakehouse.transform.selection import product_order, select_models
from tests.transform.test_plan import ingest, numbers_and_letters, write


@pytest.fixture
def prod(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    return numbers_and_letters(lake, project_dir, tmp_path)


def ran(result: object) -> dict[str, str]:
    return {run.name: run.status for run in result.models}  # type: ignore[attr-defined]


def test_the_selection_operators_pick_a_model_its_readers_or_what_it_reads(
    prod: Lakehouse, project_dir: Path
) -> None:
    models = load_models(prod.config.transforms_dir, "prod")
    assert select_models(models, ["bumped"], "prod") == ["bumped"]
    assert sorted(select_models(models, ["bumped+"], "prod")) == ["bumped", "prod"]
    assert sorted(select_models(models, ["+bumped"], "prod")) == ["bumped", "stg_numbers"]
    assert sorted(select_models(models, ["stg_numbers+", "lettered"], "prod")) == [
        "bumped", "lettered", "prod", "stg_numbers"
    ]  # fmt: skip
    with pytest.raises(NotFoundError, match="'prod' has no model 'bumpd'; did you mean 'bumped'"):
        select_models(models, ["bumpd+"], "prod")


def test_a_selection_runs_into_the_cache_records_no_build_and_the_next_build_reuses_it(
    prod: Lakehouse,
) -> None:
    result = prod.build("prod", select=["lettered"])
    assert ran(result) == {"lettered": "built"}
    assert result.selected == ["lettered"] and result.outputs == {}
    assert list_builds(prod.store, "prod") == []
    assert not (Path(prod.store.root) / result.folder).exists()
    assert not result.database.exists()

    plan = prod.plan("prod")
    assert plan.reuse == ["lettered"] and sorted(plan.rebuild) == ["bumped", "prod"]
    full = prod.build("prod")
    assert ran(full) == {
        "stg_numbers": "view", "bumped": "built", "lettered": "cached", "prod": "built"
    }  # fmt: skip
    assert len(list_builds(prod.store, "prod")) == 1


def test_a_selected_view_is_computed_and_a_selected_output_is_checked(prod: Lakehouse) -> None:
    result = prod.build("prod", select=["stg_numbers+"])
    statuses = ran(result)
    assert statuses["stg_numbers"] == "built"  # a view, computed because it was asked for
    assert (statuses["bumped"], statuses["prod"]) == ("built", "built")
    assert result.contracts.results  # the output's dictionary contract ran
    assert result.selected == ["stg_numbers", "bumped", "prod"]


def test_a_selection_that_fails_a_contract_says_nothing_was_recorded(
    prod: Lakehouse, project_dir: Path
) -> None:
    dictionary = project_dir / "contracts" / "prod" / "dictionary.yml"
    dictionary.write_text(
        dictionary.read_text().replace(
            "description: a number plus one",
            "description: a number plus one\n        range: [5, 9]",
        )
    )
    with pytest.raises(
        ContractError, match=r"selected models of 'prod' failed.*nothing was recorded"
    ):
        prod.build("prod", select=["prod"])
    assert list_builds(prod.store, "prod") == []


RECIPE = "name: {name}\nowner: me\ninputs: {inputs}\noutputs: [{name}]\n"
COPY = """
from lakehouse.transform import model


@model(layer="product")
def {name}({source}):
    return {source}.select({column}={source}.{column})
"""


def product(project_dir: Path, name: str, source: str, column: str, inputs: str) -> None:
    write(
        project_dir,
        {
            "transforms/__init__.py": "",
            f"transforms/{name}/__init__.py": "",
            f"transforms/{name}/models.py": COPY.format(name=name, source=source, column=column),
            f"recipes/{name}.yml": RECIPE.format(name=name, inputs=inputs),
        },
    )


@pytest.fixture
def three(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """alpha reads zulu's output (so zulu comes first, against the alphabet); mike stands alone."""
    ingest(lake, tmp_path, "numbers", "n\n1\n2\n")
    ingest(lake, tmp_path, "letters", "letter\na\n")
    product(project_dir, "zulu", "numbers", "n", "{numbers: latest}")
    product(project_dir, "alpha", "zulu", "n", "{zulu: {product: zulu, output: zulu}}")
    product(project_dir, "mike", "letters", "letter", "{letters: latest}")
    return lake


def test_build_all_builds_each_product_after_the_products_it_reads(three: Lakehouse) -> None:
    # alphabetical, except that a product waits for the products it reads
    assert product_order(three.config.recipes_dir) == ["zulu", "alpha", "mike"]
    outcomes = list(three.build_all(latest=True))
    assert [(o.product, o.passed) for o in outcomes] == [
        ("zulu", True), ("alpha", True), ("mike", True)
    ]  # fmt: skip
    zulu = outcomes[0].result
    alpha_build = list_builds(three.store, "alpha")[-1]
    assert zulu is not None and alpha_build.lock.inputs["zulu"].version == zulu.build_id


def test_a_failed_product_skips_its_readers_and_the_others_go_on(
    three: Lakehouse, project_dir: Path
) -> None:
    broken = project_dir / "transforms" / "zulu" / "models.py"
    broken.write_text(broken.read_text().replace("numbers.n", "numbers.no_such_column"))
    outcomes = {o.product: o for o in three.build_all(latest=True)}
    assert outcomes["mike"].passed
    assert outcomes["zulu"].error is not None and "no_such_column" in str(outcomes["zulu"].error)
    assert outcomes["alpha"].skipped_for == "zulu" and outcomes["alpha"].result is None

    runner = CliRunner()
    said = runner.invoke(app, ["--config", str(project_dir / "lakehouse.toml"), "build", "--all"])
    assert said.exit_code == 1
    assert "skipped (reads zulu)" in said.output and "FAILED" in said.output


def test_recipes_that_read_each_other_in_a_cycle_are_refused(
    three: Lakehouse, project_dir: Path
) -> None:
    product(project_dir, "zulu", "alpha", "n", "{alpha: {product: alpha, output: alpha}}")
    with pytest.raises(
        ConfigError, match=r"in a cycle \((alpha -> zulu -> alpha|zulu -> alpha -> zulu)\)"
    ):
        product_order(three.config.recipes_dir)


def test_the_cli_asks_for_a_product_or_all_but_not_both(project_dir: Path) -> None:
    runner = CliRunner()
    config = ["--config", str(project_dir / "lakehouse.toml")]
    said = runner.invoke(app, [*config, "build"])
    assert said.exit_code == 1 and "Name the product to build" in said.output
    said = runner.invoke(app, [*config, "build", "prod", "--all"])
    assert said.exit_code == 1 and "give no product and no --select" in said.output


LONG = """
from lakehouse.transform import model


@model(layer="staging", materialized=True)
def numbers_cleaned_and_typed_for_the_product(numbers):
    return numbers.select(n=numbers.n.cast("int64"))


@model(layer="product")
def short(numbers_cleaned_and_typed_for_the_product):
    return numbers_cleaned_and_typed_for_the_product
"""


def test_the_build_and_plan_tables_stay_aligned_with_long_model_names(
    three: Lakehouse, project_dir: Path
) -> None:
    write(
        project_dir,
        {
            "transforms/short/__init__.py": "",
            "transforms/short/models.py": LONG,
            "recipes/short.yml": RECIPE.format(name="short", inputs="{numbers: latest}"),
        },
    )
    runner = CliRunner()
    config = ["--config", str(project_dir / "lakehouse.toml")]
    for command, word in (("plan", "rebuild"), ("build", "built")):
        said = runner.invoke(app, [*config, command, "short", "--latest"], env={"COLUMNS": "200"})
        assert said.exit_code == 0, said.output
        lines = [
            line
            for line in said.output.splitlines()
            if line.startswith("  ") and f" {word} " in line
        ]
        assert len(lines) == 2, said.output
        assert len({line.index(f" {word} ") for line in lines}) == 1, said.output


def test_build_all_builds_pluto_lite_then_mappluto_lite(tmp_path: Path) -> None:
    from tests.projects import mappluto_lite_project

    lake = mappluto_lite_project(tmp_path / "demo", lots=200)
    outcomes = list(lake.build_all())
    assert [(o.product, o.passed) for o in outcomes] == [
        ("pluto_lite", True), ("mappluto_lite", True)
    ]  # fmt: skip
    # pluto_lite's new build holds the same rows: mappluto_lite's lock is not stale for it
    assert lake.plan("mappluto_lite").stale == []


def test_a_product_input_with_other_rows_in_a_newer_build_is_stale(
    three: Lakehouse, tmp_path: Path
) -> None:
    three.lock("zulu")
    three.build("zulu")
    three.lock("alpha")
    assert three.plan("alpha").stale == []
    ingest(three, tmp_path, "numbers", "n\n1\n2\n3\n")
    three.lock("zulu")
    newer = three.build("zulu")
    (stale,) = three.plan("alpha").stale
    assert (stale.alias, stale.kind, stale.latest) == ("zulu", "product", newer.build_id)
