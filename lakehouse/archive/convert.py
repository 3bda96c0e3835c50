"""Conversion: landed source files -> the template's steps -> one zstd Parquet file, in DuckDB."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.manifest import ColumnInfo
from lakehouse.archive.steps import compile_steps
from lakehouse.archive.template import IngestTemplate
from lakehouse.errors import ConfigError, FormatError
from lakehouse.formats import FormatSpec, load_source
from lakehouse.formats.view import SOURCE_VIEW, explain_read_error
from lakehouse.progress import Progress
from lakehouse.sql import sql_string

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Converted:
    """What the conversion wrote: rows, columns as stored, and where the geometry is."""

    row_count: int
    columns: list[ColumnInfo]
    geometry_column: str | None = None
    geometry_crs: str | None = None
    step_summaries: list[dict[str, Any]] = field(default_factory=list)


def convert_to_parquet(
    template: IngestTemplate,
    files: list[Path],
    fmt: FormatSpec,
    target: Path,
    progress: Progress,
) -> Converted:
    """Read `files` as `fmt`, apply the template's steps, write `target` (zstd Parquet)."""
    import duckdb

    progress(f"converting {len(files)} file(s) to Parquet", 0, None)
    with duckdb.connect() as con:
        load_source(con, files, fmt)
        source_columns = [row[0] for row in con.execute(f"DESCRIBE {SOURCE_VIEW}").fetchall()]
        try:
            compiled = compile_steps(source_columns, template.steps)
        except ConfigError as exc:
            raise ConfigError(f"Template of {template.name!r}: {exc}") from exc
        try:
            rows_in = _count_rows(con) if compiled.has_filter else None
            written = con.execute(
                f"COPY ({compiled.sql}) TO {sql_string(str(target))} "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            ).fetchone()
        except duckdb.Error as exc:
            raise explain_read_error(exc, files) from exc
        row_count = int(written[0]) if written else 0
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(target))})"
        ).fetchall()
    if row_count == 0 and not template.allow_empty:
        raise FormatError(
            f"The source of {template.name!r} has no data rows"
            f"{' after the filter steps' if compiled.has_filter else ''}; nothing was archived "
            "(set allow_empty: true in the template if an empty source is expected)."
        )
    summaries = list(compiled.summaries)
    if rows_in is not None:
        summaries.append({"step": "row_count", "rows_in": rows_in, "rows_out": row_count})
    columns, geometry_column, geometry_crs = _describe_columns(described)
    return Converted(row_count, columns, geometry_column, geometry_crs, summaries)


def _count_rows(con: duckdb.DuckDBPyConnection) -> int:
    counted = con.execute(f"SELECT count(*) FROM {SOURCE_VIEW}").fetchone()
    return int(counted[0]) if counted else 0


def _describe_columns(
    described: list[tuple[Any, ...]],
) -> tuple[list[ColumnInfo], str | None, str | None]:
    """Column names and types; a GEOMETRY type's CRS is kept apart (it can be a page of JSON)."""
    columns = []
    geometry_column = geometry_crs = None
    for name, type_name, *_ in described:
        type_text = str(type_name)
        if type_text.startswith("GEOMETRY"):
            if geometry_column is None:
                geometry_column, geometry_crs = name, crs_label(type_text)
            type_text = "GEOMETRY"
        columns.append(ColumnInfo(name=name, type=type_text))
    return columns, geometry_column, geometry_crs


def crs_label(geometry_type: str) -> str | None:
    """A short CRS label ('EPSG:2263', or the CRS's name) from DuckDB's GEOMETRY('<crs>') type."""
    inside = geometry_type.removeprefix("GEOMETRY").strip()
    if not inside.startswith("("):
        return None
    text = inside[1:-1].strip().strip("'").replace("''", "'")
    try:
        crs = json.loads(text)
    except ValueError:
        return text or None
    identifier = crs.get("id") if isinstance(crs, dict) else None
    if isinstance(identifier, dict) and "authority" in identifier:
        return f"{identifier['authority']}:{identifier['code']}"
    return crs.get("name") if isinstance(crs, dict) else None
