"""Geometry in builds: a facility product makes points from longitude/latitude the plain ibis
way (DuckDB's spatial extension loaded offline, from its wheel), passes its contracts, is
published and packaged as a shapefile and as GeoParquet that GIS tools open with the right
CRS, geometry type and features; geometry inputs arrive in transforms as ibis geometry."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lakehouse.project import Lakehouse

FACILITIES = """facility_id,name,longitude,latitude
1,Library A,-73.98,40.75
2,Clinic B,-73.95,40.65
3,School C,-74.10,40.60
"""

MODELS = """
from lakehouse.transform import model


@model(layer="staging")
def stg_facilities(facilities):
    t = facilities
    return t.select(
        facility_id=t.facility_id.cast("int64"),
        name=t.name,
        longitude=t.longitude.cast("float64"),
        latitude=t.latitude.cast("float64"),
    )


@model(layer="product")
def facility_points(stg_facilities):
    t = stg_facilities
    return t.select(t.facility_id, t.name, geom=t.longitude.point(t.latitude)).order_by(
        t.facility_id
    )
"""

DICTIONARY = """product: facility_points
description: Facilities as points.
tables:
  facility_points:
    description: One row per facility.
    primary_key: [facility_id]
    columns:
      - {name: facility_id, type: integer, description: The facility's id., nullable: false}
      - {name: name, type: text, description: Its name.}
      - name: geom
        type: geometry
        description: Where it is (longitude/latitude).
        nullable: false
        crs: EPSG:4326
"""

POINTS_BY_ID = {1: (-73.98, 40.75), 2: (-73.95, 40.65), 3: (-74.10, 40.60)}


def ingest_places(lake: Lakehouse, tmp_path: Path, points: list[tuple[float, float]]) -> None:
    """A GeoJSON source `places` in EPSG:2263, place_id 1, 2, ... at `points`, archived."""
    import geopandas as gpd
    from shapely.geometry import Point

    places = tmp_path / "places.geojson"
    gpd.GeoDataFrame(
        {"place_id": list(range(1, len(points) + 1))},
        geometry=[Point(x, y) for x, y in points],
        crs="EPSG:2263",
    ).to_file(places, driver="GeoJSON")
    lake.ingest("places", file=places)


@pytest.fixture
def facility_project(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    source = tmp_path / "facilities.csv"
    source.write_text(FACILITIES)
    lake.ingest("facilities", file=source)
    (project_dir / "transforms" / "facility_points").mkdir(parents=True)
    (project_dir / "transforms" / "facility_points" / "__init__.py").write_text("")
    (project_dir / "transforms" / "facility_points" / "models.py").write_text(MODELS)
    (project_dir / "recipes" / "facility_points.yml").write_text(
        "name: facility_points\nowner: me\ninputs: {facilities: latest}\n"
        "outputs: [facility_points]\n"
    )
    (project_dir / "contracts" / "facility_points").mkdir(parents=True)
    (project_dir / "contracts" / "facility_points" / "dictionary.yml").write_text(DICTIONARY)
    return lake


def test_points_from_longitude_latitude_build_pass_and_package_for_gis(
    facility_project: Lakehouse, tmp_path: Path
) -> None:
    import geopandas as gpd
    import pyogrio

    from lakehouse.publish.gis_formats import shapefile_names

    lake = facility_project
    result = lake.build("facility_points")
    assert result.contracts.passed, result.contracts.summary()
    built = {
        row[0]: row[1]
        for row in lake.sql(
            "facility_points", "SELECT facility_id, ST_AsText(geom) FROM facility_points"
        )[1]
    }
    assert built == {i: f"POINT ({x} {y})" for i, (x, y) in POINTS_BY_ID.items()}
    as_is = lake.sql("facility_points", "SELECT geom FROM facility_points ORDER BY facility_id")
    assert [row[0] for row in as_is[1]] == list(built.values())  # lake sql shows WKT
    commented = lake.sql(
        "facility_points", "SELECT geom FROM facility_points ORDER BY facility_id -- by id"
    )
    assert commented[1] == as_is[1]  # a query ending in a comment is wrapped whole
    lake.diff_report("facility_points")
    version = lake.publish("facility_points").version
    for fmt, suffix in (("shapefile", ".shp"), ("geoparquet", ".parquet")):
        packaged = lake.package("facility_points", version, fmt, out=tmp_path / f"{fmt}.zip")
        folder = tmp_path / fmt
        with zipfile.ZipFile(packaged.path) as archive:
            archive.extractall(folder)
        (data,) = folder.rglob(f"*{suffix}")
        if fmt == "shapefile":
            info = pyogrio.read_info(data)
            assert (info["features"], info["geometry_type"]) == (3, "Point")
            frame = pyogrio.read_dataframe(data)
        else:  # this GDAL reads GeoParquet through libduckdb, which it lacks: geopandas does
            frame = gpd.read_parquet(data)
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        column = shapefile_names(["facility_id", "name"])["facility_id"]  # 10 characters
        ids = frame[column if fmt == "shapefile" else "facility_id"]
        got = {
            int(i): (round(g.x, 6), round(g.y, 6)) for i, g in zip(ids, frame.geometry, strict=True)
        }
        assert got == POINTS_BY_ID


def spread_project(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> None:
    """A product `spread` reading the geometry source `places` (archived)."""
    ingest_places(lake, tmp_path, [(1, 1), (3, 4)])
    (project_dir / "transforms" / "spread").mkdir(parents=True)
    (project_dir / "transforms" / "spread" / "__init__.py").write_text(
        "from lakehouse.transform import model\n\n\n@model(layer='product')\n"
        "def spread(places):\n"
        "    far = places.geom.distance(places.geom.centroid())\n"
        "    return places.select(places.place_id, far=far)\n"
    )
    (project_dir / "recipes" / "spread.yml").write_text(
        "name: spread\nowner: me\ninputs: {places: latest}\noutputs: [spread]\n"
    )


def test_a_geometry_source_arrives_in_a_transform_as_ibis_geometry(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    spread_project(lake, project_dir, tmp_path)
    lake.build("spread")
    rows = lake.sql("spread", "SELECT place_id, far FROM spread ORDER BY place_id")[1]
    assert rows == [(1, 0.0), (2, 0.0)]


@pytest.mark.spark
def test_spark_refuses_a_product_with_geometry_in_one_sentence(
    facility_project: Lakehouse,
) -> None:
    from lakehouse.errors import BuildError

    with pytest.raises(BuildError, match=r"'facility_points' computes or returns geometry, which"):
        facility_project.build("facility_points", engine="spark")
    assert facility_project.builds("facility_points") == []  # no build left behind


@pytest.mark.spark
def test_spark_refuses_a_geometry_input_before_any_transform_runs(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    from lakehouse.errors import BuildError

    spread_project(lake, project_dir, tmp_path)
    with pytest.raises(BuildError, match=r"^Input 'places' has geometry, which the Spark engine"):
        lake.build("spread", engine="spark")
    assert lake.builds("spread") == []


def test_a_notebook_gets_a_geometry_source_as_a_geodataframe(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    import geopandas as gpd

    from lakehouse.explore.explorer import Explorer

    ingest_places(lake, tmp_path, [(1, 1), (3, 4)])
    table = Explorer(lake).source("places")
    assert table.schema()["geom"].is_geospatial()
    frame = table.order_by("place_id").to_pandas()
    assert isinstance(frame, gpd.GeoDataFrame)
    assert [(point.x, point.y) for point in frame["geom"]] == [(1.0, 1.0), (3.0, 4.0)]


def test_a_geometry_output_carries_the_crs_its_dictionary_declares(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    import geopandas as gpd

    ingest_places(lake, tmp_path, [(990000, 190000), (1000000, 200000)])
    (project_dir / "transforms" / "sites").mkdir(parents=True)
    (project_dir / "transforms" / "sites" / "__init__.py").write_text(
        "from lakehouse.transform import model\n\n\n@model(layer='product')\n"
        "def sites(places):\n"
        "    return places.select(place_id=places.place_id.cast('int64'), geom=places.geom)"
        ".order_by('place_id')\n"
    )
    (project_dir / "recipes" / "sites.yml").write_text(
        "name: sites\nowner: me\ninputs: {places: latest}\noutputs: [sites]\n"
    )
    dictionary = project_dir / "contracts" / "sites" / "dictionary.yml"
    dictionary.parent.mkdir(parents=True)
    dictionary.write_text(
        "product: sites\ntables:\n  sites:\n    description: Sites.\n    primary_key: [place_id]\n"
        "    columns:\n      - {name: place_id, type: integer, description: Its id.}\n"
        "      - {name: geom, type: geometry, description: Where., crs: 'EPSG:2263'}\n"
    )
    result = lake.build("sites")
    output = Path(lake.store.root) / result.folder / "outputs" / "sites.parquet"
    frame = gpd.read_parquet(output)
    assert frame.crs is not None and frame.crs.to_epsg() == 2263
    assert [(p.x, p.y) for p in frame.geometry] == [(990000.0, 190000.0), (1000000.0, 200000.0)]
    # another CRS declared is another result: the output is rebuilt, not reused
    dictionary.write_text(dictionary.read_text().replace("EPSG:2263", "EPSG:6539"))
    (run,) = lake.build("sites").models
    assert run.status == "built"


def test_a_geometry_column_without_a_crs_is_a_dictionary_error() -> None:
    from pydantic import ValidationError

    from lakehouse.contracts.dictionary import ColumnEntry

    with pytest.raises(ValidationError, match="geometry columns, and only they, give their crs"):
        ColumnEntry(name="geom", type="geometry", description="where")
    with pytest.raises(ValidationError, match="geometry columns, and only they"):
        ColumnEntry(name="n", type="integer", description="n", crs="EPSG:2263")
    with pytest.raises(ValidationError, match="'WGS84' is not written as AUTHORITY:CODE; name"):
        ColumnEntry(name="geom", type="geometry", description="where", crs="WGS84")
    with pytest.raises(ValidationError, match="'EPSG:99999' is not a coordinate reference"):
        ColumnEntry(name="geom", type="geometry", description="where", crs="EPSG:99999")


def test_ibis_spatial_operations_compute_on_duckdb(tmp_path: Path) -> None:
    """The operations the README names, on hand-made shapes in feet: a 100 x 50 rectangle, a
    line 30 ft long and points inside and outside the rectangle."""
    import ibis
    import shapely

    from lakehouse.spatial import load_spatial

    con = ibis.duckdb.connect()
    load_spatial(con.con, tmp_path)
    t = con.sql(
        "SELECT ST_GeomFromText('POLYGON((0 0, 100 0, 100 50, 0 50, 0 0))') AS lot, "
        "ST_GeomFromText('LINESTRING(0 0, 30 0)') AS fence, "
        "ST_Point(10, 10) AS inside, ST_Point(200, 10) AS outside"
    )
    result = (
        t.select(
            area=t.lot.area(),
            length=t.fence.length(),
            centroid=t.lot.centroid().as_text(),
            buffered=t.inside.buffer(5).area(),
            contains=t.lot.contains(t.inside),
            within=t.outside.within(t.lot),
            distance=t.outside.distance(t.lot),
            overlap=t.lot.intersection(t.fence.buffer(1)).area(),
            lonlat=t.inside.convert("EPSG:2263", "EPSG:4326").y(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    assert result["area"] == 5000 and result["length"] == 30
    assert shapely.from_wkt(result["centroid"]).equals(shapely.Point(50, 25))
    assert result["buffered"] == pytest.approx(3.14159 * 25, rel=0.01)  # a circle of 5 ft
    assert (result["contains"], result["within"], result["distance"]) == (True, False, 100)
    assert result["overlap"] == pytest.approx(30 * 1 + 3.14159 / 4, rel=0.01)  # inside half
    # (10 ft, 10 ft) in NY Long Island state plane is south of the city, below 40.7 degrees
    assert 40.0 < result["lonlat"] < 40.7
