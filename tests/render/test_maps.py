"""Maps as inline SVG drawn by our own code: one path per feature, y pointing up, samples of big
tables; and, on a geometry product built twice, the diff report mapping old and new shapes and
the docs site mapping the output, both opened in headless Chromium with nothing fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import init_project, load_config
from lakehouse.project import Lakehouse
from lakehouse.render.charts import NEW_COLOUR, REMOVED_COLOUR
from lakehouse.render.maps import MAX_FEATURES, Layer, map_svg, table_map
from lakehouse.spatial import load_spatial
from tests.browser import render
from tests.projects import EXTERNAL

FILL_OPACITY = 0.35  # of areas, as maps.py draws them


def paths(svg: str, css: str = "") -> list[str]:
    """The `d` of every feature path (of the layer `css`, if given)."""
    return re.findall(rf'<path class="feature {css or "[a-z]+"}"[^>]* d="([^"]*)"', svg)


def points(d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?[0-9.]+", d)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def test_one_path_per_feature_and_y_points_up() -> None:
    from shapely.geometry import LineString, Point, box

    square = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))"
    features = [square, box(20, 20, 30, 30), Point(25, 5), LineString([(0, 30), (30, 0)])]
    svg = map_svg("hand-made", [Layer("things", "thing", NEW_COLOUR, features)], "EPSG:2263")
    assert svg.startswith('<svg class="map"') and len(paths(svg, "thing")) == 4
    corners = points(paths(svg)[0])  # the square, in pixels: M x y L x y x y x y Z
    assert len(corners) == 4
    by_place = dict(zip([(0, 0), (10, 0), (10, 10), (0, 10)], corners, strict=True))
    assert by_place[(0, 0)][1] > by_place[(0, 10)][1]  # north is up: y flipped
    assert by_place[(0, 0)][0] < by_place[(10, 0)][0]  # east is right
    width = by_place[(10, 0)][0] - by_place[(0, 0)][0]
    height = by_place[(0, 0)][1] - by_place[(0, 10)][1]
    assert width == pytest.approx(height) and width > 100  # square, a third of the map
    upper = points(paths(svg)[1])  # the box at 20..30 lies above and right of the square
    assert min(y for _, y in upper) < min(y for _, y in corners)
    assert min(x for x, _ in upper) > max(x for x, _ in corners)
    assert "EPSG:2263, in ft (US)" in svg and "4 features drawn" in svg
    assert 'class="scale"' in svg and ">5 ft (US)<" in svg  # round, at most a quarter wide
    assert "<script" not in svg and "href" not in svg


def test_wkb_wkt_and_shapely_draw_alike_and_holes_stay_holes() -> None:
    import shapely

    holed = shapely.from_wkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))")
    drawn = {
        kind: map_svg("m", [Layer("one", "one", NEW_COLOUR, [value])], None)
        for kind, value in (("wkt", holed.wkt), ("wkb", shapely.to_wkb(holed)), ("shapely", holed))
    }
    assert drawn["wkt"] == drawn["wkb"] == drawn["shapely"]
    (d,) = paths(drawn["wkt"])
    assert d.count("M") == 2 and d.count("Z") == 2  # the ring and its hole, in one path
    assert 'fill-rule="evenodd"' in drawn["wkt"] and "CRS not recorded" in drawn["wkt"]


def test_a_big_table_is_sampled_the_same_way_every_time(tmp_path: Path) -> None:
    con = duckdb.connect()
    load_spatial(con, tmp_path)
    con.execute(
        "CREATE TABLE lots AS SELECT i AS id, ST_Buffer(ST_Point(1000000 + (i % 50) * 100, "
        "200000 + (i // 50) * 100), 30) AS geom FROM range(2500) AS t(i)"
    )
    first = table_map(con, "lots", "geom", "EPSG:2263", "lots")
    assert first == table_map(con, "lots", "geom", "EPSG:2263", "lots")
    assert len(paths(first)) == MAX_FEATURES
    assert f"{MAX_FEATURES:,} of 2,500 features drawn" in first
    assert len(first) < 400_000  # simplified to the pixel and rounded: a page stays small


# -- a geometry product built twice -----------------------------------------------------------

MODEL = """
from lakehouse.transform import model


@model(layer="product")
def sites(places):
    t = places
    return t.select(place_id=t.place_id.cast("int64"), geom=t.geom.buffer(40)).order_by(
        "place_id"
    )
"""
DICTIONARY = """product: sites
description: Places as 40 ft circles.
tables:
  sites:
    description: One row per place.
    primary_key: [place_id]
    columns:
      - {name: place_id, type: integer, description: Its id., nullable: false}
      - name: geom
        type: geometry
        description: A 40 ft circle around it.
        crs: EPSG:2263
        tolerance: 0.01
