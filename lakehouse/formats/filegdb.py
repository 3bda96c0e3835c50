"""Esri File Geodatabases, zipped (a `.gdb` folder in a `.gdb.zip`): one layer per dataset,
with its geometry and CRS (see `geo`); a layer without geometry (a plain table) is archived as
a table.

A template's `format: {type: filegdb, layer: <name>}` (`layer` may be left out when the
geodatabase has only one); claims .gdb.zip. A geodatabase of several layers is several
datasets: a template each, naming its layer, each with its own versions and manifest (and the
geodatabase's bytes, with their checksum, archived beside each). The zip is refused, before it
is unpacked, when it would unpack to more than `max_unzipped_bytes` or a file of it is
compressed more than `max_compression_ratio` to 1 (see `unzip`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geo import declared_crs_field, read_geo
from lakehouse.formats.unzip import ZipLimits, compression_ratio_field, unzipped_bytes_field
from lakehouse.formats.view import register_tables

if TYPE_CHECKING:
    import duckdb


class FileGdbFormat(FormatSpec):
    type: Literal["filegdb"]
    layer: str | None = Field(
        default=None, min_length=1, description="the layer (required when there are several)"
    )
    crs: str | None = declared_crs_field()
    max_unzipped_bytes: int = unzipped_bytes_field()
    max_compression_ratio: float = compression_ratio_field()


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: FileGdbFormat) -> None:
    limits = ZipLimits.of(fmt)
    register_tables(con, [read_geo(path, fmt.layer, fmt.crs, limits) for path in files])


FORMAT = Format(name="filegdb", spec=FileGdbFormat, load=load, suffixes=(".gdb.zip",))
