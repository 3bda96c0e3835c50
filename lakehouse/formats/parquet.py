"""Parquet (and GeoParquet): read by DuckDB with its own types.

A template's `format: {type: parquet}`; claims .parquet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.view import SOURCE_VIEW
from lakehouse.sql import sql_string

if TYPE_CHECKING:
    import duckdb


class ParquetFormat(FormatSpec):
    type: Literal["parquet"]


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: ParquetFormat) -> None:
    paths = "[" + ", ".join(sql_string(str(p)) for p in files) + "]"
    try:
        con.execute(f"CREATE OR REPLACE VIEW {SOURCE_VIEW} AS SELECT * FROM read_parquet({paths})")
    except Exception as exc:
        raise FormatError(f"{files[0].name} is not a readable Parquet file ({exc}).") from exc


FORMAT = Format(name="parquet", spec=ParquetFormat, load=load, suffixes=(".parquet",))
