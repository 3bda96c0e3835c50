"""Handoff packages for GIS tools: a geometry product in NYC's State Plane (EPSG:2263), built
from longitude/latitude, published and packaged as a shapefile, GeoParquet, a File Geodatabase
and GeoJSON; each package unzipped and opened the way a GIS user would (pyogrio, i.e. GDAL; the
GeoParquet with geopandas, as this GDAL lacks its Parquet driver), with the right CRS, geometry
type, features and attributes, the same bytes every time, and the README saying what changed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lakehouse.config import init_project, load_config
from lakehouse.errors import PackageError
from lakehouse.project import Lakehouse

GIS_FORMATS = ["shapefile", "geoparquet", "filegdb", "geojson"]

FACILITIES = """facility_id,bbl,name,facility_type_description,capacity,longitude,latitude
1,1008350041,Café Library,public library,120.5,-73.98,40.75
2,3051230001,Clinic B,health clinic,40.0,-73.95,40.65
3,5007250001,School C,elementary school,600.0,-74.10,40.60
"""
LON_LAT = {1: (-73.98, 40.75), 2: (-73.95, 40.65), 3: (-74.10, 40.60)}
NAMES = {1: "Café Library", 2: "Clinic B", 3: "School C"}
BBLS = {1: 1008350041, 2: 3051230001, 3: 5007250001}  # the last is beyond 32 bits

MODELS = """
from lakehouse.transform import model


@model(layer="product")
def facility_sites(facilities):
    t = facilities
    point = t.longitude.cast("float64").point(t.latitude.cast("float64"))
    return t.select(
        facility_id=t.facility_id.cast("int64"),
        bbl=t.bbl.cast("int64"),
        name=t.name,
        facility_type_description=t.facility_type_description,
        capacity=t.capacity.cast("float64"),
        geom=point.convert("EPSG:4326", "EPSG:2263"),
    ).order_by("facility_id")
"""

DICTIONARY = """product: facility_sites
description: Facilities in NY State Plane.
tables:
  facility_sites:
    description: One row per facility.
    primary_key: [facility_id]
    columns:
      - {name: facility_id, type: integer, description: The facility's id., nullable: false}
      - {name: bbl, type: bbl, description: The tax lot it stands on.}
      - {name: name, type: text, description: Its name.}
      - {name: facility_type_description, type: text, description: What it is.}
      - {name: capacity, type: float, description: How many it serves.}
      - name: geom
        type: geometry
        description: Where it is.
        nullable: false
        crs: EPSG:2263
        geometry_type: Point
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lakehouse, str]:
    """The facility_sites product, built once and published (its version returned)."""
    root = tmp_path_factory.mktemp("gis")
    folder = root / "project"
    init_project(folder)
    config = load_config(folder / "lakehouse.toml")
    config.templates_dir.mkdir(parents=True)
    config.recipes_dir.mkdir(parents=True)
    lake = Lakehouse(config)
    source = root / "facilities.csv"
    source.write_text(FACILITIES, encoding="utf-8")
    lake.ingest("facilities", file=source)
    transforms = folder / "transforms" / "facility_sites"
    transforms.mkdir(parents=True)
    (transforms / "__init__.py").write_text("")
    (transforms / "models.py").write_text(MODELS)
    (config.recipes_dir / "facility_sites.yml").write_text(
        "name: facility_sites\nowner: me\ninputs: {facilities: latest}\noutputs: [facility_sites]\n"
    )
    (folder / "contracts" / "facility_sites").mkdir(parents=True)
    (folder / "contracts" / "facility_sites" / "dictionary.yml").write_text(DICTIONARY)
    result = lake.build("facility_sites")
    assert result.contracts.passed, result.contracts.summary()
    lake.diff_report("facility_sites")
    return lake, lake.publish("facility_sites").version


def unpack(published: tuple[Lakehouse, str], fmt: str, tmp_path: Path) -> tuple[Path, str]:
    """The package in `fmt`, unzipped: its data folder and its README."""
    lake, version = published
    packaged = lake.package("facility_sites", version, fmt, tmp_path / f"{fmt}.zip")
    folder = tmp_path / fmt
    with zipfile.ZipFile(packaged.path) as archive:
        archive.extractall(folder)
    top = folder / f"facility_sites-{version}"
    return top / "data", (top / "README.md").read_text(encoding="utf-8")


