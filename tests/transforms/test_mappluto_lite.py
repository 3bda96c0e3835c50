"""MapPLUTO-lite's rules (docs/MAPPLUTO_LITE.md section 2) on small hand-made maps.

Lots are drawn by hand in EPSG:2263 near (X0, Y0); districts are drawn in EPSG:2263 too and
converted to EPSG:4326 by pyproj here, as the source gives them; the expected shares, areas and
rankings are worked out by hand from the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest
import shapely
from pyproj import Transformer

from lakehouse.spatial import load_spatial
from lakehouse.transform.builder import evaluate
from lakehouse.transform.models import load_models

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
X0, Y0 = 1_000_000.0, 200_000.0
TO_LONLAT = Transformer.from_crs("EPSG:2263", "EPSG:4326", always_xy=True)


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """A rectangle in feet east and north of (X0, Y0), as WKT in EPSG:2263."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return "POLYGON((" + ", ".join(f"{X0 + x} {Y0 + y}" for x, y in corners) + "))"


def district_box(x0: float, y0: float, x1: float, y1: float) -> str:
    """The same rectangle converted to EPSG:4326 longitude/latitude, as the GeoJSON holds it."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    points = [TO_LONLAT.transform(X0 + x, Y0 + y) for x, y in corners]
    return "POLYGON((" + ", ".join(f"{lon!r} {lat!r}" for lon, lat in points) + "))"


def bowtie(x0: float, y0: float, x1: float, y1: float) -> str:
    corners = [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]
    return "POLYGON((" + ", ".join(f"{X0 + x} {Y0 + y}" for x, y in corners) + "))"


LOTS = [  # bbl, borough, block, lot, lotarea (PLUTO-lite's output)
    (1000010001, "MN", 1, 1, 10000),
    (1000010002, "MN", 1, 2, 15000),
    (1000010003, "MN", 1, 3, 10000),
    (1000010004, "MN", 1, 4, 900),  # not on the tax map
    (1000010005, "MN", 1, 5, 10000),
    (1000010006, "MN", 1, 6, 10000),
]
PARTS = [  # bbl text, WKT
    ("1000010001", box(0, 0, 100, 100)),
    ("1000010002", box(200, 0, 300, 100)),  # two parts, 100 ft apart
    (" 1000010002", box(400, 0, 450, 100)),
    ("1000010003", bowtie(600, 0, 700, 100)),
    ("1000010005", box(800, 0, 900, 100)),
    ("1000010006", box(1000, 0, 1100, 100)),
    ("1000019901", box(0, -50, 20, -30)),  # a polygon without a lot
]
DISTRICTS = [  # zonedist, WKT in EPSG:4326
    ("R6", district_box(-50, -10, 60, 110)),  # 60% of lot 1
    ("C4-2", district_box(60, -10, 150, 110)),  # 40% of lot 1
    ("M1-1", district_box(150, -10, 500, 110)),  # all of lot 2
    (" r6 ", district_box(550, -10, 695, 110)),  # the bowtie's triangles but a sliver
    ("PARK", district_box(695, -10, 750, 110)),  # 5% of the bowtie lot's area
    ("R7A", district_box(850, -10, 950, 110)),  # lot 5: an exact 50/50 tie
    ("C1-6", district_box(750, -10, 850, 110)),
    ("R5", district_box(950, -10, 1030, 110)),  # lot 6: R5 twice (30% + 40%), R6 30%
    ("R5", district_box(1030, -10, 1070, 110)),
    ("R6", district_box(1070, -10, 1200, 110)),
    (None, district_box(-50, -10, 1200, 110)),  # no name: not zoning, whatever it covers
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    con = ibis.duckdb.connect()
    load_spatial(con.con, tmp_path_factory.mktemp("workspace"))

    def geo_table(rows: list[tuple[Any, Any]], name: str, key: str) -> ir.Table:
        values = ", ".join(
            f"({'NULL' if k is None else repr(k)}, ST_GeomFromText('{wkt}'))" for k, wkt in rows
        )
        return con.sql(f"SELECT * FROM (VALUES {values}) AS {name}({key}, geom)")

    lots = ibis.memtable(
        {name: [row[i] for row in LOTS] for i, name in
         enumerate(["bbl", "borough", "block", "lot", "lotarea"])}
    )  # fmt: skip
    models = load_models(TRANSFORMS, "mappluto_lite")
    inputs = {
        "pluto_lite": lots,
        "dtm_lots": geo_table(PARTS, "dtm_lots", "bbl"),
        "zoning_districts": geo_table(DISTRICTS, "zoning_districts", "zonedist"),
    }
    result = evaluate(models, inputs, "mappluto_lite", con=con).to_pylist()
    for row in result:
        row["geom"] = None if row["geom"] is None else shapely.from_wkb(row["geom"])
    return {row["bbl"]: row for row in result}


def test_one_row_per_pluto_lite_lot_in_bbl_order_without_orphan_shapes(
    built: dict[int, dict[str, Any]],
) -> None:
    assert list(built) == [row[0] for row in LOTS]
    assert list(built[1000010001]) == [
        "bbl", "borough", "block", "lot", "lotarea", "lotarea_gis", "zonedist1", "zonedist2",
        "splitzone", "longitude", "latitude", "geom",
    ]  # fmt: skip


def test_a_lot_split_60_40_gets_both_districts_largest_first(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010001]
    assert (lot["zonedist1"], lot["zonedist2"], lot["splitzone"]) == ("R6", "C4-2", True)
    assert lot["lotarea_gis"] == 10000.0
    assert lot["geom"].geom_type == "MultiPolygon" and len(lot["geom"].geoms) == 1


def test_a_lot_in_two_parts_is_one_multipolygon_with_both_areas(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010002]
    assert lot["geom"].geom_type == "MultiPolygon" and len(lot["geom"].geoms) == 2
    assert lot["lotarea_gis"] == 100 * 100 + 50 * 100
    assert (lot["zonedist1"], lot["zonedist2"], lot["splitzone"]) == ("M1-1", None, False)
    # the centroid of the two parts: area-weighted x of 250 and 425
    expected_x = (10000 * 250 + 5000 * 425) / 15000
    lon, lat = TO_LONLAT.transform(X0 + expected_x, Y0 + 50)
    assert lot["longitude"] == pytest.approx(round(lon, 7), abs=2e-7)
    assert lot["latitude"] == pytest.approx(round(lat, 7), abs=2e-7)


def test_a_bowtie_is_made_valid_and_a_five_percent_sliver_is_not_zoning(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010003]
    assert lot["geom"].is_valid and len(lot["geom"].geoms) == 2  # its two triangles
    assert lot["lotarea_gis"] == 5000.0
    # PARK (x 695-700) covers 50² - 45² = 475 of the right triangle: 9.5%, a sliver
    assert (lot["zonedist1"], lot["zonedist2"], lot["splitzone"]) == ("R6", None, False)


def test_a_lot_missing_from_the_tax_map_keeps_its_row_without_shape_or_zoning(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010004]
    assert lot["lotarea"] == 900
    for column in ("lotarea_gis", "zonedist1", "zonedist2", "longitude", "latitude", "geom"):
        assert lot[column] is None
    assert lot["splitzone"] is False


def test_an_exact_tie_goes_to_the_name_first_in_byte_order(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010005]
    assert (lot["zonedist1"], lot["zonedist2"], lot["splitzone"]) == ("C1-6", "R7A", True)


def test_a_district_drawn_twice_counts_once_with_its_shares_summed(
    built: dict[int, dict[str, Any]],
) -> None:
    lot = built[1000010006]  # R5 30% + 40% = 70% beats R6 30%
    assert (lot["zonedist1"], lot["zonedist2"], lot["splitzone"]) == ("R5", "R6", True)
    lon, lat = TO_LONLAT.transform(X0 + 1050, Y0 + 50)
    assert (lot["longitude"], lot["latitude"]) == (
        pytest.approx(round(lon, 7), abs=2e-7),
        pytest.approx(round(lat, 7), abs=2e-7),
    )
