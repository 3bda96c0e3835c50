"""Builds: run a product's models (ibis expressions) on an engine, DuckDB unless told
otherwise (see `lakehouse.transform.engines`), cached by fingerprint.

A build reads the locked input versions from the archive, runs each model in dependency order,
and lands in `builds/<product>/<build id>/` (outputs as Parquet, the lock, build.json written
last as the commit point: see `build_folder`). Every model's result is kept in
`cache/<product>/<model>/` under its fingerprint (its code, its inputs' fingerprints, the
engine's name and package versions); a model whose fingerprint is cached is reused, not
recomputed, once its file is checked against the sha256 it was written with (see
`lakehouse.transform.cache`: a damaged entry is set aside and the model rebuilt). The build's
DuckDB database file, in the local workspace, holds a view of every model (or, after an engine
that keeps no such database, of every table model) for questions after the build.

`Builder(spec, site, options)`: what is built (`BuildSpec`), where and with what
(`BuildSite`), on which engine (`EngineOptions`).
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.archive.archive import Archive
from lakehouse.contracts.check import check_schema
from lakehouse.contracts.contract import BuildTables, Contract, dictionary_contract
from lakehouse.contracts.dictionary import Dictionary, schema_differences
from lakehouse.contracts.facts import parquet_facts
from lakehouse.contracts.records import ContractResults
from lakehouse.contracts.report import fix_advice
from lakehouse.errors import (
    BuildError,
    ContractError,
    IntegrityError,
    NewerRecordError,
    first_line,
)
from lakehouse.names import check_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.records import DamagedRecordWarning, damage_reason
from lakehouse.sql import sql_identifier, sql_string
from lakehouse.store.lease import LEASE_FILE
from lakehouse.store.storage import Store, sha256_of_file
from lakehouse.store.writers import (
    HeldLease,
    abandoned_temporaries,
    hold,
    remove_abandoned,
    remove_held,
)
from lakehouse.transform.build_folder import BuildProvenance, write_build_folder
from lakehouse.transform.build_result import BuildResult, ModelRun
from lakehouse.transform.cache import (
    Damage,
    entry_path,
    parts_folder,
    result_path,
    set_aside,
    stored_parts,
)
from lakehouse.transform.engines import ENGINES, AnyEngine, EngineContext, PartsEngine
from lakehouse.transform.engines.duckdb import DuckDBEngine, content_sha256, ibis_type
from lakehouse.transform.index import (
    BUILDS_AREA,
    build_folder,
    product_output_files,
)
from lakehouse.transform.inputs import check_dataset_input, check_product_input
from lakehouse.transform.leftovers import unfinished_builds, workspace_database
from lakehouse.transform.models import Model, plan
from lakehouse.transform.recipe import Lock, Recipe
from lakehouse.transform.records import (
    CacheEntry,
)
from lakehouse.transform.reuse import (
    ModelKey,
    cached_result,
    contract_results_path,
    declared_crs,
    engine_package_versions,
    engine_text,
    fingerprint_models,
    input_fingerprint,
    is_published,
    is_view,
    lock_fingerprints,
    model_fingerprint,
)
from lakehouse.transform.seeds import check_seed_copy, seed_to_parquet
from lakehouse.transform.selection import read_by

__all__ = [  # the fingerprints live in transform/reuse.py, shared with `lake plan`
    "BuildResult",
    "BuildSite",
    "BuildSpec",
    "Builder",
    "EngineOptions",
    "ModelRun",
    "engine_package_versions",
    "evaluate",
    "input_fingerprint",
    "model_fingerprint",
    "new_build_id",
]

if TYPE_CHECKING:
    import ibis.expr.types as ir


@dataclass(frozen=True)
class BuildSpec:
    """What a build makes: the product's recipe, its lock, its models, and what its results
    are checked against (the data dictionary, with the file it came from for messages, and
    the hand-written contracts by model)."""

    recipe: Recipe
    lock: Lock
    models: dict[str, Model]
    dictionary: Dictionary | None = None
    dictionary_file: Path | None = None
    contracts: dict[str, Contract] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildSite:
    """Where a build reads and writes, and what it records and reports: the store, the
    archive, the local workspace (DuckDB databases, spill), the project's git state
    (`provenance.git_state`), a progress reporter."""

    store: Store
    archive: Archive
    workspace: Path
    git: dict[str, Any]
    progress: Progress = no_progress


@dataclass(frozen=True)
class EngineOptions:
    """What a build runs on: an engine of `ENGINES` by name, and the resources it may use
    (engines that cannot limit them ignore them)."""

    engine: str = "duckdb"
    memory_limit: str | None = None  # e.g. "2GB"
    threads: int | None = None


def new_build_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


class Builder:
    """Runs one build of one product."""

    def __init__(
        self, spec: BuildSpec, site: BuildSite, options: EngineOptions = EngineOptions()
    ) -> None:
        self.spec, self.site, self.options = spec, site, options
        self.engine_type = ENGINES.get(options.engine)  # an unknown name fails here
        self.engine_name = self.engine_type.name
        # part of every fingerprint: a result of another engine or version is not reused
        self.packages = engine_package_versions(self.engine_name)  # recorded in build.json
        self.engine_fingerprint = engine_text(self.engine_name, self.packages)
        # the parts the methods below use most
        self.store, self.archive, self.workspace = site.store, site.archive, site.workspace
        self.git, self.progress = site.git, site.progress
        self.recipe, self.lock, self.models = spec.recipe, spec.lock, spec.models
        self.dictionary, self.dictionary_file = spec.dictionary, spec.dictionary_file
        self.contracts = spec.contracts
        self.provenance = BuildProvenance(
            self.recipe, self.lock, self.engine_name, self.packages, self.git
        )  # what build.json records of how the build was made
        self.views: dict[str, Model] = {}
        self.selected: list[str] = []  # the models a selection runs (`run(select=...)`)
        self.result: BuildResult | None = None  # the build under way
        self.step = (0, 0)  # its progress: models done, of how many

    def run(self, *, full_refresh: bool = False, select: Sequence[str] = ()) -> BuildResult:
        """Build the product; with `select` (model names, see transform/selection.py), run only
        those models and what they read, check their contracts, and keep their results in the
        cache for the next build: no build folder is recorded, nothing is published."""
        product = check_dataset_name(self.recipe.name)
        self.selected = list(select)
        started = datetime.now(UTC)
        build_id = new_build_id(started)
        folder = build_folder(product, build_id)
        database = workspace_database(self.workspace, product, build_id)
        database.parent.mkdir(parents=True, exist_ok=True)
        targets = self.selected or list(dict.fromkeys([*self.recipe.outputs, *self.recipe.keep]))
        order = plan(self.models, self.lock.inputs, targets)
        keys = self.model_keys(order)
        selected = [name for name in order if name in self.selected]
        result = BuildResult(build_id, product, folder, database, selected=selected)
        self.result = result
        remove_abandoned(unfinished_builds(self.store, self.workspace, product))
        remove_abandoned(abandoned_temporaries(self.store, f"{BUILDS_AREA}/{product}"))
        # the lease first: a build killed from here on is told from a live one, and removed
        lease = hold(self.store, f"{folder}/{LEASE_FILE}", "build")
        try:
            with self.store.scratch_dir() as scratch:
                con = self._open_engine(database, scratch)
                try:
                    tables = self._register_inputs(con, scratch)
                    for index, name in enumerate(order):
                        self.step = (index, len(order))
                        self.progress(f"model {name}", index, len(order))
                        run = self._run_model(
                            con, scratch, self.models[name], tables, keys[name], full_refresh
                        )
                        result.models.append(run)
                        contract = self.contracts.get(name)
                        if contract and name not in self.recipe.outputs:
                            self._check(contract, tables[name], run, result, full_refresh)
                            if not result.contracts.passed:
                                result.stopped_at = name
                                break
                    if result.stopped_at is None:
                        self._check_dictionary(result)
                        self.progress("checking contracts", len(order), len(order))
                        for contract in self._output_contracts(tables):
                            run = next(r for r in result.models if r.name == contract.model)
                            self._check(contract, tables[contract.model], run, result, full_refresh)
                    self.progress("recording the build", len(order), len(order))
                finally:
                    con.close()
                if self.selected:
                    self._discard(folder, lease, database)
                else:
                    if not self.engine_type.provides_database:
                        self._workspace_database(database, result)
                    write_build_folder(self.store, result, self.provenance, order, started)
            if not result.contracts.passed:
                raise ContractError(self._failure(result))
        except ContractError:
            raise
        except BaseException:
            self._discard(folder, lease, database)
            raise
        finally:
            lease.release()
        return result

    def _failure(self, result: BuildResult) -> str:
        failed = result.contracts.failure_text()
        layer = result.contracts.blocking[0].layer
        stopped = f" and stopped after {result.stopped_at}" if result.stopped_at else ""
        advice = fix_advice(self._rule_files(result))
        if self.selected:
            return (
                f"The selected models of {result.product!r} failed their {layer} contract: "
                f"{failed}{stopped}; nothing was recorded (a selection makes no build): "
                f"{advice}."
            )
        return (
            f"Build {result.build_id} of {result.product!r} failed its {layer} contract: "
            f"{failed}{stopped}; it is recorded as failed and cannot be published: {advice}, "
            f"and build again (see {self.store.url(result.folder)}/contracts/report.txt)."
        )

    def _rule_files(self, result: BuildResult) -> list[str]:
        """The files the blocking rules are written in: an output's data dictionary, a model's
        hand-written contract."""
        found = []
        for failed in result.contracts.blocking:
            if failed.table in self.recipe.outputs and self.dictionary is not None:
                found.append(str(self.dictionary_file or "the data dictionary"))
            if failed.table in self.contracts:
                found.append(self.contracts[failed.table].defined_in)
        return found

    def _discard(self, folder: str, lease: HeldLease, database: Path) -> None:
        """Remove the build's folder (its lease last) and its workspace database."""
        remove_held(self.store, folder, lease)
        for leftover in (database, database.with_name(database.name + ".wal")):
            leftover.unlink(missing_ok=True)

    def model_keys(self, order: list[str]) -> dict[str, ModelKey]:
        """The fingerprint of each model of `order`, from the lock and the code alone (what
        `lake plan` computes too)."""
        crs = {name: self._output_crs(name) for name in order}
        return fingerprint_models(self.models, order, self.lock, self.engine_fingerprint, crs)

    # -- engine ---------------------------------------------------------------------------------

    def _open_engine(self, database: Path, scratch: Path) -> AnyEngine:
        context = EngineContext(
            store=self.store,
            database=database,
            workspace=self.workspace,
            scratch=scratch,
            memory_limit=self.options.memory_limit,
            threads=self.options.threads,
            progress=self.progress,
        )
        return self.engine_type.open(context)

    def _register_inputs(self, con: AnyEngine, scratch: Path) -> dict[str, ir.Table]:
        tables: dict[str, ir.Table] = {}
        for alias, pinned in self.lock.inputs.items():
            if pinned.seed is not None:  # a CSV of the repo, as the lock pinned its bytes
                stored = check_seed_copy(self.store, pinned.seed, pinned.sha256)
                local = scratch / f"seed-{alias}.parquet"
                seed_to_parquet(self.store, stored, pinned.types or {}, local)
                tables[alias] = con.parquet_table(alias, [str(local)], None)
            elif pinned.dataset is None:  # another product's build output
                assert pinned.product and pinned.output
                check_product_input(self.store, pinned.product, pinned.version, pinned.output)
                paths = product_output_files(
                    self.store, pinned.product, pinned.version, pinned.output
                )
                tables[alias] = con.parquet_table(alias, [self.store.url(p) for p in paths], None)
            else:
                manifest = self.archive.manifest(pinned.dataset, pinned.version)
                check_dataset_input(self.store, manifest, self.progress)
                # a Delta version written by the archive is plain Parquet files (no deletes)
                urls = [
                    self.store.url(f.path)
                    for f in manifest.data_files
                    if f.path.endswith(".parquet")
                ]
                schema = (
                    None
                    if manifest.geometry_column or manifest.storage == "delta"
                    else {c.name: ibis_type(c.type) for c in manifest.columns}
                )
                tables[alias] = con.parquet_table(alias, urls, schema)
        return tables

    def _run_model(
        self,
        con: AnyEngine,
        scratch: Path,
        found: Model,
        tables: dict[str, ir.Table],
        key: ModelKey,
        full_refresh: bool,
    ) -> ModelRun:
        fingerprint = key.fingerprint
        start = time.perf_counter()
        published = is_published(self.recipe, found.name)
        if is_view(found, self.recipe) and found.name not in self.selected:
            expression = self._expression(found, tables)
            self.views[found.name] = found
            tables[found.name] = con.view(found.name, expression)
            return ModelRun(
                found.name, found.layer, fingerprint, "view", time.perf_counter() - start, key=key
            )
        cache_info = entry_path(self.recipe.name, found.name, fingerprint)
        info = self._cached(found.name, key, full_refresh)
        status: Literal["built", "cached"] = "cached"
        if info is None:
            status = "built"
            expression = self._expression(found, tables)
            info = self._compute(con, scratch, found, expression, cache_info, published)
        urls = [self.store.url(file) for file in info.files()]
        tables[found.name] = con.parquet_table(found.name, urls, info.columns)
        return ModelRun(
            found.name,
            found.layer,
            fingerprint,
            status,
            time.perf_counter() - start,
            info.rows,
            info.content_sha256,
            info.file,
            info.columns,
            key,
            info.parts,
        )

    def _cached(self, model: str, key: ModelKey, full_refresh: bool) -> CacheEntry | None:
        """The cache entry of a fingerprint, if complete (a published model needs its hash) and
        sound (its file hashes as written); a damaged one is set aside and reported."""
        lookup = cached_result(self.store, self.recipe, key, full_refresh=full_refresh)
        if lookup.damage is not None:
            self._damaged(model, lookup.damage, f"{model} is rebuilt")
        elif lookup.note is not None:
            self.progress(lookup.note, *self.step)
        return lookup.entry

    def _damaged(self, model: str, damage: Damage, redo: str) -> None:
        """Set a damaged cache entry aside, and say so: in the progress, as a warning, in the
        build's result."""
        assert self.result is not None
        message = set_aside(self.store, self.recipe.name, model, self.result.build_id, damage, redo)
        self.result.damaged.append(message)
        self.progress(message, *self.step)
        warnings.warn(message, DamagedRecordWarning, stacklevel=4)

    def _expression(self, found: Model, tables: dict[str, ir.Table]) -> ir.Table:
        expression: ir.Table = found.expression(tables)
        return expression

    def _compute(
        self,
        con: Any,
        scratch: Path,
        found: Model,
        expression: Any,
        cache_info: str,
        published: bool,
    ) -> CacheEntry:
        """Run the model into a new cache file, typed exactly as the expression says; published
        models get zstd and a content hash. The entry's .json, written last, points at it, so an
        existing cache file is never overwritten and an interrupted run leaves no entry."""
        codec = "zstd" if published else "lz4_raw"  # an intermediate is written once, read once
        if self.engine_type.writes_parts:
            return self._compute_parts(con, found, expression, cache_info, codec, published)
        local = scratch / f"{found.name}.parquet"
        schema = dict(expression.schema().items())
        try:
            crs = self._output_crs(found.name) or None
            rows = con.write_parquet(expression, local, codec, crs)
            content = _output_hash(con, local) if published else None
        except Exception as exc:
            raise BuildError(self._engine_failure(found, exc)) from exc
        cache_file = result_path(cache_info, sha256_of_file(local)[0])  # checked before reuse
        self.store.put_file(local, cache_file, move=True)
        info = CacheEntry(
            model=found.name,
            file=cache_file,
            rows=rows,
            content_sha256=content,
            schema={name: str(dtype) for name, dtype in schema.items()},
        )
        self.store.write_bytes(cache_info, info.to_json(indent=None))
        return info

    def _compute_parts(
        self,
        con: PartsEngine,
        found: Model,
        expression: Any,
        cache_info: str,
        codec: str,
        published: bool,
    ) -> CacheEntry:
        """Run the model on an engine that writes it itself, in ordered parts, into a new
        folder of the cache; each part is hashed where it lies and recorded in the entry, whose
        .json, written last, points at the folder (a failed run's folder is removed)."""
        folder = parts_folder(cache_info)
        try:
            crs = self._output_crs(found.name) or None
            paths = con.write_parts(expression, folder, codec, crs)
            parts = stored_parts(self.store, paths)
            urls = [self.store.url(path) for path in paths]
            content = _content_hash(urls, self.store) if published else None
        except Exception as exc:
            self.store.remove_folder(folder)
            raise BuildError(self._engine_failure(found, exc)) from exc
        info = CacheEntry(
            model=found.name,
            file=folder,
            rows=sum(part.rows for part in parts),
            content_sha256=content,
            schema={name: str(dtype) for name, dtype in expression.schema().items()},
            parts=parts,
        )
        self.store.write_bytes(cache_info, info.to_json(indent=None))
        return info

    def _output_crs(self, name: str) -> dict[str, str]:
        """The CRS the data dictionary declares for each geometry column of an output."""
        return declared_crs(self.recipe, self.spec.dictionary, name)

    def _engine_failure(self, found: Model, exc: Exception) -> str:
        upstream = [name for name in self.views if name in read_by(self.models, found.name)]
        within = f" or a view it reads ({', '.join(upstream)})" if upstream else ""
        return (
            f"Model {found.name!r} ({found.defined_in}){within} failed in the engine: "
            f"{first_line(exc)}"
        )

    def _output_contracts(self, tables: dict[str, ir.Table]) -> list[Contract]:
        """The product layer's contracts: each output's dictionary entry (its `references`
        checked against the build's `tables`), then any hand-written contract on it."""
        found = []
        assert self.result is not None
        ran = {run.name for run in self.result.models}
        fingerprints = lock_fingerprints(self.lock) | {
            r.name: r.fingerprint for r in self.result.models
        }
        build = BuildTables(
            fingerprints, tables, str(self.dictionary_file or "the data dictionary")
        )
        for name in self.recipe.outputs:
            if name not in ran:  # not selected
                continue
            if self.dictionary is not None:
                found.append(dictionary_contract(name, self.dictionary.tables[name], build))
            if name in self.contracts:
                found.append(self.contracts[name])
        return found

    def _check(
        self, contract: Contract, t: Any, run: ModelRun, result: BuildResult, full_refresh: bool
    ) -> None:
        """Check one model's contract on the engine; an unchanged model checked against an
        unchanged contract reuses the earlier results."""
        started = time.perf_counter()
        layer = "product" if run.name in self.recipe.outputs else run.layer
        cached = contract_results_path(self.recipe.name, run.name, run.fingerprint, contract.digest)
        results = None if full_refresh else self._cached_results(run.name, cached)
        if results is None:
            # a table's files already tell its empty values and ranges (their footers)
            facts = parquet_facts(t, [self.store.url(file) for file in run.cache_files])
            results = check_schema(t, run.name, contract.schema, layer, facts).results
            self.store.write_bytes(cached, ContractResults.of(results).to_json(None))
        result.contracts.results.extend(results)
        result.contract_seconds += time.perf_counter() - started

    def _cached_results(self, model: str, cached: str) -> list[Any] | None:
        """A model's cached contract results, if there are any and they read; damaged ones are
        set aside and reported (the contract is then checked again)."""
        if not self.store.exists(cached):
            return None
        data = self.store.read_bytes(cached)
        where = self.store.url(cached)
        try:
            return ContractResults.from_json(data, where).rule_results()
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            reason = damage_reason(exc)
        except RecursionError:  # nested too deep for the JSON reader
            reason = f"{where} is not valid JSON (nested too deep)"
        self._damaged(model, Damage(reason, (cached,)), f"{model}'s contract is checked again")
        return None

    def _check_dictionary(self, result: BuildResult) -> None:
        """Every output must be what the product's data dictionary describes."""
        if self.dictionary is None:
            return
        where = self.dictionary_file or "the data dictionary"
        ran = {run.name for run in result.models}
        for name in self.recipe.outputs:
            if name not in ran:  # not selected
                continue
            table = self.dictionary.tables.get(name)
            if table is None:
                raise BuildError(
                    f"{where} does not describe the output {name!r}; add it under tables:."
                )
            run = next(run for run in result.models if run.name == name)
            problems = schema_differences(table, run.schema or {})
            if problems:
                raise BuildError(
                    f"Output {name!r} disagrees with {where}: {'; '.join(problems)}; fix the "
                    "transform or the dictionary."
                )

    def _workspace_database(self, database: Path, result: BuildResult) -> None:
        """For a build on another engine: a DuckDB database with a view of each table model's
        result, so `lake sql` works the same."""
        import duckdb

        with duckdb.connect(str(database)) as con:
            self.store.register_in_duckdb(con)
            for run in result.models:
                if run.cache_file:
                    urls = ", ".join(sql_string(self.store.url(f)) for f in run.cache_files)
                    con.execute(
                        f"CREATE OR REPLACE VIEW {sql_identifier(run.name)} AS SELECT * FROM "
                        f"read_parquet([{urls}])"
                    )


