"""MapPLUTO-lite end to end on `lake demo` sources: it builds from PLUTO-lite's build and the two
archived maps, equals its hand-written DuckDB-spatial SQL (bench/mappluto_lite_sql.py), passes
its dictionary's contracts, publishes, and packages in the four GIS formats."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyogrio
import pytest

from lakehouse.project import Lakehouse
from lakehouse.spatial import load_spatial
from tests.projects import REPO, mappluto_lite_project

LOTS = 1200


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, Any]:
    lake = mappluto_lite_project(tmp_path_factory.mktemp("mappluto"), lots=LOTS, seed=5)
    return lake, lake.build("mappluto_lite")


def output(lake: Lakehouse, product: str) -> str:
    build = lake.builds(product)[-1]
    return str(
        Path(lake.store.root) / "builds" / product / build.build_id / "outputs"
        / f"{product}.parquet"
    )  # fmt: skip


def test_it_builds_one_row_per_pluto_lite_lot_and_passes_its_contracts(
    built: tuple[Lakehouse, Any],
) -> None:
    lake, result = built
    assert result.contracts.passed
    geometry_rules = [r.rule for r in result.contracts.results if "geom" in r.rule]
    assert geometry_rules, "the dictionary's geometry rules are checked"
    with duckdb.connect() as con:
        rows, shapes, zoned, split = con.execute(
            "SELECT count(*), count(geom), count(zonedist1), count(*) FILTER (WHERE splitzone) "
            f"FROM read_parquet('{output(lake, 'mappluto_lite')}')"
        ).fetchone()  # type: ignore[misc]
        lots = con.execute(
            f"SELECT count(*) FROM read_parquet('{output(lake, 'pluto_lite')}')"
        ).fetchone()[0]  # type: ignore[index]
    assert rows == lots == LOTS
    assert LOTS * 0.98 < shapes < LOTS  # 0.5% of lots have no polygon
    assert 0 < split < zoned <= shapes


def test_the_build_equals_the_hand_written_sql(
    built: tuple[Lakehouse, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, _ = built
    monkeypatch.syspath_prepend(str(REPO / "bench"))  # it reads pluto_lite_sql.py's c()
    spec = importlib.util.spec_from_file_location(
        "reference", REPO / "bench" / "mappluto_lite_sql.py"
    )
    assert spec and spec.loader
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    paths = {
        dataset: lake.store.url(lake.manifest(dataset).data_files[0].path)
        for dataset in ("dtm_lots", "zoning_districts")
    }
    sql = reference.mappluto_lite_sql(**paths, pluto_lite=output(lake, "pluto_lite"))
    with duckdb.connect() as con:
        load_spatial(con, Path(lake.store.root))
        con.execute(f"CREATE TABLE ref AS {sql}")
        con.execute(
            f"CREATE TABLE ours AS SELECT * FROM read_parquet('{output(lake, 'mappluto_lite')}')"
        )
        assert con.execute("DESCRIBE ref").fetchall() == con.execute("DESCRIBE ours").fetchall()
        assert reference.differences(con, "ours", "ref") == (0, 0)
        assert con.execute("SELECT count(*) FROM ours").fetchone()[0] == LOTS  # type: ignore[index]


@pytest.mark.parametrize(
    ("fmt", "suffix", "crs", "geometry_type"),
    [
        ("shapefile", ".shp", "EPSG:2263", "Polygon"),
        ("filegdb", ".gdb", "EPSG:2263", "MultiPolygon"),
        ("geojson", ".geojson", "EPSG:4326", "MultiPolygon"),
    ],
)
def test_a_published_version_packages_for_gis_tools(
    built: tuple[Lakehouse, Any], tmp_path: Path, fmt: str, suffix: str, crs: str,
    geometry_type: str,
) -> None:  # fmt: skip
    lake, _ = built
    version = _published(lake)
    packaged = lake.package("mappluto_lite", version, fmt, out=tmp_path)
    with zipfile.ZipFile(packaged.path) as archive:
        archive.extractall(tmp_path / "unzipped")
    found = [p for p in (tmp_path / "unzipped").rglob(f"*{suffix}")]
    assert len(found) == 1
    if fmt == "filegdb":  # no boolean field there: said in the package's README
        readme = next((tmp_path / "unzipped").rglob("README*")).read_text()
        assert "splitzone are true/false, written as 1/0 integers" in readme
    info = pyogrio.read_info(found[0])
    assert info["crs"] == crs
    assert info["features"] == LOTS
    # shapefiles read multipolygons as polygons whatever their parts (GDAL's convention)
    assert info["geometry_type"] == geometry_type


def test_a_published_version_packages_as_geoparquet_with_its_crs(
    built: tuple[Lakehouse, Any], tmp_path: Path
) -> None:
    import geopandas

    lake, _ = built
    packaged = lake.package("mappluto_lite", _published(lake), "geoparquet", out=tmp_path)
    with zipfile.ZipFile(packaged.path) as archive:
        archive.extractall(tmp_path / "unzipped")
    frame = geopandas.read_parquet(next((tmp_path / "unzipped").rglob("*.parquet")))
    assert frame.crs.to_epsg() == 2263
    assert len(frame) == LOTS
    assert frame.geometry.name == "geom" and list(frame.columns)[-1] == "geom"  # as published
    dictionary = next((tmp_path / "unzipped").rglob("DICTIONARY.md")).read_text()
    assert "| geom | MultiPolygon, EPSG:2263 |" in dictionary
    assert set(frame.geometry.dropna().geom_type) == {"MultiPolygon"}


def test_its_columns_trace_back_to_the_map_sources(built: tuple[Lakehouse, Any]) -> None:
    lake, _ = built
    columns = lake.lineage("mappluto_lite").columns["mappluto_lite"]
    assert columns["geom"] == ["dtm_lots.geom"]
    assert columns["lotarea"] == ["pluto_lite.lotarea"]
    assert {"zoning_districts.zonedist", "zoning_districts.geom", "dtm_lots.geom"} <= set(
        columns["zonedist1"]
    )


def test_a_spreadsheet_package_holds_the_shapes_as_wkt(
    built: tuple[Lakehouse, Any], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    lake, _ = built
    packaged = lake.package("mappluto_lite", _published(lake), "xlsx", out=tmp_path)
    with zipfile.ZipFile(packaged.path) as archive:
        archive.extractall(tmp_path / "unzipped")
    sheet = load_workbook(next((tmp_path / "unzipped").rglob("*.xlsx")), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "geom" and len(rows) == LOTS + 1
    column = rows[0].index("geom")  # a row without a shape ends early: its trailing cells empty
    shapes = [row[column] for row in rows[1:] if len(row) > column and row[column] is not None]
    assert shapes and all(shape.startswith("MULTIPOLYGON (((") for shape in shapes)


def test_a_notebook_gets_the_version_as_a_geodataframe_with_its_crs(
    built: tuple[Lakehouse, Any],
) -> None:
    import geopandas

    from lakehouse.explore import Explorer

    lake, _ = built
    frame = Explorer(lake).published("mappluto_lite", _published(lake)).to_pandas()
    assert isinstance(frame, geopandas.GeoDataFrame)
    assert frame.crs.to_epsg() == 2263 and len(frame) == LOTS
    assert frame.geometry.name == "geom"


def _published(lake: Lakehouse) -> str:
    if not lake.published("mappluto_lite"):
        lake.diff_report("mappluto_lite")
        lake.publish("mappluto_lite")
    return lake.published("mappluto_lite")[-1].version
