"""The definitions generated from a project's templates and recipes: an asset per source and
per product with the recipe's inputs as dependencies; they load as Dagster loads them; only
`lakehouse.dagster` imports Dagster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSpec, Definitions

from lakehouse.dagster import definitions, product_key, source_key
from lakehouse.errors import ConfigError
from lakehouse.project import Lakehouse
from lakehouse.transform.recipe import DatasetInput, ProductInput

SUMMARY_RECIPE = """\
name: lots_by_borough
owner: Planning Analytics
description: Lots per borough.
inputs:
  lots: {product: pluto_lite, output: pluto_lite}
  boroughs: {seed: boroughs}
outputs: [lots_by_borough]
"""


def specs(defs: Definitions) -> dict[AssetKey, AssetSpec]:
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def expected_deps(lake: Lakehouse, product: str) -> set[AssetKey]:
    """The assets a product's recipe reads: its datasets' and its products'."""
    deps = set()
    for wanted in lake.recipe(product).inputs.values():
        if isinstance(wanted, DatasetInput):
            deps.add(source_key(wanted.dataset))
        elif isinstance(wanted, ProductInput):
            deps.add(product_key(wanted.product))
    return deps


def test_an_asset_per_template_and_per_recipe_depending_on_what_the_recipe_reads(
    pluto: Lakehouse,
) -> None:
    (pluto.config.recipes_dir / "lots_by_borough.yml").write_text(SUMMARY_RECIPE)
    found = specs(definitions(pluto.config.project_dir))
    sources = {source_key(dataset) for dataset in pluto.templates()}
    products = {product_key("pluto_lite"), product_key("lots_by_borough")}
    assert set(found) == sources | products
    assert len(sources) == 6
    for key in sources:
        dataset = key.path[-1]
        assert found[key].group_name == "sources"
        assert found[key].deps == []
        assert found[key].description == pluto.template(dataset).description.strip()
        assert found[key].metadata["cadence"] == pluto.template(dataset).cadence.text
    for product in ("pluto_lite", "lots_by_borough"):
        spec = found[product_key(product)]
        assert spec.group_name == "products"
        assert {dep.asset_key for dep in spec.deps} == expected_deps(pluto, product)
    assert expected_deps(pluto, "pluto_lite") == {
        source_key(d) for d in ("dof_pts", "zoning_lots", "dob_jobs", "landmarks")
    }
    assert found[product_key("pluto_lite")].owners == ["data-engineering@planning.example.org"]
    assert found[product_key("lots_by_borough")].owners == []  # no address in its owner


def test_the_definitions_load_as_dagster_loads_them(defs: Definitions) -> None:
    Definitions.validate_loadable(defs)
    assert [sensor.name for sensor in defs.sensors or []] == ["lakehouse_upstream_sensor"]


def test_the_project_can_be_named_by_its_folder_its_file_or_the_environment(
    pluto: Lakehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = pluto.config.project_dir
    expected = {source_key(d) for d in pluto.templates()} | {product_key("pluto_lite")}
    by_file = definitions(str(folder / "lakehouse.toml"))
    assert set(by_file.resolve_all_asset_keys()) == expected
    monkeypatch.chdir(folder / "recipes")  # found upwards from here
    assert set(definitions().resolve_all_asset_keys()) == expected
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKEHOUSE_CONFIG", str(folder / "lakehouse.toml"))
    assert set(definitions().resolve_all_asset_keys()) == expected


def test_without_a_project_it_says_where_it_looked_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"set LAKEHOUSE_CONFIG to the project's lakehouse\.toml"):
        definitions()


def test_a_broken_recipe_is_refused_in_a_sentence_naming_its_file(pluto: Lakehouse) -> None:
    path = pluto.config.recipes_dir / "pluto_lite.yml"
    path.write_text(path.read_text().replace("owner:", "ownr:"))
    with pytest.raises(ConfigError, match=r"pluto_lite\.yml.*unknown field 'ownr'"):
        definitions(pluto.config.project_dir)


def test_the_module_for_dagster_dev_loads_the_project_of_the_current_folder(
    pluto: Lakehouse,
) -> None:
    code = (
        "from lakehouse.dagster.project import defs;"
        "print(sorted(key.to_user_string() for key in defs.resolve_all_asset_keys()))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_CONFIG"}
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=pluto.config.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    keys = [f"raw/{dataset}" for dataset in pluto.templates()] + ["pluto_lite"]
    assert output.stdout.strip() == str(sorted(keys))


def test_importing_lakehouse_does_not_import_dagster() -> None:
    code = (
        "import sys, lakehouse, lakehouse.project, lakehouse.schedule.update, lakehouse.cli;"
        "print('dagster' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_without_dagster_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['dagster'] = None\n"  # as if it were not installed
        "from lakehouse.errors import ConfigError\n"
        "try:\n    import lakehouse.dagster\n"
        "except ConfigError as exc:\n    print(exc)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == (
        "Dagster is not installed; install the extra with pip install 'lakehouse[dagster]'."
    )
