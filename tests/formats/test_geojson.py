"""GeoJSON: the geometry kept as GeoParquet, an attribute named like it keeps its name. Each
through a real ingest."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point

from lakehouse.errors import FormatError
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


# issue 13, W5: GDAL reads a geometry it cannot parse (string coordinates, an unknown type) as
# NULL, silently; such a file is refused, naming the feature. A null geometry stays null.


def _collection(*geometries: object) -> str:
    features = [
        {"type": "Feature", "properties": {"id": i}, "geometry": geometry}
        for i, geometry in enumerate(geometries, start=1)
    ]
    return json.dumps({"type": "FeatureCollection", "name": "f", "features": features})


POINT = {"type": "Point", "coordinates": [-73.9, 40.7]}


@pytest.mark.parametrize(
    ("geometry", "said"),
    [
        (
            {"type": "Point", "coordinates": ["-73.9", "40.7"]},
            r"^s\.geojson: feature 3 has a coordinate that is not a number \('-73\.9'\); "
            r"coordinates must be numbers: fix the source \(or the export that wrote them\)\.$",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, "0"], [1, 1], [0, 0]]]},
            r"feature 3 has a coordinate that is not a number \('0'\); coordinates must be numbers",
        ),
        (
            {"type": "Point", "coordinates": [True, 1]},
            r"feature 3 has a coordinate that is not a number \(true\)",
        ),
        (
            {"type": "Point", "coordinates": [1]},
            r"feature 3 has a position of fewer than 2 numbers \(\[1\]\)",
        ),
        (
            {"type": "Blob", "coordinates": [1, 2]},
            r"feature 3 has a geometry of type 'Blob', which GeoJSON does not have",
        ),
        (
            {"type": "Point"},
            r"feature 3 has a geometry without coordinates",
        ),
    ],
    ids=["strings", "one string in a ring", "a boolean", "one number", "unknown type", "none"],
)
def test_a_geometry_gdal_cannot_read_is_refused_not_made_null(
    lake: Lakehouse, tmp_path: Path, geometry: object, said: str
) -> None:
    source = tmp_path / "s.geojson"
    source.write_text(_collection(POINT, None, geometry, POINT))
    with warnings.catch_warnings(), pytest.raises(FormatError, match=said):
        warnings.simplefilter("ignore")  # GDAL's notes on what it could not read
        lake.ingest("s", file=source)
    assert lake.datasets() == []


def test_null_and_empty_geometries_stay_null(lake: Lakehouse, tmp_path: Path) -> None:
    source = tmp_path / "n.geojson"
    document = json.loads(_collection(POINT, None, {"type": "Point", "coordinates": []}, POINT))
    del document["features"][3]["geometry"]  # no geometry member at all: null too
    document["features"][3]["properties"]["geometry"] = {"type": "Point", "coordinates": ["1"]}
    source.write_text(json.dumps({"bbox": [0, 0, 1, 1], **document}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's note on the empty point
        manifest = lake.ingest("n", file=source).manifest
    assert manifest.row_count == 4
    assert lake.read("n").column("id").to_pylist() == [1, 2, 3, 4]
    frame = gpd.read_parquet(data_path(lake, "n"))
    assert list(frame.geometry.isna()) == [False, True, True, True]


@pytest.mark.parametrize("window", [1, 2, 7, 64, 1 << 20])
def test_features_are_read_again_one_at_a_time_across_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    from lakehouse.formats import geojson

    monkeypatch.setattr(geojson, "READ_CHARS", window)
    document = json.loads(_collection(POINT, None, {"type": "Point", "coordinates": [1234567, 2]}))
    document["features"].append({"type": "Feature", "properties": {}})  # no geometry member
    source = tmp_path / "w.geojson"
    source.write_text(
        json.dumps({"crs": {"type": "name"}, **document, "bbox": [1, 2, 3, 4]}, indent=1)
    )
    found = list(geojson._feature_geometries(source))
    assert found == [
        (True, POINT),
        (True, None),
        (True, {"type": "Point", "coordinates": [1234567, 2]}),
        (False, None),
    ]
    one = tmp_path / "one.geojson"
    one.write_text(json.dumps(document["features"][0]))
    assert list(geojson._feature_geometries(one)) == [(True, POINT)]
