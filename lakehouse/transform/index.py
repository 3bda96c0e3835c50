"""Where builds live, how to find them (`builds/<product>/<build id>/build.json`), and
reading a finished build back (its `BuildRecord`): SQL on its database, its contract re-run.

A build whose build.json is damaged is left out of the product's builds, named in a
`DamagedRecordWarning`, so that every other build keeps working; asked for by its id, it is
refused with the same sentence. One written by a newer lakehouse is refused (upgrade): left
out, it would make an older build pass for the latest.

Kept apart from the builder (transform/builder.py) so that recipes can pin another product's
build output as an input without importing it; reading outputs back goes through the DuckDB
engine's `parquet_table` (transform/engines/duckdb.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.archive.archive import Archive
from lakehouse.contracts.contract import BuildTables, check_table
from lakehouse.contracts.dictionary import DICTIONARY_FILE, Dictionary, require_dictionary
from lakehouse.contracts.report import ContractReport
from lakehouse.errors import (
    BuildError,
    IntegrityError,
    InvalidNameError,
    NewerRecordError,
    NotFoundError,
)
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.records import DamagedRecordWarning, parse_stored
from lakehouse.spatial import ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier
from lakehouse.store.storage import Store
from lakehouse.transform.engines.duckdb import parquet_table
from lakehouse.transform.records import OUTPUTS_GROUP, BuildRecord, LockedInputRecord
from lakehouse.transform.seeds import check_seed_copy, read_seed_sql

BUILDS_AREA = "builds"
BUILD_FILE = "build.json"


def build_folder(product: str, build_id: str) -> str:
    return f"{BUILDS_AREA}/{check_dataset_name(product)}/{build_id}"


def output_path(product: str, build_id: str, output: str) -> str:
    """Where a build writes an output as one file, relative to the store root (one written in
    parts is a folder: `product_output_files` reads the build's record to tell)."""
    return f"{build_folder(product, build_id)}/outputs/{output}.parquet"


def product_output_files(store: Store, product: str, build_id: str, output: str) -> list[str]:
    """The Parquet files of a build's output, in order, relative to the store root, as its
    build.json records them (one file, or its parts)."""
    entry = find_build(store, product, build_id)
    recorded = entry.outputs.get(f"outputs/{output}")
    if recorded is None:
        raise NotFoundError(f"build {build_id} of {product!r} has no output {output!r}.")
    folder = build_folder(product, build_id)
    return [f"{folder}/{file.path}" for file in recorded.files()]


def read_build(store: Store, product: str, build_id: str) -> BuildRecord:
    """The build.json of one build (refused, naming the file, if it is damaged or of a newer
    lakehouse)."""
    path = f"{build_folder(product, build_id)}/{BUILD_FILE}"
    try:
        record = parse_stored(BuildRecord, lambda: store.read_bytes(path), store.url(path))
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        raise IntegrityError(_damaged(store, product, build_id, str(exc))) from exc
    if (record.build_id, record.product) != (build_id, product):  # another build's record
        reason = (
            f"{store.url(path)} is the record of build {record.build_id} of "
            f"{record.product!r}, not of this folder's"
        )
        raise IntegrityError(_damaged(store, product, build_id, reason))
    return record


def _damaged(store: Store, product: str, build_id: str, reason: str) -> str:
    return (
        f"{reason}; it is damaged, so build {build_id} of {product!r} cannot be used (the "
        "other builds can): run `lake verify`, then restore the file or remove "
        f"{store.url(build_folder(product, build_id))}."
    )


@dataclass(frozen=True)
class DamagedBuild:
    """A build whose build.json is damaged: the file (relative to the store root) and the error
    saying so."""

    build_id: str
    path: str
    error: IntegrityError

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass
class BuildScan:
    """A product's committed builds that read, oldest first, and those whose record does not."""

    builds: list[BuildRecord] = field(default_factory=list)
    damaged: list[DamagedBuild] = field(default_factory=list)


def scan_builds(store: Store, product: str) -> BuildScan:
    """Every committed build of a product (those with a build.json): the ones that read, oldest
    first, and the damaged ones, each with its sentence (a newer lakehouse's is refused)."""
    scan = BuildScan()
    for build_id in store.list_folders(f"{BUILDS_AREA}/{check_dataset_name(product)}"):
        path = f"{build_folder(product, build_id)}/{BUILD_FILE}"
        if not store.exists(path):
            continue  # unfinished: not a build (lake verify lists it)
        try:
            scan.builds.append(read_build(store, product, build_id))
        except NewerRecordError:
            raise  # a newer lakehouse's build would be hidden, the latest one wrong: upgrade
        except IntegrityError as exc:
            scan.damaged.append(DamagedBuild(build_id, path, exc))
    scan.builds.sort(key=lambda b: b.started_at)
    return scan


def list_builds(store: Store, product: str) -> list[BuildRecord]:
    """Committed builds of a product (those with a build.json), oldest first; a build whose
    build.json is damaged is left out and named in a `DamagedRecordWarning`."""
    return _reported(scan_builds(store, product)).builds


def _reported(scan: BuildScan, stacklevel: int = 3) -> BuildScan:
    for damaged in scan.damaged:
        warnings.warn(damaged.message, DamagedRecordWarning, stacklevel=stacklevel)
    return scan


def damaged_builds(store: Store) -> list[DamagedBuild]:
    """Every build of every product whose build.json cannot be read (for `lake verify`)."""
    found = []
    for product in store.list_folders(BUILDS_AREA):
        try:
            found.extend(scan_builds(store, product).damaged)
        except InvalidNameError:
            continue  # not a product's folder
    return found


def find_build(
    store: Store, product: str, build_id: str | None, *, passed_only: bool = False
) -> BuildRecord:
    """A build's record: the given build id, or the latest build (None or 'latest');
    `passed_only` skips builds that failed their contract."""
    scan = scan_builds(store, product)
    for damaged in scan.damaged:
        if damaged.build_id == build_id:
            raise damaged.error
    found = _reported(scan).builds
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
    body = query.strip().rstrip(";")
    return f"SELECT * REPLACE ({texts}) FROM ({body}\n)"  # a trailing -- comment stays one


def check_build(
    store: Store, contracts_dir: Path, product: str, build_id: str | None
) -> tuple[BuildRecord, ContractReport]:
    """Re-run the product's contracts (from its current dictionary in `contracts_dir`, which
    it must have) on a build's outputs, its `references` too: against the build's outputs and
    kept models, and its inputs as its lock pinned them (archived versions, other products'
    outputs, seeds). A reference to a model the build did not write out cannot be checked
    after the build: it is reported as not checked (`ContractReport.unchecked`). The files are
    read as they are; `lake verify` checks their bytes."""
    import ibis

    dictionary = require_dictionary(contracts_dir, product)
    where = f"{contracts_dir.name}/{product}/{DICTIONARY_FILE}"
    entry = find_build(store, product, build_id)
    con = ibis.duckdb.connect()
    store.register_in_duckdb(con.con)
    report = ContractReport("product", rule_files=[where])
    outputs = output_files(entry)
    checked = [name for name in outputs if name in dictionary.tables]
    named = set(checked) | _referenced(dictionary, checked)
    tables, build = _build_tables(store, con, entry, named, where)
    for name in checked:
        found = check_table(tables[name], name, dictionary.tables[name], build=build)
        report.results += found.results
        report.unchecked += found.unchecked
    return entry, report


def _referenced(dictionary: Dictionary, tables: list[str]) -> set[str]:
    """The tables that the `references` of the dictionary's `tables` name."""
    return {
        column.reference[0]
        for name in tables
        for column in dictionary.tables[name].columns
        if column.reference is not None
    }


def _build_tables(
    store: Store, con: Any, entry: BuildRecord, named: set[str], where: str
) -> tuple[dict[str, Any], BuildTables]:
    """The tables of a finished build that `named` asks for, on `con`: its written outputs
    and kept models, and its inputs as its lock pinned them; the models it did not write out
    are unavailable."""
    written = written_file_lists(entry)
    inputs = entry.lock.inputs
    fingerprints = {alias: pinned.sha256 for alias, pinned in inputs.items()}
    fingerprints |= {name: run.fingerprint for name, run in entry.models.items()}
    tables: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for name in sorted(named & set(fingerprints)):
        if name in inputs:
            tables[name] = _input_table(store, con, name, inputs[name])
        elif name in written:
            tables[name] = parquet_table(con, name, [store.url(path) for path in written[name]])
        else:
            unavailable[name] = (
                f"{name} is an intermediate model that build {entry.build_id} did not write "
                f"out, so only a build checks it (add {name} to keep: in the recipe to have it "
                "written)"
            )
    return tables, BuildTables(fingerprints, tables, where, unavailable)


def written_files(entry: BuildRecord) -> dict[str, str]:
    """Each output and kept model the build wrote -> what DuckDB's `read_parquet` reads for it
    (`OutputRecord.source`: its file, or the glob of its parts), relative to the store root."""
    folder = build_folder(entry.product, entry.build_id)
    return {
        key.rsplit("/", 1)[-1]: f"{folder}/{record.source()}"
        for key, record in entry.outputs.items()
    }


def written_file_lists(entry: BuildRecord) -> dict[str, list[str]]:
    """Each output and kept model the build wrote -> its Parquet files in order (one, or its
    parts), relative to the store root."""
    folder = build_folder(entry.product, entry.build_id)
    return {
        key.rsplit("/", 1)[-1]: [f"{folder}/{file.path}" for file in record.files()]
        for key, record in entry.outputs.items()
    }


def _input_table(store: Store, con: Any, alias: str, pinned: LockedInputRecord) -> Any:
    """A recipe input as the build's lock pinned it, as a view named `alias` on `con`."""
    if pinned.seed is not None:
        url = store.url(check_seed_copy(store, pinned.seed, pinned.sha256))
        select = read_seed_sql(url, pinned.types or {})
        con.raw_sql(f"CREATE OR REPLACE VIEW {sql_identifier(alias)} AS {select}")
        return con.table(alias)
    if pinned.dataset is None:  # another product's build output
        assert pinned.product is not None and pinned.output is not None
        paths = product_output_files(store, pinned.product, pinned.version, pinned.output)
        return parquet_table(con, alias, [store.url(path) for path in paths])
    manifest = Archive(store).manifest(pinned.dataset, pinned.version)
    # a Delta version written by the archive is plain Parquet files (no deletes)
    urls = [store.url(f.path) for f in manifest.data_files if f.path.endswith(".parquet")]
    return parquet_table(con, alias, urls)


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
    """Output name -> what DuckDB's `read_parquet` reads for it (its file, or the glob of its
    parts), relative to the store root, for a build."""
    folder = build_folder(entry.product, entry.build_id)
    return {
        name: f"{folder}/{entry.outputs[f'{OUTPUTS_GROUP}/{name}'].source()}"
        for name in entry.output_names()
    }


def output_file_lists(entry: BuildRecord) -> dict[str, list[str]]:
    """Output name -> its Parquet files in order (one, or its parts), relative to the store
    root, for a build."""
    folder = build_folder(entry.product, entry.build_id)
    return {
        name: [f"{folder}/{f.path}" for f in entry.outputs[f"{OUTPUTS_GROUP}/{name}"].files()]
        for name in entry.output_names()
    }
