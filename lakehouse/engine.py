"""Running ibis expressions on DuckDB: the few engine-specific pieces the builder needs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lakehouse.sql import sql_identifier, sql_string


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
