"""Conversion: landed source files -> the template's steps -> one zstd Parquet file, in DuckDB;
and what the archive counts in a geometry: invalid geometries, and the values of a text
source's geometry columns that did not parse."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.manifest import ColumnInfo
from lakehouse.archive.steps import CompiledSteps, compile_steps
from lakehouse.archive.template import IngestTemplate
from lakehouse.errors import ConfigError, FormatError
from lakehouse.formats import FormatSpec, load_source
from lakehouse.formats.geometry import (
    TEXT_VIEW,
    UNPARSED_SAMPLE,
    GeometryColumns,
    added_column,
    geometry_columns_of,
    unparsed_condition,
    unparsed_sample_value,
)
from lakehouse.formats.view import SOURCE_VIEW, explain_read_error
from lakehouse.progress import Progress
from lakehouse.qa.profile import invalid_geometry
from lakehouse.spatial import crs_label, ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier, sql_string

if TYPE_CHECKING:
    import duckdb

# How archived data is written. Every value of a text source is text, and most of the writer's
# time went into dictionaries of columns with too many distinct values to keep one (addresses,
# names, timestamps) and into zstd's default level: a smaller dictionary limit gives those up
# early and level 1 compresses faster, for files ~3% larger (PLUTO-lite, 1M lots: 60.6 MB
# against 58.8 MB; the writer's CPU time a fifth lower). Low-cardinality columns keep theirs.
ARCHIVE_PARQUET = (
    "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, DICTIONARY_SIZE_LIMIT 4000, "
    "ROW_GROUP_SIZE 122880"
)


@dataclass(frozen=True)
class Converted:
    """What the conversion wrote: rows, columns as stored, and where the geometry is."""

    row_count: int
    columns: list[ColumnInfo]
    geometry_column: str | None = None
    geometry_crs: str | None = None
    step_summaries: list[dict[str, Any]] = field(default_factory=list)
    invalid_geometries: int | None = None  # None without a geometry column
    unparsed_geometries: int | None = None  # None unless the format made the geometry


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
                f"COPY ({compiled.sql}) TO {sql_string(str(target))} ({ARCHIVE_PARQUET})"
            ).fetchone()
        except duckdb.Error as exc:
            raise explain_read_error(exc, files) from exc
        row_count = int(written[0]) if written else 0
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(target))})"
        ).fetchall()
        columns, geometry_column, geometry_crs = _describe_columns(described)
        invalid = unparsed = None
        summaries = []
        if geometry_column is not None:
            progress("counting invalid geometries", 0, None)
            invalid = count_invalid_geometries(con, target, geometry_column)
        spec = geometry_columns_of(fmt)
        if spec is not None:
            unparsed, summary = _unparsed_geometries(con, spec, compiled, target, files)
            summaries.append(summary)
    if row_count == 0 and not template.allow_empty:
        raise FormatError(
            f"The source of {template.name!r} has no data rows"
            f"{' after the filter steps' if compiled.has_filter else ''}; nothing was archived "
            "(set allow_empty: true in the template if an empty source is expected)."
        )
    summaries += compiled.summaries
    if rows_in is not None:
        summaries.append({"step": "row_count", "rows_in": rows_in, "rows_out": row_count})
    return Converted(
        row_count, columns, geometry_column, geometry_crs, summaries, invalid, unparsed
    )


def count_invalid_geometries(con: duckdb.DuckDBPyConnection, parquet: Path, column: str) -> int:
    """Geometries of `column` in the Parquet file that are not valid, archived as they came
    (the source QA's definition: `qa.profile.invalid_geometry`)."""
    ensure_spatial(con)
    counted = con.execute(
        f"SELECT count(*) FROM read_parquet({sql_string(str(parquet))}) "
        f"WHERE {invalid_geometry(column)}"
    ).fetchone()
    return int(counted[0]) if counted else 0


def _unparsed_geometries(
    con: duckdb.DuckDBPyConnection,
    spec: GeometryColumns,
    compiled: CompiledSteps,
    target: Path,
    files: list[Path],
) -> tuple[int | None, dict[str, Any]]:
    """The archived rows whose geometry value is not empty but did not parse, and the step
    summary that records them (with a few of their values). Counted in the Parquet file when
    the steps kept the geometry and its source columns, else in the source with the steps'
    filters (one more read)."""
    text_columns = [row[0] for row in con.execute(f"DESCRIBE {TEXT_VIEW}").fetchall()]
    added = added_column(spec, text_columns, files[0].name)
    summary: dict[str, Any] = {"step": "geometry", "from": spec.describe(), "crs": spec.crs}
    outputs = {source: name for name, source in compiled.origins.items()}
    if added not in outputs:  # the steps dropped the geometry: nothing archived to count
        return None, {**summary, "column": None}
    needed = [*spec.source_columns, added]
    if all(name in outputs for name in needed):
        relation, filters = f"read_parquet({sql_string(str(target))})", ""
        expressions = {name: sql_identifier(outputs[name]) for name in needed}
    else:
        relation, filters = SOURCE_VIEW, compiled.where
        expressions = {name: sql_identifier(name) for name in needed}
    condition = unparsed_condition(spec, expressions, expressions[added])
    where = f"{filters} AND ({condition})" if filters else f" WHERE {condition}"
    counted = con.execute(f"SELECT count(*) FROM {relation}{where}").fetchone()
    unparsed = int(counted[0]) if counted else 0
    sample: list[str] = []
    if unparsed:
        value = unparsed_sample_value(spec, expressions)
        found = con.execute(
            f"SELECT DISTINCT {value} AS v FROM {relation}{where} ORDER BY v "
            f"LIMIT {UNPARSED_SAMPLE}"
        ).fetchall()
        sample = [row[0] for row in found]
    summary.update(column=outputs[added], unparsed=unparsed, unparsed_sample=sample)
    return unparsed, summary


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
        if is_geometry_type(type_text):
            if geometry_column is None:
                geometry_column, geometry_crs = name, crs_label(type_text)
            type_text = "GEOMETRY"
        columns.append(ColumnInfo(name=name, type=type_text))
    return columns, geometry_column, geometry_crs
