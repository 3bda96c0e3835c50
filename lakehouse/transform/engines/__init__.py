"""Engines: what runs a build's ibis expressions. DuckDB (in-process, the default) and Spark are
built in; any other engine is a module that another package provides.

The builder never names an engine. It looks the name given to `lake build --engine` up in
`ENGINES`, opens the engine once per build with an `EngineContext`, asks it for a table over
each input's Parquet files, turns every view model into `view(...)`, runs every table model
into one local Parquet file with `write_parquet(...)` (which the builder then moves into the
store's cache and hashes with DuckDB, so builds on different engines can be compared), or,
for an engine that `writes_parts`, into ordered part files the engine writes into the cache
itself (`write_parts(...)`), and closes it. Reading, caching, contracts and the build folder
stay the builder's.

Adding an engine, e.g. Polars through ibis's Polars backend, in a package `lakehouse_polars`
(an engine is a class with the methods of `Engine`, and an `EngineType` that names it):

    from pathlib import Path

    import ibis
    import pyarrow.parquet as pq

    from lakehouse.transform.engines import EngineContext, EngineType


    class PolarsEngine:
        name = "polars"

        def __init__(self, context: EngineContext) -> None:
            # context: store, database, workspace, scratch, memory_limit, threads, progress
            self.con = ibis.polars.connect()

        def parquet_table(self, name, urls, schema):
            # an ibis table named `name` over these Parquet files: store URLs (local paths
            # here; on an s3:// store, copy them to context.scratch first, as the Spark
            # engine does, if the engine cannot read s3://). `schema` (column -> ibis type)
            # is given when the archive knows it, else None; it may be ignored.
            return self.con.read_parquet(urls, table_name=name)

        def view(self, name, expression):
            # a view model: return a table later models can read; registering it by name
            # lets the engine compile it once, returning `expression` itself is also fine
            return expression

        def write_parquet(self, expression, local_path: Path, codec: str, crs=None) -> int:
            # run the expression into ONE Parquet file at local_path, its columns typed as
            # expression.schema() says, its rows in the order the expression gives them,
            # compressed with `codec` ("zstd" or "lz4_raw"); return the number of rows
            # (`crs`, {geometry column: "EPSG:2263"}, matters only to engines with geometry)
            table = self.con.to_pyarrow(expression)  # typed as the expression's schema
            pq.write_table(table, local_path, compression={"lz4_raw": "lz4"}.get(codec, codec))
            return table.num_rows

        def close(self) -> None:
            self.con.disconnect()


    ENGINE = EngineType(name="polars", open=PolarsEngine, packages=("polars",))

and in the package's pyproject.toml (the entry point group `lakehouse.engines`):

    [project.entry-points."lakehouse.engines"]
    polars = "lakehouse_polars:ENGINE"     # the EngineType; its name must be "polars"

`lake build <product> --engine polars` then runs on it, as far as ibis's backend supports
the product's expressions (a model it cannot run fails the build with a BuildError that names
the model). A test or notebook can instead call `ENGINES.register(ENGINE)`, and
`ENGINES.unregister("polars")` after; tests/transform/engines/toy.py is a complete engine
registered that way. What `EngineType` says about the engine:

- `packages`: the Python packages whose versions, beside `BUILD_PACKAGES` (lakehouse, ibis,
  DuckDB, sqlglot, pyarrow: every build compiles with ibis and hashes with DuckDB), go into
  build.json's `packages` and into every model's fingerprint; the engine's name goes into the
  fingerprint too, so a result computed by another engine, or another version, is not reused.
- `provides_database`: True if the engine leaves at `context.database` a DuckDB database file
  with a view of every model (DuckDB does); otherwise the builder writes that file after the
  build, with a view of each table model's result, so that `lake sql` answers the same on
  every engine.
- `writes_parts`: True if the engine's workers write each table model straight into the
  store, as ordered part files, with `write_parts(expression, folder, codec, crs)` in place
  of `write_parquet` (a `PartsEngine`; Spark is one, so that no result passes through the
  driver); the result is then kept as a folder of parts (`CacheEntry.parts`,
  `OutputRecord.parts`) instead of one file.

`open(context)` may take a while (Spark starts a JVM): report it with `context.progress`. An
error the user can fix is a `lakehouse.errors.BuildError` with a one-sentence fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lakehouse.errors import BuildError
from lakehouse.progress import Progress, no_progress
from lakehouse.registry import Registry

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from lakehouse.store.storage import Store

BUILD_PACKAGES = ("lakehouse", "ibis-framework", "duckdb", "sqlglot", "pyarrow")
"""Packages every build uses whatever its engine (ibis compiles, DuckDB hashes the outputs)."""


class EngineBase(Protocol):
    """One open engine, for one build: what the builder calls on every engine."""

    @property
    def name(self) -> str:
        """The name of its `EngineType`."""
        ...

    def parquet_table(self, name: str, urls: list[str], schema: dict[str, Any] | None) -> ir.Table:
        """A table called `name` over Parquet files (store URLs), with the given schema
        (column -> ibis type) or, when None, the one the files have."""
        ...

    def view(self, name: str, expression: ir.Table) -> ir.Table:
        """A view model: the table later models read in its place."""
        ...

    def close(self) -> None:
        """Release the engine (the build is over, or failed)."""
        ...


class Engine(EngineBase, Protocol):
    """An engine whose table models the builder writes as one local file each, then moves
    into the store: what most engines are (DuckDB, the example above)."""

    def write_parquet(
        self,
        expression: ir.Table,
        local_path: Path,
        codec: str,
        crs: dict[str, str] | None = None,
    ) -> int:
        """Run `expression` into one Parquet file at `local_path`, typed as its ibis schema,
        in its order, compressed with `codec`; the number of rows written. `crs` gives a
        geometry column's CRS ({column: "EPSG:2263"}, from the dictionary, for an output), to
        record in the GeoParquet metadata; an engine without geometry ignores it."""
        ...


class PartsEngine(EngineBase, Protocol):
    """An engine that writes each table model itself, in parallel, into the store: an
    `EngineType` with `writes_parts` (Spark). The builder calls `write_parts` where it would
    call `write_parquet`, then hashes the parts (their bytes, and their rows with DuckDB)
    where they lie."""

    def write_parts(
        self, expression: ir.Table, folder: str, codec: str, crs: dict[str, str] | None = None
    ) -> list[str]:
        """Run `expression` into Parquet part files in `folder` of the store (relative to its
        root; new), each typed as its ibis schema and compressed with `codec`, the rows in the
        expression's order when the parts are read in the returned order; the parts' paths,
        relative to the store root. Nothing else may be left in `folder`."""
        ...


AnyEngine = Engine | PartsEngine
"""What `EngineType.open` returns: an engine of either kind."""


@dataclass(frozen=True)
class EngineContext:
    """What an engine is opened with, for one build."""

    store: Store
    database: Path  # <workspace>/<product>/<build id>.duckdb: the build's database for `lake sql`
    workspace: Path  # the local workspace (DuckDB spills to <workspace>/duckdb-tmp)
    scratch: Path  # a local folder of this build's, removed after it
    memory_limit: str | None = None  # e.g. "2GB"; None: the engine's default
    threads: int | None = None  # None: the engine's default
    progress: Progress = no_progress


@dataclass(frozen=True)
class EngineType:
    """A kind of engine, as registered in `ENGINES` (see the module's docstring)."""

    name: str
    open: Callable[[EngineContext], AnyEngine]
    packages: tuple[str, ...] = ()  # versions recorded and fingerprinted, beside BUILD_PACKAGES
    provides_database: bool = False  # leaves a DuckDB database with every model at .database
    writes_parts: bool = False  # writes table models itself into the store (a `PartsEngine`)

    @property
    def fingerprinted_packages(self) -> tuple[str, ...]:
        """Every package whose version a build on this engine records: BUILD_PACKAGES, then
        the engine's own."""
        return tuple(dict.fromkeys([*BUILD_PACKAGES, *self.packages]))


ENGINES = Registry[EngineType](
    "engine",
    {
        "duckdb": "lakehouse.transform.engines.duckdb:ENGINE",
        "spark": "lakehouse.transform.engines.spark:ENGINE",
    },
    unknown_error=BuildError,
)
"""Every engine by name: the built-ins, those of the entry point group `lakehouse.engines`,
and those registered at run time."""

__all__ = [
    "BUILD_PACKAGES",
    "ENGINES",
    "AnyEngine",
    "Engine",
    "EngineBase",
    "EngineContext",
    "EngineType",
    "PartsEngine",
]