def test_a_shapefile_package_has_its_prj_a_utf8_cpg_and_says_how_names_were_shortened(
    published: tuple[Lakehouse, str], tmp_path: Path
) -> None:
    import pyogrio

    from lakehouse.publish.gis_formats import shapefile_names

    data, readme = unpack(published, "shapefile", tmp_path)
    assert sorted(p.name for p in data.iterdir()) == [
        f"facility_sites.{suffix}" for suffix in ("cpg", "dbf", "prj", "shp", "shx")
    ]
    assert (data / "facility_sites.cpg").read_text() == "UTF-8"
    assert "Long_Island" in (data / "facility_sites.prj").read_text()
    shp = data / "facility_sites.shp"
    info = pyogrio.read_info(shp)
    assert (info["crs"], info["geometry_type"], info["features"]) == ("EPSG:2263", "Point", 3)
    short = shapefile_names(["facility_id", "bbl", "name", "facility_type_description", "capacity"])
    assert list(info["fields"]) == list(short.values())
    assert short["facility_type_description"] == "facility_t"
    assert (
        "shapefile column names are at most 10 characters; renamed: "
        "facility_id -> facility_i, facility_type_description -> facility_t" in readme
    )
    frame = pyogrio.read_dataframe(shp)  # the .cpg makes GDAL read the names as UTF-8
    assert dict(zip(frame["facility_i"], frame["name"], strict=True)) == NAMES
    assert dict(zip(frame["facility_i"], frame["bbl"], strict=True)) == BBLS
    assert list(frame["facility_t"]) == ["public library", "health clinic", "elementary school"]


def test_a_geoparquet_package_keeps_the_dictionarys_crs_and_every_column(
    published: tuple[Lakehouse, str], tmp_path: Path
) -> None:
    import geopandas as gpd

    data, readme = unpack(published, "geoparquet", tmp_path)
    (parquet,) = data.iterdir()
    assert parquet.name == "facility_sites.parquet"
    frame = gpd.read_parquet(parquet)  # this GDAL has no Parquet driver
    assert frame.crs is not None and frame.crs.to_epsg() == 2263
    assert list(frame.geom_type) == ["Point"] * 3
    assert dict(zip(frame["facility_id"], frame["name"], strict=True)) == NAMES
    assert dict(zip(frame["facility_id"], frame["bbl"], strict=True)) == BBLS
    assert list(frame["capacity"]) == [120.5, 40.0, 600.0]
    x, y = frame.geometry.iloc[0].x, frame.geometry.iloc[0].y
    assert 980_000 < x < 995_000 and 205_000 < y < 220_000  # midtown, in US feet
    assert "Notes on the format" not in readme


def test_a_filegdb_package_is_a_zipped_gdb_with_one_layer_per_output(
    published: tuple[Lakehouse, str], tmp_path: Path
) -> None:
    import pyogrio

    data, readme = unpack(published, "filegdb", tmp_path)
    (gdb,) = data.iterdir()
    assert gdb.name == "facility_sites.gdb" and gdb.is_dir()
    assert [list(layer) for layer in pyogrio.list_layers(gdb)] == [["facility_sites", "Point"]]
    info = pyogrio.read_info(gdb, layer="facility_sites")
    assert (info["crs"], info["geometry_type"], info["features"]) == ("EPSG:2263", "Point", 3)
    assert list(info["fields"]) == [
        "facility_id", "bbl", "name", "facility_type_description", "capacity"
    ]  # fmt: skip
    frame = pyogrio.read_dataframe(gdb, layer="facility_sites")
    assert str(frame["facility_id"].dtype) == "int32"  # fits 32 bits: an integer field
    assert dict(zip(frame["facility_id"], frame["name"], strict=True)) == NAMES
    assert dict(zip(frame["facility_id"], frame["bbl"], strict=True)) == BBLS  # exact
    assert list(frame["capacity"]) == [120.5, 40.0, 600.0]
    assert "facility_sites: bbl hold integers beyond 32 bits, written as 64-bit floats" in readme
    version = published[1]  # GDAL also opens the .gdb inside the zip, unpacked or not
    zipped = f"/vsizip/{tmp_path / 'filegdb.zip'}/facility_sites-{version}/data/{gdb.name}"
    assert pyogrio.read_info(zipped)["features"] == 3


def test_a_geojson_package_is_rfc7946_in_longitude_latitude(
    published: tuple[Lakehouse, str], tmp_path: Path
) -> None:
    import pyogrio

    data, readme = unpack(published, "geojson", tmp_path)
    (path,) = data.iterdir()
    assert path.name == "facility_sites.geojson"
    info = pyogrio.read_info(path)
    assert (info["crs"], info["geometry_type"], info["features"]) == ("EPSG:4326", "Point", 3)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in document  # RFC 7946: always WGS 84 longitude/latitude, never declared
    got = {
        f["properties"]["facility_id"]: tuple(f["geometry"]["coordinates"])
        for f in document["features"]
    }
    for facility, (lon, lat) in got.items():
        assert -74.3 < lon < -73.7 and 40.4 < lat < 41.0  # NYC, longitude first
        assert lon == pytest.approx(LON_LAT[facility][0], abs=1e-6)
        assert lat == pytest.approx(LON_LAT[facility][1], abs=1e-6)
    names = {f["properties"]["facility_id"]: f["properties"]["name"] for f in document["features"]}
    assert names == NAMES
    assert (
        "facility_sites: GeoJSON (RFC 7946) is reprojected from the product's EPSG:2263 to "
        "EPSG:4326" in readme
    )


