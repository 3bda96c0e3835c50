"""Geometry from the columns of a text source (`format.geometry:` of csv, json and excel): WKT,
hex WKB or an x/y pair, with the template's CRS, archived as GeoParquet beside the source's own
columns; an empty value is a NULL geometry, an unparseable one too and is counted, an invalid
one is archived as it is and counted. Each through a real ingest, read back with geopandas."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point, Polygon

from lakehouse.archive.template import load_template
from lakehouse.errors import ConfigError, FormatError
from lakehouse.formats.csv import CsvFormat
from lakehouse.project import Lakehouse
from tests.conftest import realdata, write_template
from tests.formats.samples import data_path

BOWTIE = "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"  # self-intersecting: invalid
SQUARE = "POLYGON ((-74 40.7, -73.9 40.7, -73.9 40.8, -74 40.8, -74 40.7))"
SITES_CSV = (
    "id,the_geom\n"
    "1,POINT (-73.99 40.73)\n"
    f'2,"{SQUARE}"\n'
    f'3,"{BOWTIE}"\n'
    "4,\n"  # empty: a NULL geometry, not counted
    "5,POINT (1\n"  # truncated: a NULL geometry, counted
    '6,"   "\n'  # blanks are empty too
)


def template(project_dir: Path, name: str, path: Path, fmt: str, steps: str = "") -> Path:
    return write_template(
        project_dir,
        name,
        f"name: {name}\nsource: {{type: file, path: {path}}}\nformat: {fmt}\n{steps}",
    )


def ingest_sites(lake: Lakehouse, project_dir: Path, tmp_path: Path, steps: str = "") -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_CSV)
    fmt = "{type: csv, geometry: {wkt: the_geom, crs: 'EPSG:4326'}}"
    template(project_dir, "sites", path, fmt, steps)
    lake.ingest("sites")
    return data_path(lake, "sites")


def test_wkt_is_archived_as_geoparquet_beside_its_text(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    data = ingest_sites(lake, project_dir, tmp_path)
    manifest = lake.manifest("sites")
    assert (manifest.geometry_column, manifest.geometry_crs) == ("geom", "EPSG:4326")
    assert (manifest.invalid_geometries, manifest.unparsed_geometries) == (1, 1)
    assert manifest.geometry_summary() == "geom EPSG:4326, 1 invalid, 1 unparsed"
    assert [(c.name, c.type) for c in manifest.columns] == [
        ("id", "VARCHAR"),
        ("the_geom", "VARCHAR"),
        ("geom", "GEOMETRY"),
    ]
    assert manifest.steps[0] == {
        "step": "geometry",
        "from": {"wkt": "the_geom"},
        "crs": "EPSG:4326",
        "column": "geom",
        "unparsed": 1,
        "unparsed_sample": ["POINT (1"],
    }
    geo = json.loads(pq.read_schema(data).metadata[b"geo"])
    assert geo["primary_column"] == "geom"
    assert geo["columns"]["geom"]["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    frame = gpd.read_parquet(data)
    assert frame.crs.to_epsg() == 4326
    assert lake.read("sites").column("the_geom").to_pylist() == [
        "POINT (-73.99 40.73)", SQUARE, BOWTIE, None, "POINT (1", "   "
    ]  # fmt: skip
    shapes = list(frame.geometry)
    assert shapes[0].equals(Point(-73.99, 40.73))
    assert shapes[1].equals(Polygon([(-74, 40.7), (-73.9, 40.7), (-73.9, 40.8), (-74, 40.8)]))
    assert shapes[2].wkt == BOWTIE and not shapes[2].is_valid  # archived as it came
    assert shapes[3:] == [None, None, None]


def test_lon_lat_columns_make_points(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "libraries.csv"
    path.write_text(
        "name,longitude,latitude\n"
        "A,-73.9532,40.8028\n"
        "B, -73.9354 , 40.8034 \n"  # blanks around numbers are fine
        "C,,\n"  # both empty: no geometry, nothing counted
        "D,n/a,40.7\n"  # not a number: counted
        "E,-73.9,\n"  # half a pair: counted
        "F,inf,40.7\n"  # not finite: counted
    )
    fmt = "{type: csv, geometry: {x: longitude, y: latitude, crs: 'EPSG:4326'}}"
    template(project_dir, "libraries", path, fmt)
    manifest = lake.ingest("libraries").manifest
    assert (manifest.invalid_geometries, manifest.unparsed_geometries) == (0, 3)
    assert manifest.steps[0]["from"] == {"x": "longitude", "y": "latitude"}
    assert manifest.steps[0]["unparsed_sample"] == ["-73.9 ", "inf 40.7", "n/a 40.7"]
    frame = gpd.read_parquet(data_path(lake, "libraries"))
    assert frame.crs.to_epsg() == 4326
    assert [(g.x, g.y) for g in frame.geometry[:2]] == [(-73.9532, 40.8028), (-73.9354, 40.8034)]
    assert list(frame.geometry[2:]) == [None] * 4
    assert lake.read("libraries").column("longitude").to_pylist() == [
        "-73.9532", " -73.9354 ", None, "n/a", "-73.9", "inf"
    ]  # fmt: skip


def test_hex_wkb_in_json_records(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    point = Point(987_000, 190_000)
    records = [
        {"bbl": "1", "shape": point.wkb_hex},
        {"bbl": "2", "shape": "\\x" + point.wkb_hex.lower()},  # PostgreSQL's bytea text
        {"bbl": "3", "shape": "0101000020E6100000000000000000F03F0000000000000040"},  # EWKB
        {"bbl": "4", "shape": None},
        {"bbl": "5", "shape": "not hex"},
    ]
    path = tmp_path / "lots.json"
    path.write_text(json.dumps({"data": records}))
    fmt = "{type: json, records_path: [data], geometry: {wkb: shape, crs: 'EPSG:2263'}}"
    template(project_dir, "lots", path, fmt)
    manifest = lake.ingest("lots").manifest
    assert (manifest.geometry_crs, manifest.unparsed_geometries) == ("EPSG:2263", 1)
    frame = gpd.read_parquet(data_path(lake, "lots"))
    assert frame.crs.to_epsg() == 2263
    assert [g.wkt if g else None for g in frame.geometry] == [
        "POINT (987000 190000)", "POINT (987000 190000)", "POINT (1 2)", None, None
    ]  # fmt: skip
    assert frame["shape"][0] == point.wkb_hex


def test_wkt_in_an_excel_sheet(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "sites"
    sheet.append(["id", "wkt"])
    sheet.append([1, "POINT (986000 190000)"])
    sheet.append([2, BOWTIE])
    path = tmp_path / "sites.xlsx"
    workbook.save(path)
    fmt = "{type: excel, sheet: sites, geometry: {wkt: wkt, crs: 'EPSG:2263', column: geom}}"
    template(project_dir, "sites", path, fmt)
    manifest = lake.ingest("sites").manifest
    assert (manifest.geometry_column, manifest.invalid_geometries) == ("geom", 1)
    assert manifest.unparsed_geometries == 0
    frame = gpd.read_parquet(data_path(lake, "sites"))
    assert frame.geometry.name == "geom" and frame.crs.to_epsg() == 2263
    assert frame.geometry[0].equals(Point(986_000, 190_000))
    assert list(frame["id"]) == ["1", "2"]


def test_a_source_column_named_geom_makes_the_geometry_geometry(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "counties.csv"
    path.write_text(f'name,geom\nA,"{SQUARE}"\n')
    template(project_dir, "counties", path, "{type: csv, geometry: {wkt: geom, crs: 'EPSG:4326'}}")
    manifest = lake.ingest("counties").manifest
    assert manifest.geometry_column == "geometry"
    frame = gpd.read_parquet(data_path(lake, "counties"))
    assert frame.geometry.name == "geometry" and frame["geom"][0] == SQUARE


def test_a_column_name_the_source_already_uses_is_refused(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,wkt\n1,POINT (1 2)\n")
    fmt = "{type: csv, geometry: {wkt: wkt, crs: 'EPSG:4326', column: id}}"
    template(project_dir, "s", path, fmt)
    with pytest.raises(FormatError, match=r"already has a column 'id'; set format\.geometry"):
        lake.ingest("s")
    assert lake.versions("s") == []


def test_a_geometry_column_the_file_lacks_is_named(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,Location\n1,POINT (1 2)\n")
    template(project_dir, "s", path, "{type: csv, geometry: {wkt: location, crs: 'EPSG:4326'}}")
    with pytest.raises(FormatError, match=r"'location' that s\.csv does not have .*id, Location"):
        lake.ingest("s")


@pytest.mark.parametrize(
    ("geometry", "problem"),
    [
        ("{wkt: g}", r"format\.geometry\.crs': Field required"),
        ("{wkt: g, crs: 'EPSG:1'}", r"format\.geometry\.crs': 'EPSG:1' is not a coordinate"),
        ("{wkt: g, crs: 4326}", r"format\.geometry\.crs'"),
        ("{wkt: g, x: a, y: b, crs: 'EPSG:4326'}", r"exactly one of wkt, wkb, or x and y"),
        ("{x: a, crs: 'EPSG:4326'}", r"x and y go together"),
        ("{crs: 'EPSG:4326'}", r"exactly one of wkt, wkb, or x and y"),
        ("{wkt: g, crs: 'EPSG:4326', srid: 4326}", r"unknown field 'format\.geometry\.srid'"),
    ],
)
def test_the_geometry_spec_is_checked_when_the_template_is_read(
    project_dir: Path, tmp_path: Path, geometry: str, problem: str
) -> None:
    path = template(project_dir, "s", tmp_path / "s.csv", f"{{type: csv, geometry: {geometry}}}")
    with pytest.raises(ConfigError, match=rf"{path}: .*{problem}"):
        load_template(path)


def test_the_same_spec_for_every_text_format(project_dir: Path, tmp_path: Path) -> None:
    for fmt in ("csv", "json", "excel"):
        path = template(
            project_dir,
            "s",
            tmp_path / "s",
            f"{{type: {fmt}, geometry: {{wkt: g, crs: 'EPSG:2263'}}}}",
        )
        spec = load_template(path).format
        assert spec is not None and spec.model_dump()["geometry"] == {
            "wkt": "g",
            "crs": "EPSG:2263",
        }


def test_a_text_format_without_geometry_dumps_as_before() -> None:
    # templates written before format.geometry keep their hash (the manifest's template_sha256)
    assert CsvFormat(type="csv").model_dump() == {
        "type": "csv", "delimiter": ",", "encoding": "utf-8", "max_line_bytes": 2_097_152
    }  # fmt: skip


def test_unparsed_values_are_counted_in_the_archived_rows_after_the_steps(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    # renamed by the steps: counted in the archived Parquet
    steps = (
        "steps:\n  - rename_columns: {the_geom: wkt}\n"
        "  - filter_rows: {column: id, not_equals: '5'}\n"
    )
    ingest_sites(lake, project_dir, tmp_path, steps)
    manifest = lake.manifest("sites")
    assert (manifest.row_count, manifest.unparsed_geometries, manifest.invalid_geometries) == (
        5,
        0,
        1,
    )
    assert manifest.steps[0]["column"] == "geom"


def test_unparsed_values_are_counted_in_the_source_when_the_steps_drop_their_text(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    steps = "steps:\n  - drop_columns: [the_geom]\n  - filter_rows: {column: id, not_equals: '1'}\n"
    data = ingest_sites(lake, project_dir, tmp_path, steps)
    manifest = lake.manifest("sites")
    assert (manifest.row_count, manifest.unparsed_geometries) == (5, 1)
    assert manifest.steps[0]["unparsed_sample"] == ["POINT (1"]
    assert gpd.read_parquet(data).columns.tolist() == ["id", "geom"]


def test_steps_that_drop_the_geometry_leave_no_geometry(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    ingest_sites(lake, project_dir, tmp_path, "steps:\n  - select_columns: [id, the_geom]\n")
    manifest = lake.manifest("sites")
    assert manifest.geometry_column is None and manifest.geometry_summary() is None
    assert (manifest.invalid_geometries, manifest.unparsed_geometries) == (None, None)
    assert b"invalid_geometries" not in manifest.to_json()


@pytest.mark.realdata
def test_real_nursing_homes_wkt_points(lake: Lakehouse, project_dir: Path) -> None:
    fmt = "{type: csv, geometry: {wkt: Location, crs: 'EPSG:4326'}}"
    template(project_dir, "nursing_homes", realdata("nysdoh_nursinghomes.csv"), fmt)
    manifest = lake.ingest("nursing_homes").manifest
    assert (manifest.row_count, manifest.unparsed_geometries, manifest.invalid_geometries) == (
        5, 0, 0
    )  # fmt: skip
    frame = gpd.read_parquet(data_path(lake, "nursing_homes"))
    assert frame.crs.to_epsg() == 4326 and set(frame.geometry.geom_type) == {"Point"}
    first = frame.iloc[0]
    assert first["Facility Name"].startswith("Bellhaven")
    assert (first.geom.x, first.geom.y) == (-72.933739, 40.772404)


@pytest.mark.realdata
def test_real_library_lon_lat(lake: Lakehouse, project_dir: Path) -> None:
    fmt = "{type: csv, geometry: {x: lon, y: lat, crs: 'EPSG:4326'}}"
    template(project_dir, "libraries", realdata("test_nypl_libraries.csv"), fmt)
    manifest = lake.ingest("libraries").manifest
    assert (manifest.row_count, manifest.unparsed_geometries) == (92, 0)  # ids 0 to 91
    frame = gpd.read_parquet(data_path(lake, "libraries"))
    assert frame.crs.to_epsg() == 4326
    west, south, east, north = frame.total_bounds
    assert -74.3 < west < east < -73.7 and 40.4 < south < north < 41.0  # the Bronx to Staten Island
    belafonte = frame[frame["name"] == "Harry Belafonte 115th Street Library"].iloc[0]
    assert (belafonte.geom.x, belafonte.geom.y) == (-73.9532, 40.8028)


@pytest.mark.realdata
def test_real_county_polygons_in_state_plane_feet(lake: Lakehouse, project_dir: Path) -> None:
    fmt = "{type: csv, geometry: {wkt: geometry, crs: 'EPSG:2263'}}"
    template(project_dir, "counties", realdata("census_counties_nyc.csv"), fmt)
    manifest = lake.ingest("counties").manifest
    assert (manifest.row_count, manifest.geometry_column, manifest.geometry_crs) == (
        5, "geom", "EPSG:2263"
    )  # fmt: skip
    assert manifest.unparsed_geometries == 0
    frame = gpd.read_parquet(data_path(lake, "counties"))
    assert frame.crs.to_epsg() == 2263
    assert set(frame.geometry.geom_type) == {"Polygon", "MultiPolygon"}
    areas = dict(zip(frame["NAME"], frame.geometry.area / 27_878_400, strict=True))  # sq miles
    assert 20 < areas["New York"] < 40 and areas["Queens"] > areas["Kings"]
