"""MapPLUTO-lite's QA, as a GIS analyst sees it: a new tax map with one lot moved 5 ft, one
nudged by a thousandth of a foot and one gone is rebuilt; the diff counts the move (not the
nudge, within the dictionary's 0.01 ft tolerance) and its report maps it, and the docs page maps
the product; both opened in headless Chromium."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas
import pytest

from lakehouse.project import Lakehouse
from tests.browser import render
from tests.projects import EXTERNAL, mappluto_lite_project

LOTS = 800


def feature_paths(html: str, css: str) -> list[str]:
    return re.findall(rf'<path class="feature {css}"[^>]* d="([^"]*)"', html)


def redraw_tax_map(source: Path, target: Path) -> dict[str, str]:
    """The tax map with one single-part lot moved 5 ft east, one nudged 0.001 ft, and one
    removed; returns their BBLs."""
    parts = geopandas.read_file(source)
    single = parts[~parts.bbl.duplicated(keep=False) & parts.is_valid].bbl.tolist()
    moved, nudged, removed = single[10], single[20], single[30]
    for bbl, dx in ((moved, 5.0), (nudged, 0.001)):
        rows = parts.bbl == bbl
        parts.loc[rows, "geometry"] = parts.loc[rows].translate(xoff=dx)
    parts = parts[parts.bbl != removed]
    folder = target.parent / "shapefile"
    folder.mkdir(parents=True)
    parts.to_file(folder / "dtm_lots.shp", engine="pyogrio")
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return {"moved": moved, "nudged": nudged, "removed": removed}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, dict[str, str], Any]:
    folder = tmp_path_factory.mktemp("mappluto_qa")
    lake = mappluto_lite_project(folder, lots=LOTS, seed=8)
    lake.build("mappluto_lite")
    lake.diff_report("mappluto_lite")
    lake.publish("mappluto_lite")
    changed = redraw_tax_map(
        folder / "data" / "pluto_lite" / "dtm_lots.zip", folder / "redrawn" / "dtm_lots.zip"
    )
    lake.ingest("dtm_lots", file=folder / "redrawn" / "dtm_lots.zip")
    lake.lock("mappluto_lite")
    lake.build("mappluto_lite")
    url, diff = lake.diff_report("mappluto_lite")
    return lake, changed, (Path(url), diff)


def test_the_diff_counts_the_move_and_the_removed_shape_not_the_nudge(
    rebuilt: tuple[Lakehouse, dict[str, str], Any],
) -> None:
    _, changed, (_, diff) = rebuilt
    (table,) = diff.tables
    assert (table.added, table.removed) == (0, 0)  # every lot keeps its row
    (geometry,) = table.geometry
    assert geometry.changed == 2  # the move, and the lot that lost its shape
    assert (geometry.lost, geometry.gained) == (1, 0)
    assert geometry.moved_max == pytest.approx(5)  # the lost shape has no centroid to move
    assert geometry.area_shift is not None and geometry.area_shift < -1000  # its area is gone
    sampled = {str(move.key[0]) for move in geometry.sample}
    assert changed["moved"] in sampled and changed["nudged"] not in sampled


def test_the_diff_report_maps_the_changes_in_chromium(
    rebuilt: tuple[Lakehouse, dict[str, str], Any], tmp_path: Path
) -> None:
    _, _, (report, _) = rebuilt
    text = report.read_text()
    assert not EXTERNAL.search(text) and "<script" not in text
    page = render(report, tmp_path / "chromium", height=3000)
    assert page.page_requests == []
    assert page.dom.count('<svg class="map"') == 1
    assert "mappluto_lite.geom: what changed" in page.dom
    assert len(feature_paths(page.dom, "old")) == 2  # the moved lot's and the lost shape's
    assert len(feature_paths(page.dom, "new")) == 1  # the moved lot where it is now
    assert "EPSG:2263" in page.dom


def test_the_docs_page_maps_the_product_in_chromium(
    rebuilt: tuple[Lakehouse, dict[str, str], Any], tmp_path: Path
) -> None:
    lake, _, _ = rebuilt
    site = lake.docs(tmp_path / "site")
    page = render(site.folder / "product-mappluto_lite.html", tmp_path / "chromium")
    assert page.page_requests == []
    assert "<h2>Maps</h2>" in page.dom
    shapes = sum(1 for _ in feature_paths(page.dom, "[a-z]+"))
    assert LOTS * 0.98 < shapes <= LOTS  # every lot with a shape, one path each
