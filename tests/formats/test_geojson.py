"""GeoJSON: the geometry kept as GeoParquet, an attribute named like it keeps its name. Each
through a real ingest."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
from shapely.geometry import Point

from lakehouse.project import Lakehouse
from tests.formats.samples import data_path, features


def test_geojson_keeps_geometry_as_geoparquet(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "f.geojson"
    features().to_file(path, driver="GeoJSON")
    manifest = lake.ingest("f", file=path).manifest
    assert manifest.geometry_column == "geom"
    geo = json.loads(pq.read_schema(data_path(lake, "f")).metadata[b"geo"])
    assert geo["primary_column"] == "geom"
    frame = gpd.read_parquet(data_path(lake, "f"))
    assert frame.crs.to_epsg() == 4326
    assert list(frame["name"]) == ["a", "b"]
    assert frame.geometry.iloc[0].equals(Point(-73.99, 40.73))
    assert frame.geometry.iloc[1].geom_type == "Polygon"


def test_a_geojson_attribute_named_geom_keeps_its_name(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "g.geojson"
    gpd.GeoDataFrame({"geom": ["attribute"]}, geometry=[Point(1, 2)], crs="EPSG:4326").to_file(path)
    manifest = lake.ingest("g", file=path).manifest
    assert manifest.geometry_column == "geometry"
    assert lake.read("g").column("geom").to_pylist() == ["attribute"]


def test_an_unclosed_ring_is_closed_so_every_reader_can_open_it(
    lake: Lakehouse, tmp_path: Path
) -> None:
    import shapely

    source = tmp_path / "rings.geojson"
    source.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"id": 1}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}},'  # its ring is not closed
        '{"type": "Feature", "properties": {"id": 2}, "geometry": {"type": "Point", '
        '"coordinates": [-73.9, 40.7]}}]}'
    )
    lake.ingest("rings", file=source)
    frame = gpd.read_parquet(data_path(lake, "rings"))  # GEOS would raise on the raw ring
    assert frame.geometry.iloc[0].equals(shapely.box(0, 0, 1, 1))
    assert frame.geometry.iloc[1].equals(shapely.Point(-73.9, 40.7))