"""
BEFORE = {1: (1000000, 200000), 2: (1000300, 200000), 3: (1000000, 200300), 4: (1000300, 200300)}
AFTER = {  # 1 moved 5 ft, 2 kept, 3 nudged by 0.001 ft (within the tolerance), 4 gone, 5 new
    1: (1000003, 200004),
    2: (1000300, 200000),
    3: (1000000.001, 200300),
    5: (1000600, 200150),
}


def ingest_places(lake: Lakehouse, folder: Path, places: dict[int, tuple[float, float]]) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "places.geojson"
    gpd.GeoDataFrame(
        {"place_id": list(places)},
        geometry=[Point(x, y) for x, y in places.values()],
        crs="EPSG:2263",
    ).to_file(path, driver="GeoJSON")
    lake.ingest("places", file=path)


def sites_project(folder: Path, sources: Path) -> Lakehouse:
    """The one-product geometry project (the model `sites` on the GeoJSON source `places`),
    its first version (BEFORE, written under `sources`) archived and built."""
    init_project(folder)
    lake = Lakehouse(load_config(folder / "lakehouse.toml"))
    for made in (lake.config.templates_dir, lake.config.recipes_dir):
        made.mkdir(parents=True, exist_ok=True)
    (folder / "transforms" / "sites").mkdir(parents=True)
    (folder / "transforms" / "sites" / "__init__.py").write_text(MODEL)
    (lake.config.recipes_dir / "sites.yml").write_text(
        "name: sites\nowner: me\ninputs: {places: latest}\noutputs: [sites]\n"
    )
    (folder / "contracts" / "sites").mkdir(parents=True)
    (folder / "contracts" / "sites" / "dictionary.yml").write_text(DICTIONARY)
    ingest_places(lake, sources / "v1", BEFORE)
    assert lake.build("sites").contracts.passed
    return lake


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lakehouse, Path, Path]]:
    """The project, its diff report (written by `lake qa report diff sites`) and docs site."""
    root = tmp_path_factory.mktemp("maps")
    folder = root / "project"
    lake = sites_project(folder, root)
    ingest_places(lake, root / "v2", AFTER)
    assert lake.build("sites").contracts.passed
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = CliRunner().invoke(app, ["qa", "report", "diff", "sites"])
    assert result.exit_code == 0, result.output
    report = Path(result.output.split("wrote ")[1].split()[0])
    site = lake.docs(root / "site").folder
    yield lake, report, site


def test_a_geometry_build_diff_counts_the_move_not_the_nudge(
    built: tuple[Lakehouse, Path, Path],
) -> None:
    lake, _, _ = built
    (table,) = lake.diff("sites").tables
    assert (table.added, table.removed, table.changed) == (1, 1, 1)
    assert table.columns == {"geom": 1}
    (shift,) = table.geometry
    assert shift.crs == "EPSG:2263" and shift.tolerance == 0.01
    assert shift.moved_max == pytest.approx(5.0) and shift.area_shift == pytest.approx(0, abs=1e-6)
    assert [move.key for move in shift.sample] == [[1]]


def blend(colour: str, alpha: float, under: tuple[float, ...] = (255, 255, 255)) -> tuple:
    rgb = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    return tuple(alpha * c + (1 - alpha) * u for c, u in zip(rgb, under, strict=True))


def pixels_near(screenshot: Path, colour: tuple, within: float = 3) -> int:
    from PIL import Image

    with Image.open(screenshot) as image:
        return sum(
            count
            for count, rgb in image.convert("RGB").getcolors(1 << 24)
            if all(abs(a - b) <= within for a, b in zip(rgb, colour, strict=True))
        )


def test_the_diff_report_maps_old_and_new_shapes_in_chromium(
    built: tuple[Lakehouse, Path, Path], tmp_path: Path
) -> None:
    _, report, _ = built
    text = report.read_text()
    assert not EXTERNAL.search(text) and "<script" not in text
    page = render(report, tmp_path / "chromium", height=3000)
    assert page.page_requests == []
    dom = page.dom
    assert dom.count('<svg class="map"') == 1 and "sites.geom: what changed" in dom
    assert [len(paths(dom, css)) for css in ("removed", "old", "new", "added")] == [1, 1, 1, 1]
    assert len(paths(dom, "context")) == 4  # the new features around the changes
    legend = ["removed (old) (1)", "changed: old (1)", "changed: new (1)", "added (new) (1)"]
    figures = ["<b>1</b>rows moved", "<b>5</b>moved at most", "EPSG:2263, in ft (US)"]
    for words in legend + figures:
        assert words in dom, words
    # the removed circle (nothing under it) is filled red at the map's opacity
    assert pixels_near(page.screenshot, blend(REMOVED_COLOUR, FILL_OPACITY)) > 1000


def test_the_docs_page_maps_each_geometry_output_in_chromium(
    built: tuple[Lakehouse, Path, Path], tmp_path: Path
) -> None:
    lake, _, site = built
    page = render(site / "product-sites.html", tmp_path / "chromium", height=4000)
    assert page.page_requests == []
    dom = page.dom
    latest = lake.builds("sites")[-1].build_id
    assert "<h2>Maps</h2>" in dom and f"sites.geom, build {latest}" in dom
    assert len(paths(dom, "all")) == len(AFTER)  # one path per feature
    assert "EPSG:2263, in ft (US)" in dom and "4 features drawn" in dom
    assert "CRS EPSG:2263; a diff counts moves beyond 0.01" in dom  # the dictionary's rules
    assert pixels_near(page.screenshot, blend(NEW_COLOUR, FILL_OPACITY)) > 4 * 1000


def test_a_first_build_maps_every_row_as_added(built: tuple[Lakehouse, Path, Path]) -> None:
    lake, _, _ = built
    first = lake.builds("sites")[0].build_id
    url, found = lake.diff_report("sites", new=first)
    assert found.old == "nothing (the first build)"
    text = Path(url).read_text()
    assert len(paths(text, "added")) == len(BEFORE) and paths(text, "context") == []
    assert "sites.geom: every row added" in text