@pytest.mark.parametrize("fmt", GIS_FORMATS)
def test_gis_packages_are_the_same_every_time(
    published: tuple[Lakehouse, str], tmp_path: Path, fmt: str
) -> None:
    lake, version = published
    first = lake.package("facility_sites", version, fmt, tmp_path / "a.zip")
    second = lake.package("facility_sites", "latest", fmt, tmp_path / "b.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "b.zip"]  # no leftovers


def package_table(tmp_path: Path, fmt: str, columns: dict[str, Any], geometry: bool) -> Path:
    """A published version of one output `sites` (columns, geometries as WKB) packaged directly,
    with a dictionary whose geometry column (if `geometry`) is geom in EPSG:2263."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakehouse.contracts.dictionary import Dictionary
    from lakehouse.publish.package import build_package
    from lakehouse.publish.records import PublishRecord
    from lakehouse.store.storage import Store

    store = Store(str(tmp_path / "store"))
    rel = "publish/sites/25v1/outputs/sites.parquet"
    path = store.local_path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    described = [{"name": "site_id", "type": "integer", "description": "key"}]
    if geometry:
        described.append(
            {"name": "geom", "type": "geometry", "description": "where", "crs": "EPSG:2263"}
        )
    dictionary = Dictionary(product="sites", tables={"sites": {
        "description": "sites", "primary_key": ["site_id"], "columns": described}})  # fmt: skip
    rows = len(columns["site_id"])
    entry = PublishRecord.model_validate({
        "product": "sites", "version": "25v1", "build_id": "b",
        "published_at": "2026-11-24T10:00:00+00:00", "git": {"commit": None, "dirty": None},
        "lock": {"product": "sites", "locked_at": "2026-11-24T09:00:00Z", "inputs": {}},
        "inputs": {}, "qa": [], "packages": {},
        "contracts": {"summary": "none", "seconds": 0, "failed": [], "stopped_at": None},
        "outputs": {"outputs/sites": {"path": "outputs/sites.parquet", "rows": rows,
                                      "bytes": 1, "sha256": "x", "content_sha256": "y"}},
    })  # fmt: skip
    out = tmp_path / f"{fmt}.zip"
    with duckdb.connect() as con:
        build_package(con, store, entry, {"sites": rel}, dictionary, fmt, out)
    return out


@pytest.mark.parametrize("fmt", GIS_FORMATS)
def test_gis_formats_refuse_an_output_without_geometry_in_one_sentence(
    tmp_path: Path, fmt: str
) -> None:
    with pytest.raises(PackageError, match=rf"has no geometry column .* and {fmt} needs one; "):
        package_table(tmp_path, fmt, {"site_id": [1, 2]}, geometry=False)
    assert not (tmp_path / f"{fmt}.zip").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_filegdb_layer_promotes_mixed_single_and_multi_parts_and_refuses_mixed_kinds(
    tmp_path: Path,
) -> None:
    import pyogrio
    import shapely

    mixed = [shapely.Point(988_000, 211_000), shapely.MultiPoint([(1e6, 2e5), (1e6, 2.1e5)])]
    out = package_table(
        tmp_path, "filegdb", {"site_id": [1, 2], "geom": shapely.to_wkb(mixed)}, geometry=True
    )
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "gdb")
    (gdb,) = (tmp_path / "gdb").rglob("sites.gdb")
    info = pyogrio.read_info(gdb)
    assert (info["crs"], info["geometry_type"], info["features"]) == ("EPSG:2263", "MultiPoint", 2)
    frame = pyogrio.read_dataframe(gdb)
    assert [len(g.geoms) for g in frame.geometry] == [1, 2]

    kinds = [shapely.Point(988_000, 211_000), shapely.box(0, 0, 10, 10)]
    with pytest.raises(PackageError, match=r"mixes geometry types \(Point, Polygon\)"):
        package_table(
            tmp_path / "kinds",
            "filegdb",
            {"site_id": [1, 2], "geom": shapely.to_wkb(kinds)},
            geometry=True,
        )


def test_a_polygon_geojson_is_reprojected_with_counterclockwise_outer_rings(
    tmp_path: Path,
) -> None:
    import shapely

    lot = shapely.from_wkt(  # a State Plane lot drawn clockwise, as shapefiles draw them
        "POLYGON ((987000 212000, 987000 212500, 987500 212500, 987500 212000, 987000 212000))"
    )
    out = package_table(
        tmp_path, "geojson", {"site_id": [7], "geom": [shapely.to_wkb(lot)]}, geometry=True
    )
    with zipfile.ZipFile(out) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".geojson")]
        document = json.loads(archive.read(name))
    (feature,) = document["features"]
    assert feature["geometry"]["type"] == "Polygon"
    ring = feature["geometry"]["coordinates"][0]
    assert all(-74.3 < lon < -73.7 and 40.4 < lat < 41.0 for lon, lat in ring)
    assert shapely.Polygon(ring).exterior.is_ccw


def test_the_cli_lists_the_gis_formats() -> None:
    from lakehouse.cli import app

    result = CliRunner().invoke(app, ["package", "--help"])
    assert result.exit_code == 0
    for fmt in GIS_FORMATS:
        assert fmt in result.output
