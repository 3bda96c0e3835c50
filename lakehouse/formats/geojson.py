"""GeoJSON: features with their geometry (see `geo`).

A template's `format: {type: geojson}`; claims .geojson.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geo import declared_crs_field, read_geo
from lakehouse.formats.view import register_tables

if TYPE_CHECKING:
    import duckdb


class GeoJsonFormat(FormatSpec):
    type: Literal["geojson"]
    crs: str | None = declared_crs_field()


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: GeoJsonFormat) -> None:
    register_tables(con, [read_geo(path, None, fmt.crs) for path in files])


FORMAT = Format(name="geojson", spec=GeoJsonFormat, load=load, suffixes=(".geojson",))
