"""The DuckDB engine on its own: the settings it takes from the build, the database it leaves
for `lake sql`, the types it writes, and the content hash every build's outputs get."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.store.storage import Store
from lakehouse.transform.engines import EngineContext
from lakehouse.transform.engines.duckdb import DuckDBEngine, content_sha256, ibis_type


def context(tmp_path: Path, **settings: object) -> EngineContext:
    workspace = tmp_path / "workspace"
    (workspace / "product").mkdir(parents=True, exist_ok=True)
    (tmp_path / "scratch").mkdir(exist_ok=True)
    return EngineContext(
        store=Store(str(tmp_path / "store")),
        database=workspace / "product" / "build.duckdb",
        workspace=workspace,
        scratch=tmp_path / "scratch",
        **settings,  # type: ignore[arg-type]
    )


def settings(engine: DuckDBEngine) -> tuple[str, int, str]:
    row = engine.con.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('temp_directory')"
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_the_memory_limit_and_threads_of_the_config_are_set(tmp_path: Path) -> None:
    engine = DuckDBEngine(context(tmp_path, memory_limit="1GiB", threads=1))
    try:
        assert settings(engine) == ("1.0 GiB", 1, str(tmp_path / "workspace" / "duckdb-tmp"))
    finally:
        engine.close()
    assert (tmp_path / "workspace" / "duckdb-tmp").is_dir()  # spills go to the workspace


def test_without_settings_duckdb_keeps_its_defaults(tmp_path: Path) -> None:
    defaults = (
        duckdb.connect()
        .execute("SELECT current_setting('memory_limit'), current_setting('threads')")
        .fetchone()
    )
    engine = DuckDBEngine(context(tmp_path))
    try:
        assert settings(engine)[:2] == defaults
    finally:
        engine.close()


def test_every_model_is_a_view_in_the_database_it_leaves(tmp_path: Path) -> None:
    source = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"n": pa.array([3, 1, 2], pa.int32())}), source)
    ctx = context(tmp_path)
    engine = DuckDBEngine(ctx)
    try:
        numbers = engine.parquet_table("numbers", [str(source)], {"n": ibis_type("INTEGER")})
        doubled = engine.view("doubled", numbers.select(n=numbers.n * 2))
        total = doubled.aggregate(total=doubled.n.sum())  # DuckDB alone would give HUGEINT
        rows = engine.write_parquet(total, tmp_path / "total.parquet", "zstd")
    finally:
        engine.close()
    assert rows == 1
    written = pq.read_table(tmp_path / "total.parquet")
    assert written.schema.field("total").type == pa.int64()  # as the ibis schema says
    assert written.to_pylist() == [{"total": 12}]
    with duckdb.connect(str(ctx.database), read_only=True) as con:
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        assert {"numbers", "doubled"} <= views
        assert con.execute("SELECT list(n ORDER BY n) FROM doubled").fetchone() == ([2, 4, 6],)


def test_a_schema_given_is_trusted_one_not_given_is_read(tmp_path: Path) -> None:
    source = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"n": pa.array([1], pa.int32())}), source)
    engine = DuckDBEngine(context(tmp_path))
    try:
        read = engine.parquet_table("read", [str(source)], None)
        given = engine.parquet_table("given", [str(source)], {"n": ibis.dtype("int64")})
        assert str(read.schema()["n"]) == "int32"
        assert str(given.schema()["n"]) == "int64"  # the manifest's word, not asked again
    finally:
        engine.close()


@pytest.fixture
def table() -> pa.Table:
    return pa.table(
        {"id": pa.array(range(1000), pa.int64()), "name": [f"n{i}" for i in range(1000)]}
    )


def content_of(tmp_path: Path, data: pa.Table, name: str, **options: object) -> str:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(data, path, **options)  # type: ignore[arg-type]
    with duckdb.connect() as con:
        return content_sha256(con, path)


def test_the_content_hash_ignores_the_encoding(tmp_path: Path, table: pa.Table) -> None:
    plain = content_of(tmp_path, table, "plain")
    assert len(plain) == 64
    assert content_of(tmp_path, table, "zstd", compression="zstd", row_group_size=100) == plain
    assert content_of(tmp_path, table, "lz4", compression="lz4", use_dictionary=False) == plain


def test_the_content_hash_sees_values_order_types_and_names(
    tmp_path: Path, table: pa.Table
) -> None:
    plain = content_of(tmp_path, table, "plain")
    changed = table.set_column(1, "name", pa.array([*table["name"].to_pylist()[:-1], "other"]))
    others = {
        "a value": changed,
        "the order": table.take([*range(1, 1000), 0]),
        "a type": table.cast(pa.schema([("id", pa.int32()), ("name", pa.string())])),
        "a name": table.rename_columns(["key", "name"]),
        "a row fewer": table.slice(0, 999),
    }
    for what, data in others.items():
        assert content_of(tmp_path, data, what.replace(" ", "_")) != plain, what
