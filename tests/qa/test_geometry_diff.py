"""Build diffs of geometry columns, on hand-written GeoParquet files (EPSG:2263, as builds write
them): equal, or changed only beyond the dictionary's tolerance; a changed row says how far its
centroid moved and how its area shifted, and the table sums it up."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pytest

from lakehouse.contracts.dictionary import Dictionary
from lakehouse.qa.diff import Side, diff_builds, diff_table
from lakehouse.qa.geometry_diff import GeometryMove
from lakehouse.qa.records import DiffRecord
from lakehouse.spatial import load_spatial

SQUARE = (
    "POLYGON ((1000000 200000, 1000100 200000, 1000100 200100, 1000000 200100, 1000000 200000))"
)
MOVED_3_4 = (  # the square, 3 ft east and 4 ft north: 5 ft away
    "POLYGON ((1000003 200004, 1000103 200004, 1000103 200104, 1000003 200104, 1000003 200004))"
)
ROUND_TRIP = (  # 2263 -> 4326 -> 2263: every coordinate a few nanofeet off
    "ST_Transform(ST_Transform(geom, 'EPSG:2263', 'EPSG:4326', always_xy := true), "
    "'EPSG:4326', 'EPSG:2263', always_xy := true)"
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture
def con(workspace: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def write(
    workspace: Path, path: Path, rows: Sequence[tuple[int, str | None]], geom: str = "geom"
) -> str:
    """A GeoParquet file of (k, geom) rows, the geometry given as WKT in EPSG:2263; `geom` is
    the SQL that makes the stored geometry from the column `geom` (e.g. a reprojection)."""
    writer = duckdb.connect()
    load_spatial(writer, workspace)
    values = ", ".join(f"({k}, {'NULL' if wkt is None else repr(wkt)})" for k, wkt in rows)
    writer.execute(
        f"COPY (SELECT k::BIGINT AS k, ST_SetCRS({geom}, 'EPSG:2263') AS geom FROM "
        f"(SELECT k, ST_GeomFromText(wkt) AS geom FROM (VALUES {values}) AS t(k, wkt))) "
        f"TO '{path}'"
    )
    writer.close()
    return str(path)


def test_a_polygon_moved_by_5_feet_is_changed_with_the_distance_it_moved(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    old = write(workspace, tmp_path / "o.parquet", [(1, SQUARE), (2, "POINT (990000 190000)")])
    new = write(workspace, tmp_path / "n.parquet", [(1, MOVED_3_4), (2, "POINT (990000 190000)")])
    diff = diff_table(con, "t", ["k"], old, new, tolerances={"geom": 0.01}, workspace=workspace)
    assert not diff.identical
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 1)
    assert diff.columns == {"geom": 1}
    assert diff.changed_sample == [{"k": 1, "geom": [SQUARE, MOVED_3_4]}]  # as WKT
    (shift,) = diff.geometry
    assert (shift.column, shift.crs, shift.tolerance, shift.changed) == ("geom", "EPSG:2263",
                                                                         0.01, 1)  # fmt: skip
    assert shift.moved_max == pytest.approx(5.0) and shift.moved_mean == pytest.approx(5.0)
    assert shift.area_shift == pytest.approx(0.0) and shift.area_shift_max == pytest.approx(0.0)
    assert (shift.old_area, shift.new_area) == (10_000.0, 10_000.0)
    assert shift.old_bbox == [990000.0, 190000.0, 1000100.0, 200100.0]
    assert shift.new_bbox == [990000.0, 190000.0, 1000103.0, 200104.0]
    assert shift.sample == [GeometryMove([1], pytest.approx(5.0), pytest.approx(0.0))]


def test_a_move_within_the_tolerance_is_no_change_and_without_one_it_is(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    old = write(workspace, tmp_path / "o.parquet", [(1, "POINT (990000 190000)"), (2, SQUARE)])
    nudged = SQUARE.replace("1000100 200100", "1000100.001 200100")  # one corner, 0.001 ft
    new = write(workspace, tmp_path / "n.parquet", [(1, "POINT (990000.001 190000)"), (2, nudged)])
    within = diff_table(con, "t", ["k"], old, new, tolerances={"geom": 0.01}, workspace=workspace)
    assert within.identical and within.changed == 0
    exact = diff_table(con, "t", ["k"], old, new, workspace=workspace)  # no tolerance
    assert exact.changed == 2 and exact.columns == {"geom": 2}
    (shift,) = exact.geometry
    assert shift.tolerance == 0.0 and shift.moved_max == pytest.approx(0.001, rel=1e-3)


def test_a_reprojection_round_trip_is_no_change_within_a_hundredth_of_a_foot(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    rows: list[tuple[int, str | None]] = [
        (1, SQUARE),
        (2, "POINT (990000 190000)"),
        (3, "LINESTRING (980000 180000, 985000 181000, 990000 179000)"),
        (4, "MULTIPOLYGON (((1010000 210000, 1010050 210000, 1010050 210050, 1010000 210000)), "
            "((1011000 211000, 1011050 211000, 1011050 211050, 1011000 211000)))"),
        (5, "POLYGON ((1020000 220000, 1020200 220000, 1020200 220200, 1020000 220200, "
            "1020000 220000), (1020050 220050, 1020050 220100, 1020100 220100, 1020050 220050))"),
        (6, None),
    ]  # fmt: skip
    old = write(workspace, tmp_path / "o.parquet", rows)
    new = write(workspace, tmp_path / "n.parquet", rows, geom=ROUND_TRIP)
    check = duckdb.connect()
    load_spatial(check, workspace)
    assert check.execute(  # the round trip did move every vertex a little
        f"SELECT count(*) FROM read_parquet('{old}') o JOIN read_parquet('{new}') n USING (k) "
        "WHERE ST_AsText(o.geom) <> ST_AsText(n.geom)"
    ).fetchone() == (5,)
    diff = diff_table(con, "t", ["k"], old, new, tolerances={"geom": 0.01}, workspace=workspace)
    assert diff.identical, diff
    exact = diff_table(con, "t", ["k"], old, new, workspace=workspace)
    assert exact.columns == {"geom": 5}


def test_same_shapes_with_other_vertices_are_equal_within_the_tolerance_and_a_hole_is_not(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    densified = (  # extra points on two edges, another start vertex, 0.002 ft off
        "POLYGON ((1000100 200000.002, 1000100 200050, 1000100 200100, 1000000 200100, "
        "1000000 200000, 1000050 200000, 1000100 200000.002))"
    )
    hole = "(1000040 200040, 1000060 200040, 1000060 200060, 1000040 200060, 1000040 200040)"
    holed = f"{SQUARE.removesuffix(')')}, {hole})"  # in the middle: the centroid stays
    bowtie = "POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))"  # invalid: its edges cross
    other_bowtie = "POLYGON ((0 0, 10 10, 10 0, 5 5, 0 10, 0 0))"
    nudged_bowtie = "POLYGON ((0 0, 10 10, 10 0, 0 10.001, 0 0))"
    before = [(1, SQUARE), (2, SQUARE), (3, bowtie), (4, bowtie), (5, "POINT EMPTY")]
    after = [(1, densified), (2, holed), (3, nudged_bowtie), (4, other_bowtie), (5, "POINT EMPTY")]
    old = write(workspace, tmp_path / "o.parquet", before)
    new = write(workspace, tmp_path / "n.parquet", after)
    diff = diff_table(con, "t", ["k"], old, new, tolerances={"geom": 0.01}, workspace=workspace)
    assert [row["k"] for row in diff.changed_sample] == [2, 4]  # the hole; another bowtie
    (shift,) = diff.geometry
    assert shift.changed == 2
    assert shift.sample[0] == GeometryMove([2], pytest.approx(0.0), pytest.approx(-400.0))


def test_added_removed_and_emptied_rows(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    before = [(1, SQUARE), (2, "POINT (1 1)"), (3, None), (4, "POINT (5 5)")]
    after = [(1, None), (2, "POINT (1 1)"), (3, "POINT (2 2)"), (5, "POINT (6 6)")]
    old = write(workspace, tmp_path / "o.parquet", before)
    new = write(workspace, tmp_path / "n.parquet", after)
    diff = diff_table(con, "t", ["k"], old, new, tolerances={"geom": 0.01}, workspace=workspace)
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 2)
    assert diff.added_sample == [{"k": 5}] and diff.removed_sample == [{"k": 4}]
    assert diff.changed_sample == [{"k": 1, "geom": [SQUARE, None]},
                                   {"k": 3, "geom": [None, "POINT (2 2)"]}]  # fmt: skip
    (shift,) = diff.geometry
    assert shift.changed == 2 and shift.moved_max is None  # nothing to measure against NULL
    assert (shift.lost, shift.gained) == (1, 1)
    # a lost shape's area is gone (NULL counts as no area); a point has none to gain
    assert shift.sample == [GeometryMove([1], None, -10_000.0), GeometryMove([3], None, 0.0)]


def test_the_dictionary_tolerance_applies_to_a_build_diff_and_is_recorded(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    old = write(workspace, tmp_path / "o.parquet", [(1, SQUARE), (2, "POINT (990000 190000)")])
    new = write(workspace, tmp_path / "n.parquet",
                [(1, MOVED_3_4), (2, "POINT (990000.001 190000)")])  # fmt: skip
    columns = [
        {"name": "k", "type": "integer", "description": "k"},
        {"name": "geom", "type": "geometry", "description": "where", "crs": "EPSG:2263",
         "tolerance": 0.01},
    ]  # fmt: skip
    dictionary = Dictionary(
        product="p", tables={"t": {"description": "t", "primary_key": ["k"], "columns": columns}}
    )

    def side(label: str, url: str) -> Side:
        return Side("p", label, {"t": {"url": url, "content_sha256": None, "rows": 2}})

    found = diff_builds(dictionary, side("old", old), side("new", new), con, workspace)
    (table,) = found.tables
    assert table.columns == {"geom": 1}  # the point moved 0.001 ft: within the tolerance
    text = found.to_text()
    assert ("geom: 1 row(s) changed (moved more than 0.01 EPSG:2263 units); centroids moved up "
            "to 5 (mean 5); area +0 in all") in text  # fmt: skip
    again = DiffRecord.from_json(DiffRecord.of(found).to_json(None), "diff.json")
    assert again.tables[0].geometry[0].moved_max == pytest.approx(5.0)
    assert again.tables[0].geometry[0].sample[0].key == [1]


def test_a_long_geometry_is_cut_short_in_the_changed_sample(
    con: duckdb.DuckDBPyConnection, workspace: Path, tmp_path: Path
) -> None:
    circle = duckdb.connect()
    load_spatial(circle, workspace)
    (wkt,) = circle.execute("SELECT ST_AsText(ST_Buffer(ST_Point(990000, 190000), 50))").fetchone()
    moved = wkt.replace("990", "991")
    old = write(workspace, tmp_path / "o.parquet", [(1, wkt)])
    new = write(workspace, tmp_path / "n.parquet", [(1, moved)])
    diff = diff_table(con, "t", ["k"], old, new, workspace=workspace)
    ((before, after),) = [row["geom"] for row in diff.changed_sample]
    assert len(before) == len(after) == 120 and before.endswith("…")
    assert before.startswith(wkt[:119]) and after.startswith(moved[:119])
