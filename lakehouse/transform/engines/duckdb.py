"""The default engine, DuckDB in-process, and the DuckDB helpers every build uses whatever
its engine: the content hash of an output, the ibis type of a manifest's column type, a view
over Parquet files."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from lakehouse.spatial import load_spatial
from lakehouse.sql import sql_identifier, sql_string
from lakehouse.transform.engines import EngineContext, EngineType

SPILL_FOLDER = "duckdb-tmp"  # in the workspace


def content_sha256(con: Any, parquet: Path | str | list[str]) -> str:
    """A hash of a table's logical content: column names and types, row count, and every row's
    values with its position, independent of how the Parquet files encode them and of how many
    files hold the rows (a list: parts, taken in order, as one table; each row's position is
    counted across them, so parts hash as the single file of the same rows does)."""
    files = [str(parquet)] if isinstance(parquet, Path | str) else parquet
    if not files:
        raise ValueError("there is no Parquet file to hash (a result needs at least one part)")
    schemas, count, combined = set(), 0, None
    for file in files:
        schema, rows, part = _part_content(con, file, offset=count)
        schemas.add(schema)
        count += rows
        if part is not None:  # (an empty part has no rows to hash: NULL in DuckDB)
            combined = part if combined is None else combined ^ part
    if len(schemas) != 1:
        raise ValueError(f"the parts {', '.join(files)} do not all have the same columns")
    return hashlib.sha256(f"{schemas.pop()}\n{count}\n{combined}".encode()).hexdigest()


def _part_content(con: Any, file: str, offset: int) -> tuple[str, int, int | None]:
    """One file's schema text, rows, and the XOR of its rows' hashes, each row hashed with its
    position in the whole table (`offset` rows come before this file's)."""
    path = sql_string(file)
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    schema = ";".join(f"{name}:{type_name}" for name, type_name, *_ in described)
    columns = ", ".join(sql_identifier(name) for name, *_ in described)
    position = f"file_row_number + CAST({offset} AS BIGINT)" if offset else "file_row_number"
    rows, combined = con.execute(
        f"SELECT count(*), bit_xor(hash({position}, {columns})) "
        f"FROM read_parquet({path}, file_row_number = true)"
    ).fetchone()
    return schema, int(rows), combined


def duckdb_type(dtype: Any) -> str:
    import ibis.backends.sql.datatypes as datatypes

    return str(datatypes.DuckDBType.to_string(dtype))


def bound_table(con: Any, name: str, schema: dict[str, Any]) -> Any:
    """An ibis table for a view whose schema is known, without asking the engine for it."""
    import ibis
    import ibis.expr.operations as ops

    return ops.DatabaseTable(name, schema=ibis.schema(schema), source=con).to_expr()


def _column_type(dtype: Any, crs: str | None) -> str:
    """The DuckDB type a column is written as: a geometry with a CRS as GEOMETRY('<crs>'),
    which COPY records (as PROJJSON) in the GeoParquet metadata."""
    if crs is not None and dtype.is_geospatial():
        return f"GEOMETRY({sql_string(crs)})"
    return duckdb_type(dtype)


def ibis_type(type_name: str) -> str:
    """The ibis type of a column type recorded in a manifest (DuckDB's names)."""
    import ibis.backends.sql.datatypes as datatypes

    return str(datatypes.DuckDBType.from_string(type_name))


def parquet_select(con: Any, urls: list[str]) -> tuple[str, bool]:
    """`SELECT * FROM read_parquet(...)` over the files, with each GeoParquet column as plain
    GEOMETRY: DuckDB types it GEOMETRY('<its CRS>'), which ibis cannot parse (the CRS stays in
    the manifest and the files' metadata); and whether there was any. `con` is a DuckDB
    connection."""
    source = "read_parquet([" + ", ".join(sql_string(url) for url in urls) + "])"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    geometry = [name for name, type_name, *_ in described if type_name.startswith("GEOMETRY")]
    if not geometry:
        return f"SELECT * FROM {source}", False
    casts = ", ".join(
        f"CAST({sql_identifier(name)} AS GEOMETRY) AS {sql_identifier(name)}" for name in geometry
    )
    return f"SELECT * REPLACE ({casts}) FROM {source}", True


def parquet_table(con: Any, name: str, urls: list[str], workspace: Path | None = None) -> Any:
    """An ibis table over Parquet files, through a view read by DuckDB with the filesystems
    registered on `con` (ibis's own read_parquet would try to download httpfs for s3://);
    geometry columns arrive as ibis geometry (spatial is loaded for them: ibis asks for it,
    from `workspace` or the temporary folder)."""
    select, geometry = parquet_select(con.con, urls)
    if geometry:
        load_spatial(con.con, workspace or Path(tempfile.gettempdir()) / "lakehouse")
    con.raw_sql(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {select}")
    return con.table(name)


def _dtypes(schema: dict[str, Any]) -> list[Any]:
    """The ibis data types of a schema given as names or types."""
    import ibis

    return [ibis.dtype(dtype) for dtype in schema.values()]


def uses_geometry(expression: Any) -> bool:
    """Whether an ibis expression computes or returns geometry (then DuckDB needs spatial)."""
    import ibis.expr.operations as ops

    if expression.op().find((ops.GeoSpatialUnOp, ops.GeoSpatialBinOp)):
        return True
    return any(dtype.is_geospatial() for dtype in expression.schema().values())


def compile_sql(con: Any, expression: Any) -> str:
    """The expression's SQL on the ibis connection `con`, geometry kept as GEOMETRY (ibis's own
    `compile` wraps geometry columns in ST_AsWKB, for Python results; a view or a Parquet file
    must keep the type)."""
    if not uses_geometry(expression):
        return str(con.compile(expression))
    return _sql_keeping_geometry(con.compiler, expression, con.dialect)


def duckdb_sql(expression: Any) -> str:
    """The expression's DuckDB SQL without a connection (for lineage), geometry kept as in
    `compile_sql`."""
    import ibis

    if not uses_geometry(expression):
        return str(ibis.to_sql(expression, dialect="duckdb"))
    from ibis.backends.sql.compilers.duckdb import compiler

    return _sql_keeping_geometry(compiler, expression, "duckdb")


def _sql_keeping_geometry(compiler: Any, expression: Any, dialect: Any) -> str:
    from ibis.backends.sql.compilers.base import SQLGlotCompiler

    query = SQLGlotCompiler.to_sqlglot(compiler, expression)
    return str(query.sql(dialect=dialect, copy=False))


class DuckDBEngine:
    """The default engine: one DuckDB database file per build (every model a view in it, for
    `lake sql`), reading the store through its registered filesystem; beyond `memory_limit`
    it spills to <workspace>/duckdb-tmp."""

    name = "duckdb"

    def __init__(self, context: EngineContext) -> None:
        import ibis

        self.con = ibis.duckdb.connect(str(context.database))
        self.workspace = context.workspace
        self.spatial_loaded = False
        context.store.register_in_duckdb(self.con.con)
        # spilling, when the data outgrows memory, goes to the local workspace
        spill = context.workspace / SPILL_FOLDER
        spill.mkdir(parents=True, exist_ok=True)
        self.con.con.execute(f"SET temp_directory = {sql_string(str(spill))}")
        if context.memory_limit:
            self.con.con.execute(f"SET memory_limit = {sql_string(context.memory_limit)}")
        if context.threads:
            self.con.con.execute(f"SET threads = {int(context.threads)}")

    def parquet_table(self, name: str, urls: list[str], schema: dict[str, Any] | None) -> Any:
        """A view over Parquet files (its schema given, or read from the files); geometry
        columns arrive as ibis geometry."""
        if schema is None or any(ibis_dtype.is_geospatial() for ibis_dtype in _dtypes(schema)):
            select, geometry = parquet_select(self.con.con, urls)
            if geometry and not self.spatial_loaded:
                load_spatial(self.con.con, self.workspace)  # ibis asks for it with geometry
                self.spatial_loaded = True
        else:
            select = "SELECT * FROM read_parquet([" + ", ".join(map(sql_string, urls)) + "])"
        self.con.raw_sql(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {select}")
        return self.con.table(name) if schema is None else bound_table(self.con, name, schema)

    def _spatial_for(self, expression: Any) -> None:
        if not self.spatial_loaded and uses_geometry(expression):
            load_spatial(self.con.con, self.workspace)
            self.spatial_loaded = True

    def view(self, name: str, expression: Any) -> Any:
        """The model as a view: later models read it by name, so its SQL is compiled once."""
        self._spatial_for(expression)
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {compile_sql(self.con, expression)}"
        )
        return bound_table(self.con, name, dict(expression.schema().items()))

    def write_parquet(
        self, expression: Any, local_path: Path, codec: str, crs: dict[str, str] | None = None
    ) -> int:
        """Run the expression into one Parquet file, typed exactly as its ibis schema says (a
        geometry column as GeoParquet, with the CRS `crs` gives it in its metadata)."""
        self._spatial_for(expression)
        crs = crs or {}
        typed = ", ".join(
            f"CAST({sql_identifier(name)} AS {_column_type(dtype, crs.get(name))}) "
            f"AS {sql_identifier(name)}"
            for name, dtype in expression.schema().items()
        )
        written = self.con.con.execute(
            f"COPY (SELECT {typed} FROM ({compile_sql(self.con, expression)})) "
            f"TO {sql_string(str(local_path))} "
            f"(FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 122880)"
        ).fetchone()
        return int(written[0])

    def close(self) -> None:
        self.con.disconnect()


ENGINE = EngineType(name="duckdb", open=DuckDBEngine, provides_database=True)
