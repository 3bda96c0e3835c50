"""The default engine, DuckDB in-process, and the DuckDB helpers every build uses whatever
its engine: the content hash of an output, the ibis type of a manifest's column type, a view
over Parquet files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lakehouse.sql import sql_identifier, sql_string
from lakehouse.transform.engines import EngineContext, EngineType

SPILL_FOLDER = "duckdb-tmp"  # in the workspace


def content_sha256(con: Any, parquet: Path) -> str:
    """A hash of a table's logical content: column names and types, row count, and every row's
    values with its position, independent of how the Parquet file encodes them."""
    path = sql_string(str(parquet))
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    schema = ";".join(f"{name}:{type_name}" for name, type_name, *_ in described)
    columns = ", ".join(sql_identifier(name) for name, *_ in described)
    count, combined = con.execute(
        f"SELECT count(*), bit_xor(hash(file_row_number, {columns})) "
        f"FROM read_parquet({path}, file_row_number = true)"
    ).fetchone()
    return hashlib.sha256(f"{schema}\n{count}\n{combined}".encode()).hexdigest()


def duckdb_type(dtype: Any) -> str:
    import ibis.backends.sql.datatypes as datatypes

    return str(datatypes.DuckDBType.to_string(dtype))


def bound_table(con: Any, name: str, schema: dict[str, Any]) -> Any:
    """An ibis table for a view whose schema is known, without asking the engine for it."""
    import ibis
    import ibis.expr.operations as ops

    return ops.DatabaseTable(name, schema=ibis.schema(schema), source=con).to_expr()


def ibis_type(type_name: str) -> str:
    """The ibis type of a column type recorded in a manifest (DuckDB's names)."""
    import ibis.backends.sql.datatypes as datatypes

    return str(datatypes.DuckDBType.from_string(type_name))


def parquet_table(con: Any, name: str, urls: list[str]) -> Any:
    """An ibis table over Parquet files, through a view read by DuckDB with the filesystems
    registered on `con` (ibis's own read_parquet would try to download httpfs for s3://)."""
    files = ", ".join(sql_string(url) for url in urls)
    con.raw_sql(
        f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS SELECT * FROM read_parquet([{files}])"
    )
    return con.table(name)


class DuckDBEngine:
    """The default engine: one DuckDB database file per build (every model a view in it, for
    `lake sql`), reading the store through its registered filesystem; beyond `memory_limit`
    it spills to <workspace>/duckdb-tmp."""

    name = "duckdb"

    def __init__(self, context: EngineContext) -> None:
        import ibis

        self.con = ibis.duckdb.connect(str(context.database))
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
        """A view over Parquet files (its schema given, or read from the files)."""
        files = "[" + ", ".join(sql_string(url) for url in urls) + "]"
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS SELECT * FROM read_parquet({files})"
        )
        return self.con.table(name) if schema is None else bound_table(self.con, name, schema)

    def view(self, name: str, expression: Any) -> Any:
        """The model as a view: later models read it by name, so its SQL is compiled once."""
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {self.con.compile(expression)}"
        )
        return bound_table(self.con, name, dict(expression.schema().items()))

    def write_parquet(self, expression: Any, local_path: Path, codec: str) -> int:
        """Run the expression into one Parquet file, typed exactly as its ibis schema says."""
        typed = ", ".join(
            f"CAST({sql_identifier(name)} AS {duckdb_type(dtype)}) AS {sql_identifier(name)}"
            for name, dtype in expression.schema().items()
        )
        written = self.con.con.execute(
            f"COPY (SELECT {typed} FROM ({self.con.compile(expression)})) "
            f"TO {sql_string(str(local_path))} "
            f"(FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 122880)"
        ).fetchone()
        return int(written[0])

    def close(self) -> None:
        self.con.disconnect()


ENGINE = EngineType(name="duckdb", open=DuckDBEngine, provides_database=True)
