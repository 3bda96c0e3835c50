"""Shapefiles, zipped with their .dbf, .shx and .prj: features with their geometry and CRS
(see `geo`).

A template's `format: {type: shapefile, layer: <name>}` (default: the only layer); claims .zip.
The zip is refused, before it is unpacked, when it would unpack to more than
`max_unzipped_bytes` or a file of it is compressed more than `max_compression_ratio` to 1 (see
`unzip`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geo import declared_crs_field, read_geo
from lakehouse.formats.unzip import ZipLimits, compression_ratio_field, unzipped_bytes_field
from lakehouse.formats.view import register_tables

if TYPE_CHECKING:
    import duckdb


class ShapefileFormat(FormatSpec):
    type: Literal["shapefile"]
    layer: str | None = None
    crs: str | None = declared_crs_field()
    max_unzipped_bytes: int = unzipped_bytes_field()
    max_compression_ratio: float = compression_ratio_field()


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: ShapefileFormat) -> None:
    limits = ZipLimits.of(fmt)
    register_tables(con, [read_geo(path, fmt.layer, fmt.crs, limits) for path in files])


FORMAT = Format(name="shapefile", spec=ShapefileFormat, load=load, suffixes=(".zip",))
