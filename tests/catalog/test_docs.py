"""`lake docs`: the static site, checked as files and in a real headless browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from tests.browser import pixels_of, render
from tests.projects import EXTERNAL, make_project

PRODUCT_BOX = (0xFC, 0xE8, 0xE6)  # lineage.LAYER_COLOURS["product"]
STAGING_BOX = (0xE6, 0xF4, 0xEA)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, Path]:
    lake = make_project(tmp_path_factory.mktemp("docs") / "p", lots=200)
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    folder = Path(lake.config.workspace_dir) / "site"
    lake.docs(folder)
    return lake, folder


def test_the_site_has_an_index_a_page_per_product_and_per_dataset(
    site: tuple[Lakehouse, Path],
) -> None:
    _, folder = site
    assert sorted(p.name for p in folder.iterdir()) == [
        "dataset-dob_jobs.html", "dataset-dof_pts.html", "dataset-landmarks.html",
        "dataset-zoning_lots.html", "index.html", "product-pluto_lite.html",
    ]  # fmt: skip
    index = (folder / "index.html").read_text()
    assert "href='product-pluto_lite.html'" in index and "href='dataset-dof_pts.html'" in index
    for page in folder.iterdir():
        text = page.read_text()
        assert not EXTERNAL.search(text), f"{page.name} refers to something outside itself"
    product = (folder / "product-pluto_lite.html").read_text()
    assert "Rows of pluto_lite decided by:" in product
    assert "join key in pluto_lite: dob_jobs.bbl, dof_pts.bbl, landmarks.bbl, zoning_lots.bbl" in (
        product
    )
    dataset = (folder / "dataset-dof_pts.html").read_text()
    assert "8/8 checks passed" in dataset or "checks passed" in dataset  # raw contract summary
    assert "owner_name" in dataset  # the latest version's columns


def test_the_product_page_opens_in_headless_chromium_with_nothing_fetched(
    site: tuple[Lakehouse, Path], tmp_path: Path
) -> None:
    lake, folder = site
    page = render(folder / "product-pluto_lite.html", tmp_path / "chromium", height=6000)
    assert page.page_requests == []
    dom = page.dom
    # the dictionary, as a planner reads it
    assert "Data dictionary" in dom
    assert "Borough-block-lot: the tax lot's 10-digit identifier" in dom
    assert "traced from (lineage)" in dom
    # the lineage drawing, and column lineage
    assert dom.count('class="node"') == 12
    for node in ("stg_dof_pts", "zoning_by_lot", "dob_jobs 2"):
        assert node in dom
    assert "dof_pts.bldg_area, dof_pts.land_area" in dom  # far's sources
    # the latest build's contract results
    build_id = lake.builds("pluto_lite")[-1].build_id
    assert build_id in dom
    assert "pluto_lite: primary key" in dom and "stg_dof_pts: unique" in dom
    # the drawing rendered: its product and staging boxes are on the screenshot
    assert pixels_of(page.screenshot, PRODUCT_BOX) > 2000
    assert pixels_of(page.screenshot, STAGING_BOX) > 4 * 2000


def test_the_request_check_sees_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "fetching.html"
    page.write_text("<html><body><img src='http://example.invalid/logo.png'></body></html>")
    assert render(page, tmp_path / "chromium").page_requests == ["http://example.invalid/logo.png"]


def test_lake_docs_writes_the_site_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = make_project(tmp_path / "p", lots=100)  # archived, never built
    monkeypatch.chdir(tmp_path / "p")
    result = CliRunner().invoke(app, ["docs"])
    assert result.exit_code == 0, result.output
    index = Path(lake.config.workspace_dir) / "docs" / "index.html"
    assert f"open {index.resolve().as_uri()}" in result.output
    product = (index.parent / "product-pluto_lite.html").read_text()
    assert "Not built yet: run <code>lake build pluto_lite</code>" in product
    assert "stg_dof_pts" in product  # lineage from the latest versions, without a build


def test_the_site_gets_the_builds_and_contract_rows_as_data(
    site: tuple[Lakehouse, Path], tmp_path: Path
) -> None:
    from lakehouse.catalog.docs import ProductBuilds, SiteContent, product_builds, write_docs

    lake, _ = site
    gathered = product_builds(lake.store, "pluto_lite")
    latest = lake.builds("pluto_lite")[-1]
    assert gathered.latest is not None and gathered.latest.build_id == latest.build_id
    assert "pluto_lite: primary key" in [row["rule"] for row in gathered.contract_rows]
    assert product_builds(lake.store, "never_built") == ProductBuilds()
    # the page writer reads nothing from the store: what it is given is what it shows
    products, datasets = lake.catalog()
    row = {
        "passed": False, "severity": "error", "layer": "product", "table": "pluto_lite",
        "rule": "a rule made up here", "detail": "", "failing_rows": 3, "sample_keys": None,
    }  # fmt: skip
    given = SiteContent(products, datasets, {}, {}, {"pluto_lite": ProductBuilds([latest], [row])})
    page = (write_docs(given, tmp_path / "site").folder / "product-pluto_lite.html").read_text()
    assert "a rule made up here" in page and "FAIL" in page
    assert "pluto_lite: primary key" not in page.split("Latest contract results")[1]
