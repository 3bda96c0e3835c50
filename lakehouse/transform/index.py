"""Where builds live, how to find them (`builds/<product>/<build id>/build.json`), and
reading a finished build back (its `BuildRecord`): SQL on its database, its contract re-run.

Kept apart from the builder (transform/builder.py) so that recipes can pin another product's
build output as an input without importing it; reading outputs back goes through the DuckDB
engine's `parquet_table` (transform/engines/duckdb.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakehouse.contracts.contract import check_table
from lakehouse.contracts.dictionary import require_dictionary
from lakehouse.contracts.report import ContractReport
from lakehouse.errors import BuildError, NotFoundError
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.spatial import ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier
from lakehouse.store.storage import Store
from lakehouse.transform.engines.duckdb import parquet_table
from lakehouse.transform.records import BuildRecord

BUILDS_AREA = "builds"
BUILD_FILE = "build.json"


def build_folder(product: str, build_id: str) -> str:
    return f"{BUILDS_AREA}/{check_dataset_name(product)}/{build_id}"


def output_path(product: str, build_id: str, output: str) -> str:
    """A build's output file, relative to the store root."""
    return f"{build_folder(product, build_id)}/outputs/{output}.parquet"


def read_build(store: Store, product: str, build_id: str) -> BuildRecord:
    """The build.json of one build (refused, naming the file, if it is damaged or of a newer
    lakehouse)."""
    path = f"{build_folder(product, build_id)}/{BUILD_FILE}"
    return BuildRecord.from_json(store.read_bytes(path), store.url(path))


def list_builds(store: Store, product: str) -> list[BuildRecord]:
    """Committed builds of a product (those with a build.json), oldest first."""
    builds = []
    for build_id in store.list_folders(f"{BUILDS_AREA}/{check_dataset_name(product)}"):
        if store.exists(f"{build_folder(product, build_id)}/{BUILD_FILE}"):
            builds.append(read_build(store, product, build_id))
    return sorted(builds, key=lambda b: b.started_at)


def find_build(
    store: Store, product: str, build_id: str | None, *, passed_only: bool = False
) -> BuildRecord:
    """A build's record: the given build id, or the latest build (None or 'latest');
    `passed_only` skips builds that failed their contract."""
    found = list_builds(store, product)
    if passed_only:
        found = [entry for entry in found if entry.passed]
    if not found:
        raise NotFoundError(f"{product!r} has no builds yet; run `lake build {product}`.")
    if build_id in (None, LATEST):
        return found[-1]

    for entry in found:
        if entry.build_id == build_id:
            return entry
    recent = ", ".join(entry.build_id for entry in found[-5:])
    raise NotFoundError(
        f"{product!r} has no build {build_id!r}; its latest builds: {recent} "
        f"(`lake builds {product}` lists all)."
    )


def query_build(
    store: Store, product: str, query: str, *, build_id: str | None, limit: int | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    if not query.strip():
        raise BuildError('Give a SQL query, e.g. "SELECT count(*) FROM <model>".')
    entry = find_build(store, product, build_id)
    database = Path(entry.database)
    if not database.is_file():
        raise NotFoundError(
            f"The DuckDB database of build {entry.build_id} ({database}) is not in this "
            "workspace; it lives where the build ran."
        )
    with duckdb.connect(str(database), read_only=True) as con:
        store.register_in_duckdb(con)
        try:
            result = con.execute(_geometry_as_wkt(con, query))
        except duckdb.Error as exc:
            raise BuildError(f"The query failed: {str(exc).splitlines()[0]}") from exc
        columns = [d[0] for d in result.description or []]
        records = result.fetchmany(limit) if limit else result.fetchall()
    return columns, records


def _geometry_as_wkt(con: Any, query: str) -> str:
    """The query with its geometry columns as WKT, for people (a query DuckDB cannot describe,
    e.g. a PRAGMA, is left as it is)."""
    import duckdb

    try:
        described = con.execute(f"DESCRIBE {query}").fetchall()
    except duckdb.Error:
        return query
    geometry = [name for name, type_name, *_ in described if is_geometry_type(type_name)]
    if not geometry:
        return query
    ensure_spatial(con)
    texts = ", ".join(f"ST_AsText({sql_identifier(c)}) AS {sql_identifier(c)}" for c in geometry)
    return f"SELECT * REPLACE ({texts}) FROM ({query.strip().rstrip(';')})"


def check_build(
    store: Store, contracts_dir: Path, product: str, build_id: str | None
) -> tuple[BuildRecord, ContractReport]:
    """Re-run the product's contracts (from its current dictionary in `contracts_dir`, which
    it must have) on a build's outputs."""
    import ibis

    dictionary = require_dictionary(contracts_dir, product)
    entry = find_build(store, product, build_id)
    con = ibis.duckdb.connect()
    store.register_in_duckdb(con.con)
    report = ContractReport("product")
    for name, path in output_files(entry).items():
        table = dictionary.tables.get(name)
        if table is None:
            continue
        output = parquet_table(con, f"output_{name}", [store.url(path)])
        report.results.extend(check_table(output, name, table).results)
    return entry, report


def contract_results(store: Store, product: str, build_id: str) -> list[dict[str, Any]]:
    """The rows of a build's contract report (none if the build checked no contract)."""
    import io

    import pyarrow.parquet as pq

    path = f"{build_folder(product, build_id)}/contracts/report.parquet"
    if not store.exists(path):
        return []
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(store.read_bytes(path))).to_pylist()
    return rows


def output_files(entry: BuildRecord) -> dict[str, str]:
    """Output name -> its Parquet file (relative to the store root), for a build."""
    return {name: output_path(entry.product, entry.build_id, name) for name in entry.output_names()}
