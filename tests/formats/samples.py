"""What the format tests share: where an archived version's data file is, and sample features."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon

from lakehouse.project import Lakehouse


def data_path(lake: Lakehouse, dataset: str) -> Path:
    """The local path of the latest version's Parquet data file."""
    return Path(lake.store.root) / lake.manifest(dataset).data_files[0].path


def features() -> gpd.GeoDataFrame:
    """A point and a polygon with two attributes, in EPSG:4326."""
    return gpd.GeoDataFrame(
        {"name": ["a", "b"], "floors": [3, 12]},
        geometry=[Point(-73.99, 40.73), Polygon([(-74, 40.7), (-73.9, 40.7), (-73.9, 40.8)])],
        crs="EPSG:4326",
    )
