"""Every supported format through a real ingest: what is kept, and what is refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point, Polygon

from lakehouse.errors import (
    ConfigError,
    FormatError,
)
from lakehouse.project import Lakehouse
from tests.conftest import realdata, write_template


def _data_path(lake: Lakehouse, dataset: str) -> Path:
    return Path(lake.store.root) / lake.manifest(dataset).data_files[0].path


def test_excel_sheet_is_archived_as_text(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "intro"
    sheet = workbook.create_sheet("lots")
    sheet.append(["bbl", "zip", "area"])
    sheet.append(["1000010001", "00123", 12.5])
    sheet.append(["2000020002", None, 3])
    path = tmp_path / "lots.xlsx"
    workbook.save(path)
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: {path}}}\nformat: {{type: excel, sheet: lots}}\n",
    )
    manifest = lake.ingest("lots").manifest
    assert {c.type for c in manifest.columns} == {"VARCHAR"}
    assert lake.read("lots").to_pydict() == {
        "bbl": ["1000010001", "2000020002"],
        "zip": ["00123", None],
        "area": ["12.5", "3"],
    }


def test_a_missing_excel_sheet_is_a_clear_error(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    path = tmp_path / "w.xlsx"
    Workbook().save(path)
    write_template(
        project_dir,
        "w",
        f"name: w\nsource: {{type: file, path: {path}}}\nformat: {{type: excel, sheet: nope}}\n",
    )
    with pytest.raises(FormatError, match=r"format\.sheet"):
        lake.ingest("w")
    assert lake.versions("w") == []


def test_json_records_at_a_nested_path(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    records = [{"id": 1, "name": "a", "tags": ["x"]}, {"id": 2, "ok": True}]
    path.write_text(json.dumps({"meta": {}, "data": {"rows": records}}))
    write_template(
        project_dir,
        "r",
        f"name: r\nsource: {{type: file, path: {path}}}\n"
        "format: {type: json, records_path: [data, rows]}\n",
    )
    lake.ingest("r")
    assert lake.read("r").to_pydict() == {
        "id": ["1", "2"],
        "name": ["a", None],
        "tags": ['["x"]', None],
        "ok": [None, "true"],
    }


def test_json_that_is_not_records_is_refused(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(FormatError, match="records_path"):
        lake.ingest("x", file=path)


def _features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["a", "b"], "floors": [3, 12]},
        geometry=[Point(-73.99, 40.73), Polygon([(-74, 40.7), (-73.9, 40.7), (-73.9, 40.8)])],
        crs="EPSG:4326",
    )


def test_geojson_keeps_geometry_as_geoparquet(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "f.geojson"
    _features().to_file(path, driver="GeoJSON")
    manifest = lake.ingest("f", file=path).manifest
    assert manifest.geometry_column == "geom"
    geo = json.loads(pq.read_schema(_data_path(lake, "f")).metadata[b"geo"])
    assert geo["primary_column"] == "geom"
    frame = gpd.read_parquet(_data_path(lake, "f"))
    assert frame.crs.to_epsg() == 4326
    assert list(frame["name"]) == ["a", "b"]
    assert frame.geometry.iloc[0].equals(Point(-73.99, 40.73))
    assert frame.geometry.iloc[1].geom_type == "Polygon"


def test_zipped_shapefile_keeps_geometry_and_crs(lake: Lakehouse, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    _features().iloc[[0]].to_crs("EPSG:2263").to_file(folder / "pts.shp")
    archive = tmp_path / "pts.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, part.name)
    lake.ingest("pts", file=archive)
    frame = gpd.read_parquet(_data_path(lake, "pts"))
    assert frame.crs.to_epsg() == 2263
    assert frame.geometry.iloc[0].x == pytest.approx(986_000, rel=0.01)
    assert list(frame["floors"]) == [3]


def test_a_zip_that_is_not_a_shapefile_is_refused(lake: Lakehouse, tmp_path: Path) -> None:
    archive = tmp_path / "junk.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "hello")
    with pytest.raises(FormatError, match="not a readable geo file"):
        lake.ingest("junk", file=archive)
    assert lake.versions("junk") == []


def test_parquet_keeps_its_types(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"n": pa.array([1, 2], pa.int64()), "s": ["a", None]}), path)
    manifest = lake.ingest("p", file=path).manifest
    assert [(c.name, c.type) for c in manifest.columns] == [("n", "BIGINT"), ("s", "VARCHAR")]


@pytest.mark.realdata
def test_real_open_streets_shapefile(lake: Lakehouse) -> None:
    manifest = lake.ingest("open_streets", file=realdata("Open_Streets_Locations.zip")).manifest
    assert manifest.row_count == 325
    assert manifest.geometry_column == "geom"
    frame = gpd.read_parquet(_data_path(lake, "open_streets"))
    assert set(frame.geometry.geom_type) <= {"LineString", "MultiLineString"}


@pytest.mark.realdata
def test_real_geoparquet(lake: Lakehouse) -> None:
    source = realdata("geo.parquet")
    manifest = lake.ingest("geo", file=source).manifest
    assert manifest.row_count == pq.read_metadata(source).num_rows == 5


@pytest.mark.realdata
def test_real_wkt_csv_stays_text(lake: Lakehouse) -> None:
    manifest = lake.ingest("counties", file=realdata("census_counties_nyc.csv")).manifest
    assert manifest.row_count == 5
    assert {c.type for c in manifest.columns} == {"VARCHAR"}


def test_a_quoted_header_name_may_span_lines(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('id,"Owner\nName"\n1,A\n')
    manifest = lake.ingest("h", file=path).manifest
    assert [c.name for c in manifest.columns] == ["id", "Owner\nName"]
    assert manifest.row_count == 1


def test_repeated_excel_headers_are_refused_like_csv(lake: Lakehouse, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["a", "a", None])
    workbook.active.append(["1", "2", "3"])
    path = tmp_path / "d.xlsx"
    workbook.save(path)
    with pytest.raises(FormatError, match="repeats column"):
        lake.ingest("d", file=path)


def test_a_geojson_attribute_named_geom_keeps_its_name(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "g.geojson"
    gpd.GeoDataFrame({"geom": ["attribute"]}, geometry=[Point(1, 2)], crs="EPSG:4326").to_file(path)
    manifest = lake.ingest("g", file=path).manifest
    assert manifest.geometry_column == "geometry"
    assert lake.read("g").column("geom").to_pylist() == ["attribute"]


def test_json_without_records_is_a_clear_error(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    for content in ("[]", "[{}]"):
        path.write_text(content)
        with pytest.raises(FormatError, match="holds no records"):
            lake.ingest("e", file=path)


def test_utf16_without_bom_and_cr_only_lines_are_clear_errors(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\r1,2\r")
    write_template(
        project_dir, "u", f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\n"
    )
    with pytest.raises(FormatError):
        lake.ingest("u")
    path.write_bytes(b"\xff")
    write_template(
        project_dir,
        "u",
        f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv, encoding: utf-16}}\n",
    )
    with pytest.raises(FormatError, match="not valid utf-16"):
        lake.ingest("u")


def test_a_quoted_empty_string_is_kept_apart_from_an_empty_field(
    lake: Lakehouse, tmp_path: Path
) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n"",\n')
    lake.ingest("q", file=path)
    assert lake.read("q").to_pydict() == {"a": [""], "b": [None]}


def test_a_bare_shp_is_refused_with_advice_to_zip(lake: Lakehouse, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zip a Shapefile"):
        lake.ingest("s", file=tmp_path / "s.shp")


def test_very_long_lines_need_max_line_bytes(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wkt.csv"
    polygon = "POLYGON((" + ", ".join(f"{i} {i}" for i in range(300_000)) + "))"
    path.write_text(f'name,wkt\nbig,"{polygon}"\n')
    text = f"name: wkt\nsource: {{type: file, path: {path}}}\nformat: {{type: csv"
    write_template(project_dir, "wkt", text + "}\n")
    with pytest.raises(FormatError, match=r"raise format\.max_line_bytes"):
        lake.ingest("wkt")
    write_template(project_dir, "wkt", text + ", max_line_bytes: 10000000}\n")
    lake.ingest("wkt")
    assert lake.read("wkt").column("wkt").to_pylist() == [polygon]
    assert lake.versions("wkt")[0].row_count == 1
