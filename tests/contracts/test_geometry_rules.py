"""The data dictionary's geometry rules (geometry_type, valid, empty: false, bbox) as product
contract rules: each on hand-written WKT, with its failing rows and sampled keys, severity,
pandera's own validate, and a build stopped (or warned) by them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pytest

from lakehouse.contracts.contract import check_table, dictionary_schema
from lakehouse.contracts.dictionary import TableEntry
from lakehouse.project import Lakehouse
from lakehouse.spatial import load_spatial
from lakehouse.transform.builder import ContractError

GEOM = {
    "name": "geom",
    "type": "geometry",
    "description": "The parcel's shape.",
    "crs": "EPSG:3857",  # its area of use holds the small coordinates used here
    "geometry_type": "MultiPolygon",
    "valid": True,
    "empty": False,
    "bbox": [0, 0, 10, 10],
}
SQUARE = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 1, 0 0)))"
BOWTIE = "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"  # self-intersecting
MULTI_BOWTIE = "MULTIPOLYGON (((0 0, 1 1, 1 0, 0 1, 0 0)))"
GEOMETRY_RULES = {"geom: geometry type", "geom: valid", "geom: not empty", "geom: bbox"}


def parcels_table(**geom: Any) -> TableEntry:
    return TableEntry(
        description="Parcels.",
        primary_key=["id"],
        columns=[
            {"name": "id", "type": "integer", "description": "Its id.", "nullable": False},
            {**GEOM, **geom},
        ],
    )


@pytest.fixture
def con(tmp_path: Path) -> Any:
    connection = ibis.duckdb.connect()
    load_spatial(connection.con, tmp_path / "workspace")
    yield connection
    connection.disconnect()


def parcels(con: Any, rows: dict[int, str | None]) -> Any:
    """A DuckDB table of parcels: id -> the WKT of its geometry (None: NULL)."""
    values = ", ".join(f"({i}, {'NULL' if wkt is None else repr(wkt)})" for i, wkt in rows.items())
    con.raw_sql(
        "CREATE OR REPLACE TABLE parcels AS SELECT CAST(id AS BIGINT) AS id, "
        f"ST_GeomFromText(wkt) AS geom FROM (VALUES {values}) AS v(id, wkt)"
    )
    return con.table("parcels")


def results(t: Any, table: TableEntry) -> dict[str, Any]:
    return {r.rule: r for r in check_table(t, "parcels", table).results}


def by_id(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(samples, key=lambda sample: sample["id"])


def test_each_geometry_rule_counts_its_failing_rows_and_samples_keys(con: Any) -> None:
    t = parcels(
        con,
        {
            1: SQUARE,
            2: MULTI_BOWTIE,  # invalid, nothing else
            3: "MULTIPOLYGON EMPTY",  # empty, nothing else
            4: "POLYGON ((2 2, 3 2, 3 3, 2 3, 2 2))",  # a Polygon, nothing else
            5: "POINT (50 50)",  # a Point, and outside the bbox
            6: None,  # nullable: no geometry rule applies
            7: "MULTIPOLYGON (((9 9, 11 9, 11 11, 9 11, 9 9)))",  # partly outside the bbox
            8: BOWTIE,  # a Polygon, and invalid
        },
    )
    found = results(t, parcels_table())
    kind = found["geom: geometry type"]
    assert (kind.passed, kind.failing_rows, kind.severity) == (False, 3, "error")
    assert by_id(kind.sample_keys) == [
        {"id": 4, "geom": "POLYGON ((2 2, 3 2, 3 3, 2 3, 2 2))"},
        {"id": 5, "geom": "POINT (50 50)"},
        {"id": 8, "geom": BOWTIE},
    ]
    valid = found["geom: valid"]
    assert (valid.passed, valid.failing_rows) == (False, 2)
    assert by_id(valid.sample_keys) == [{"id": 2, "geom": MULTI_BOWTIE}, {"id": 8, "geom": BOWTIE}]
    empty = found["geom: not empty"]
    assert (empty.passed, empty.failing_rows) == (False, 1)
    assert empty.sample_keys == [{"id": 3, "geom": "MULTIPOLYGON EMPTY"}]
    bbox = found["geom: bbox"]
    assert (bbox.passed, bbox.failing_rows) == (False, 2)
    assert by_id(bbox.sample_keys) == [
        {"id": 5, "geom": "POINT (50 50)", "geom extent": [50.0, 50.0, 50.0, 50.0]},
        {
            "id": 7,
            "geom": "MULTIPOLYGON (((9 9, 11 9, 11 11, 9 11, 9 9)))",
            "geom extent": [9.0, 9.0, 11.0, 11.0],
        },
    ]
    assert {rule: found[rule].detail for rule in GEOMETRY_RULES} == {
        "geom: geometry type": "is MultiPolygon",
        "geom: valid": "is a valid OGC geometry",
        "geom: not empty": "no empty geometries",
        "geom: bbox": "lies within [0, 0, 10, 10] in EPSG:3857",
    }
    assert found["parcels: columns"].passed and found["parcels: primary key"].passed


def test_a_clean_table_passes_every_geometry_rule(con: Any) -> None:
    t = parcels(
        con,
        {
            1: SQUARE,
            2: "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 10, 0 0)))",  # the bbox itself: edges count
            3: "MULTIPOLYGON (((1 1, 2 1, 2 2, 1 1)), ((5 5, 6 5, 6 6, 5 5)))",
            4: None,
        },
    )
    found = results(t, parcels_table())
    assert set(found) == GEOMETRY_RULES | {
        "id: not null", "parcels: primary key", "parcels: columns", "parcels: types",
        "geom: CRS area of use",
    }  # fmt: skip
    assert all(result.passed and result.failing_rows == 0 for result in found.values())


def test_a_column_without_geometry_rules_gets_none(con: Any) -> None:
    table = parcels_table(geometry_type=None, valid=False, empty=True, bbox=None)
    found = results(parcels(con, {1: BOWTIE, 2: "POINT EMPTY"}), table)
    assert not GEOMETRY_RULES & set(found)
    assert all(result.passed for result in found.values())


def test_an_allowed_empty_geometry_is_not_outside_the_bbox(con: Any) -> None:
    # DuckDB gives this one the extent [1.8e308, 1.8e308, -1.8e308, -1.8e308]
    t = parcels(con, {1: "GEOMETRYCOLLECTION (POINT EMPTY)", 2: "MULTIPOLYGON EMPTY"})
    found = results(t, parcels_table(geometry_type=None, empty=True))
    assert found["geom: bbox"].passed and found["geom: valid"].passed
    assert "geom: not empty" not in found


@pytest.mark.parametrize(
    ("declared", "wkt"),
    [
        ("Point", "POINT Z (1 2 3)"),
        ("MultiPoint", "MULTIPOINT ((1 2), (3 4))"),
        ("LineString", "LINESTRING (0 0, 1 1)"),
        ("MultiLineString", "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))"),
        ("Polygon", "POLYGON ((0 0, 1 0, 1 1, 0 0))"),
        ("MultiPolygon", SQUARE),
    ],
)
def test_each_geometry_type_matches_its_own_kind_only(con: Any, declared: str, wkt: str) -> None:
    t = parcels(con, {1: wkt, 2: "GEOMETRYCOLLECTION (POINT (1 1))"})
    found = results(t, parcels_table(geometry_type=declared))
    assert found["geom: geometry type"].failing_rows == 1
    assert found["geom: geometry type"].sample_keys == [
        {"id": 2, "geom": "GEOMETRYCOLLECTION (POINT (1 1))"}
    ]


def test_geometry_rules_of_severity_warn_do_not_block(con: Any) -> None:
    t = parcels(con, {1: BOWTIE, 2: "POINT EMPTY", 3: "POINT (-1 -1)"})
    report = check_table(t, "parcels", parcels_table(severity="warn"))
    assert report.passed
    assert {r.rule: r.failing_rows for r in report.warnings} == {
        "geom: geometry type": 3,
        "geom: valid": 1,
        "geom: not empty": 1,
        "geom: bbox": 1,
    }


def test_a_long_geometry_is_cut_short_in_a_sample(con: Any) -> None:
    zigzag = ", ".join(f"{x} {x % 2}" for x in range(40))
    t = parcels(con, {1: f"POLYGON (({zigzag}, 0 5, 0 0))"})
    (sample,) = results(t, parcels_table(bbox=None))["geom: geometry type"].sample_keys
    assert sample["geom"] == "POLYGON ((0 0, 1 1, 2 0, 3 1, 4 0, 5 1, 6 0, 7 1, 8 0, 9 ..."
    assert len(sample["geom"]) == 60


def test_pandera_validate_flags_the_same_rows(con: Any) -> None:
    from pandera.errors import SchemaErrors

    t = parcels(con, {1: SQUARE, 2: BOWTIE, 3: "MULTIPOLYGON EMPTY", 4: "POINT (50 50)"})
    with pytest.raises(SchemaErrors) as raised:
        dictionary_schema(parcels_table()).validate(t, lazy=True)
    cases = raised.value.failure_cases
    failed = {check: sorted(cases[cases["check"] == check]["index"]) for check in cases["check"]}
    assert failed == {  # the rows' positions
        "is MultiPolygon": [1, 3],
        "is a valid OGC geometry": [1],
        "no empty geometries": [2],
        "lies within [0, 0, 10, 10] in EPSG:3857": [3],
    }


# -- in a build --------------------------------------------------------------------------------

SITES = """site_id,longitude,latitude
1,-73.98,40.75
2,-73.95,40.65
3,2.35,48.85
"""

MODELS = """
from lakehouse.transform import model


