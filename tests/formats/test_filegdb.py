"""Zipped File Geodatabases: one layer per dataset (a template each, naming it), with its
geometry and CRS; a layer without geometry is a table; a geodatabase of several layers without
a layer named is refused with the layers listed. Each through a real ingest."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from lakehouse.errors import FormatError
from lakehouse.project import Lakehouse
from tests.conftest import realdata, write_template
from tests.formats.samples import data_path


def write_geodatabase(tmp_path: Path) -> Path:
    """parcels.gdb.zip: a layer `lots` (two polygons, one of them a bowtie, EPSG:2263) and a
    layer `sites` (a point, EPSG:4326)."""
    folder = tmp_path / "parcels.gdb"
    lots = gpd.GeoDataFrame(
        {"bbl": ["1000010001", "1000010002"]},
        geometry=[
            Polygon([(0, 0), (10, 0), (10, 10), (0, 10)]),
            Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # self-intersecting
        ],
        crs="EPSG:2263",
    )
    sites = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(-73.99, 40.73)], crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's notes on ArcGIS field types
        lots.to_file(folder, driver="OpenFileGDB", layer="lots")
        sites.to_file(folder, driver="OpenFileGDB", layer="sites")
    archive = tmp_path / "parcels.gdb.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, f"parcels.gdb/{part.name}")
    return archive


def gdb_template(project_dir: Path, name: str, path: Path, layer: str) -> None:
    write_template(
        project_dir,
        name,
        f"name: {name}\nsource: {{type: file, path: {path}}}\n"
        f"format: {{type: filegdb, layer: {layer}}}\n",
    )


def test_each_layer_of_a_geodatabase_is_its_own_dataset(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    archive = write_geodatabase(tmp_path)
    gdb_template(project_dir, "lots", archive, "lots")
    gdb_template(project_dir, "sites", archive, "sites")
    lots, sites = lake.ingest("lots").manifest, lake.ingest("sites").manifest
    assert (lots.source.format, lots.geometry_crs, sites.geometry_crs) == (
        "filegdb", "EPSG:2263", "EPSG:4326"
    )  # fmt: skip
    assert (lots.row_count, lots.invalid_geometries, sites.invalid_geometries) == (2, 1, 0)
    # one source file: the same checksum, archived beside each dataset's own version
    assert lots.source_sha256 == sites.source_sha256 == lots.source_files[0].sha256
    assert lots.source_files[0].path.startswith("raw/lots/")
    assert sites.source_files[0].path.startswith("raw/sites/")
    frame = gpd.read_parquet(data_path(lake, "lots"))
    assert frame.crs.to_epsg() == 2263 and list(frame["bbl"]) == ["1000010001", "1000010002"]
    assert not frame.geometry.iloc[1].is_valid  # archived as it came
    frame = gpd.read_parquet(data_path(lake, "sites"))
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].distance(Point(-73.99, 40.73)) < 1e-6  # the gdb's grid
    assert lake.ingest("lots").status == "unchanged"  # the same bytes: no new version


def test_several_layers_and_none_named_is_refused_with_the_layers(
    lake: Lakehouse, tmp_path: Path
) -> None:
    archive = write_geodatabase(tmp_path)
    # a .gdb.zip needs no template to be known as a geodatabase (a .zip is a shapefile)
    with pytest.raises(FormatError, match=r"parcels\.gdb\.zip has 2 layers \(lots, sites\); set"):
        lake.ingest("parcels", file=archive)
    assert lake.datasets() == []


def test_a_layer_the_geodatabase_lacks_is_named(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    gdb_template(project_dir, "lots", write_geodatabase(tmp_path), "parcels")
    with pytest.raises(FormatError, match=r"has no layer 'parcels' \(its layers: lots, sites\)"):
        lake.ingest("lots")


@pytest.mark.realdata
def test_real_geodatabase_layers(lake: Lakehouse, project_dir: Path) -> None:
    path = realdata("geodatabase.gdb.zip")
    gdb_template(project_dir, "mappluto", path, "mappluto_one_row")
    gdb_template(project_dir, "pluto", path, "pluto_one_row")
    mappluto = lake.ingest("mappluto").manifest
    assert (mappluto.row_count, mappluto.geometry_crs, mappluto.invalid_geometries) == (
        1, "EPSG:2263", 0
    )  # fmt: skip
    frame = gpd.read_parquet(data_path(lake, "mappluto"))
    assert frame.crs.to_epsg() == 2263 and frame.geometry.iloc[0].geom_type == "MultiPolygon"
    assert frame["Borough"].iloc[0] in {"MN", "BX", "BK", "QN", "SI"}
    pluto = lake.ingest("pluto").manifest  # a table in the geodatabase: no geometry
    assert (pluto.row_count, pluto.geometry_column, pluto.invalid_geometries) == (1, None, None)
    assert "bbl" in {c.name for c in pluto.columns}
    assert pluto.source_sha256 == mappluto.source_sha256