def _output_hash(con: Any, written: Path) -> str:
    """The content hash of a file the engine wrote: on the build's own DuckDB connection when
    it is DuckDB's (no second connection opened), else as `_content_hash`."""
    if isinstance(con, DuckDBEngine):
        return content_sha256(con.con.con, written)
    return _content_hash(written)


def _content_hash(files: Path | list[str], store: Store | None = None) -> str:
    """The content hash of a written Parquet file, or of parts (URLs of `store`, in order), by
    DuckDB whatever engine wrote them."""
    import duckdb

    with duckdb.connect() as con:
        if store is not None:
            store.register_in_duckdb(con)
        return content_sha256(con, files)


def evaluate(models: dict[str, Model], inputs: dict[str, Any], target: str, con: Any = None) -> Any:
    """Run the models needed for `target` on in-memory inputs (Arrow tables or pandas frames,
    or tables of `con`, an ibis DuckDB connection, e.g. one with geometry made by SQL) with
    DuckDB, and return the result as an Arrow table: for tests and notebooks."""
    import ibis

    con = con if con is not None else ibis.duckdb.connect()
    tables: dict[str, Any] = {
        name: data if isinstance(data, ibis.Table) else ibis.memtable(data)
        for name, data in inputs.items()
    }
    for name in plan(models, inputs, [target]):
        found = models[name]
        tables[name] = found(**{param: tables[param] for param in found.inputs})
    return con.to_pyarrow(tables[target])
