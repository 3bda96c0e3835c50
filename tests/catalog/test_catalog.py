"""`lake catalog`: products and datasets as they are now, and one in detail."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.catalog.catalog import DatasetEntry, ProductEntry
from lakehouse.cli import app
from lakehouse.errors import NotFoundError
from tests.projects import make_project


def test_the_catalog_lists_products_and_datasets(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=150)
    products, datasets = lake.catalog()
    (product,) = products
    assert (product.name, product.builds, product.latest_build) == ("pluto_lite", 0, None)
    assert product.inputs["dof_pts"] == "dof_pts latest"
    assert product.dictionary is not None
    assert [d.name for d in datasets] == ["dob_jobs", "dof_pts", "landmarks", "zoning_lots"]
    result = lake.build("pluto_lite")
    product = lake.catalog_entry("pluto_lite")
    assert isinstance(product, ProductEntry)
    assert (product.latest_build, product.latest_status) == (result.build_id, "passed")
    dataset = lake.catalog_entry("dof_pts")
    assert isinstance(dataset, DatasetEntry)
    assert dataset.rows == lake.manifest("dof_pts").row_count
    with pytest.raises(NotFoundError, match="Nothing called 'nope'"):
        lake.catalog_entry("nope")


def test_lake_catalog_shows_the_dictionary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path / "p", lots=100)
    monkeypatch.chdir(tmp_path / "p")
    runner = CliRunner()
    listed = runner.invoke(app, ["catalog"])
    assert listed.exit_code == 0, listed.output
    assert "1 product(s)" in listed.output and "4 dataset(s)" in listed.output
    detail = runner.invoke(app, ["catalog", "pluto_lite"])
    assert "Borough-block-lot" in detail.output
    assert "owner: Data Engineering" in detail.output
    dataset = runner.invoke(app, ["catalog", "landmarks"])
    assert "landmarks" in dataset.output and "versions:" in dataset.output