@model(layer="product")
def sites(sites_source):
    t = sites_source
    return t.select(
        site_id=t.site_id.cast("int64"),
        geom=t.longitude.cast("float64").point(t.latitude.cast("float64")),
    ).order_by("site_id")
"""

DICTIONARY = """product: sites
tables:
  sites:
    description: One row per site.
    primary_key: [site_id]
    columns:
      - {name: site_id, type: integer, description: Its id., nullable: false}
      - name: geom
        type: geometry
        description: Where it is.
        crs: EPSG:4326
        geometry_type: Point
        valid: true
        empty: false
        bbox: [-74.26, 40.49, -73.69, 40.92]
        severity: error
"""


def test_a_site_outside_the_bbox_stops_the_build_and_a_warning_does_not(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    import json

    import pyarrow.parquet as pq

    source = tmp_path / "sites_source.csv"
    source.write_text(SITES)
    lake.ingest("sites_source", file=source)
    (project_dir / "transforms" / "sites").mkdir(parents=True)
    (project_dir / "transforms" / "sites" / "__init__.py").write_text(MODELS)
    (project_dir / "recipes" / "sites.yml").write_text(
        "name: sites\nowner: me\ninputs: {sites_source: latest}\noutputs: [sites]\n"
    )
    dictionary = project_dir / "contracts" / "sites" / "dictionary.yml"
    dictionary.parent.mkdir(parents=True)
    dictionary.write_text(DICTIONARY)

    with pytest.raises(ContractError, match=r"failed its product contract: sites\.geom: bbox \("):
        lake.build("sites")
    failed = lake.builds("sites")[-1]
    assert failed.status == "failed"
    assert set(failed.contracts.failed) == {"sites.geom: bbox"}
    folder = Path(lake.store.root) / "builds" / "sites" / failed.build_id / "contracts"
    rows = {row["rule"]: row for row in pq.read_table(folder / "report.parquet").to_pylist()}
    assert json.loads(rows["geom: bbox"]["sample_keys"]) == [
        {"site_id": 3, "geom": "POINT (2.35 48.85)", "geom extent": [2.35, 48.85, 2.35, 48.85]}
    ]
    assert all(rows[rule]["passed"] for rule in GEOMETRY_RULES - {"geom: bbox"})
    text = (folder / "report.txt").read_text()
    assert (
        "FAIL  sites.geom: bbox (lies within [-74.26, 40.49, -73.69, 40.92] in EPSG:4326)" in text
    )

    dictionary.write_text(DICTIONARY.replace("severity: error", "severity: warn"))
    built = lake.build("sites")
    assert built.contracts.passed
    assert [r.rule for r in built.contracts.warnings] == ["geom: bbox"]
    _, rechecked = lake.check("sites")  # on the GeoParquet output, from the dictionary
    assert {r.rule for r in rechecked.results if r.passed} >= GEOMETRY_RULES - {"geom: bbox"}
    assert [(r.rule, r.failing_rows) for r in rechecked.warnings] == [("geom: bbox", 1)]


@pytest.mark.parametrize(
    ("crs", "wkt"),
    [
        ("EPSG:4326", "POINT (987000 195000)"),  # State Plane feet labelled longitude/latitude
        ("EPSG:2263", "POINT (-73.98 40.75)"),  # longitude/latitude labelled State Plane
    ],
)
def test_coordinates_that_do_not_fit_the_declared_crs_fail_its_area_of_use(
    con: Any, crs: str, wkt: str
) -> None:
    table = parcels_table(crs=crs, geometry_type=None, valid=False, empty=True, bbox=None)
    found = results(parcels(con, {1: wkt}), table)
    rule = found["geom: CRS area of use"]
    assert not rule.passed and rule.failing_rows == 1
    assert f"coordinates fit {crs}, within its area of use" in rule.detail


def test_coordinates_in_their_crs_pass_its_area_of_use(con: Any) -> None:
    lots = {1: "POINT (987000 195000)", 2: "POINT (1060000 270000)"}  # Midtown, Queens edge
    table = parcels_table(crs="EPSG:2263", geometry_type=None, valid=False, bbox=None)
    assert results(parcels(con, lots), table)["geom: CRS area of use"].passed
