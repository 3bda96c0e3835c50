"""Lineage: what feeds a product, table by table and column by column.

Table lineage is the models' DAG with the locked source versions at its roots.

Column lineage compiles every model to SQL on placeholder tables (no data is read); sqlglot
parses and qualifies each model's query once (stars expanded from the tables' columns) and
the query's scopes are walked, so each model is traced once whatever its number of columns.
For each output column, `Lineage` holds two mappings:

- `columns[output][column]`: what its value is computed from, as source columns
  ("dof_pts.bbl"), or as a table's rows ("dob_jobs (rows)") for a value that comes from no
  column (a row count, a flag set on every row); "(not traced)" where the SQL cannot be
  followed. Empty: a constant.
- `row_conditions[output][column]`: the source columns that decide which rows it has, each a
  `RowCondition(source, kind, model)`, read "dof_pts.bbl (join key in pluto_lite)". For a
  column of model M they are: the join keys (both sides of every ON) and the filters (WHERE,
  HAVING, QUALIFY) anywhere in M's query; the GROUP BY keys and the DISTINCT columns of each
  query the value passes through (a grouping key too: one row per key); and, recursively, the
  same for every column the value is read from and every join key or filtered column (so the
  other side of a join brings its filters and the grouping that makes it one row per key), back
  to the sources. A value made from a table's rows (a count) takes every condition upstream of
  that table. Each condition's columns are traced to the source columns their values come
  from. Sorted upstream model first, then join keys, filters, groupings.

`describe_rows` turns a list of conditions into lines ("filter in lots: dof_pts.bbl,
dof_pts.updated_at"); `Lineage.shared_rows(output)` (what every column of a table shares: the
table's rows) and `Lineage.own_rows(output, column)` (the rest) let a listing show the shared
conditions once per table, as `lake lineage` does, and the docs site can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.errors import BuildError, NotFoundError
from lakehouse.transform.engines.duckdb import duckdb_sql, ibis_type
from lakehouse.transform.models import Model, plan
from lakehouse.transform.sql_lineage import (  # noqa: F401  (the lineage API, in one place)
    ROWS,
    UNTRACED,
    RowCondition,
    SqlLineage,
    column_lineage,
    describe_rows,
    row_lineage,
)

SOURCE_LAYER = "source"


@dataclass(frozen=True)
class LineageNode:
    name: str
    layer: str  # "source" for a locked input, else the model's layer
    detail: str  # the pinned version of a source; the file of a model


@dataclass
class Lineage:
    product: str
    nodes: list[LineageNode]
    edges: list[tuple[str, str]]  # (upstream, downstream)
    # output -> column -> source columns ("dof_pts.bbl") or rows ("dob_jobs (rows)")
    columns: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # output -> column -> what decides its rows (join keys, filters, groupings on its path)
    row_conditions: dict[str, dict[str, list[RowCondition]]] = field(default_factory=dict)

    def upstream(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def column_sources(self, column: str) -> dict[str, list[str]]:
        """The sources of `column` in each output that has it."""
        self._require(column)
        return {out: cols[column] for out, cols in self.columns.items() if column in cols}

    def rows_decided_by(self, column: str) -> dict[str, list[RowCondition]]:
        """What decides the rows of `column` in each output that has it."""
        self._require(column)
        return {
            out: self.row_conditions.get(out, {}).get(column, [])
            for out, cols in self.columns.items()
            if column in cols
        }

    def shared_rows(self, output: str) -> list[RowCondition]:
        """The conditions that decide the rows of every column of `output`: what decides the
        table's rows, to show once per table."""
        per_column = list(self.row_conditions.get(output, {}).values())
        if not per_column:
            return []
        shared = set(per_column[0]).intersection(*per_column[1:])
        return [condition for condition in per_column[0] if condition in shared]

    def own_rows(self, output: str, column: str) -> list[RowCondition]:
        """What decides the rows of one column of `output` beyond `shared_rows(output)` (the
        grouping of an aggregate, the filters on the path of a value read from a side table)."""
        shared = set(self.shared_rows(output))
        found = self.row_conditions.get(output, {}).get(column, [])
        return [condition for condition in found if condition not in shared]

    def _require(self, column: str) -> None:
        if any(column in cols for cols in self.columns.values()):
            return
        known = sorted({c for cols in self.columns.values() for c in cols})
        if not known:
            raise NotFoundError(
                f"{self.product!r}'s columns could not be traced (its output's SQL selects "
                "every column at once); `lake lineage` still shows its tables."
            )
        raise NotFoundError(
            f"{self.product!r} has no output column {column!r}; its columns are: "
            f"{', '.join(known)}."
        )


def table_lineage(
    product: str,
    models: dict[str, Model],
    inputs: dict[str, str],
    targets: list[str],
) -> Lineage:
    """The DAG from the locked inputs (alias -> "dataset version") to the targets."""
    order = plan(models, inputs, targets)
    nodes = [LineageNode(alias, SOURCE_LAYER, pinned) for alias, pinned in inputs.items()]
    used = {name for model in order for name in models[model].inputs}
    nodes = [node for node in nodes if node.name in used]
    edges: list[tuple[str, str]] = []
    for name in order:
        found = models[name]
        layer = "product" if name in targets else found.layer
        nodes.append(LineageNode(name, layer, found.defined_in))
        edges.extend((upstream, name) for upstream in found.inputs)
    return Lineage(product, nodes, edges)


@dataclass(frozen=True)
class CompiledModels:
    sql: dict[str, str]  # model -> its SQL (DuckDB dialect), in build order
    tables: dict[str, list[str]]  # every table the SQL reads -> its columns


def compile_queries(
    models: dict[str, Model], schemas: dict[str, dict[str, str]], targets: list[str]
) -> CompiledModels:
    """Each model's SQL over tables named for its inputs, and every table's columns; `schemas`
    gives the inputs' columns (name -> ibis type)."""
    import ibis

    tables: dict[str, Any] = {
        alias: ibis.table(schema, name=alias) for alias, schema in schemas.items()
    }
    columns = {alias: list(schema) for alias, schema in schemas.items()}
    compiled = {}
    for name in plan(models, schemas, targets):
        found = models[name]
        try:
            expression = found(**{param: tables[param] for param in found.inputs})
            compiled[name] = duckdb_sql(expression)
        except Exception as exc:
            raise BuildError(
                f"Model {name!r} ({found.defined_in}) could not be compiled for lineage: "
                f"{exc.__class__.__name__}: {exc}; fix the transform."
            ) from exc
        tables[name] = ibis.table(expression.schema(), name=name)
        columns[name] = list(expression.schema().names)
    return CompiledModels(compiled, columns)


def compile_models(
    models: dict[str, Model], schemas: dict[str, dict[str, str]], targets: list[str]
) -> dict[str, str]:
    """Each model's SQL (DuckDB dialect) over tables named for its inputs."""
    return compile_queries(models, schemas, targets).sql


def input_schemas(archive: Any, store: Any, lock: Any) -> dict[str, dict[str, str]]:
    """The columns (name -> ibis type) of each locked input: from the dataset version's
    manifest, or from the product build output's Parquet footer."""
    schemas: dict[str, dict[str, str]] = {}
    for alias, pinned in lock.inputs.items():
        if pinned.dataset is not None:
            manifest = archive.manifest(pinned.dataset, pinned.version)
            schemas[alias] = {c.name: ibis_type(c.type) for c in manifest.columns}
        else:
            schemas[alias] = _output_schema(store, pinned)
    return schemas


def _output_schema(store: Any, pinned: Any) -> dict[str, str]:
    """The columns of a product's build output, from its Parquet footer (DuckDB is imported
    only here: a product reading only datasets does without it)."""
    import duckdb

    from lakehouse.sql import sql_string
    from lakehouse.transform.index import product_output_files

    files = product_output_files(store, pinned.product, pinned.version, pinned.output)
    url = store.url(files[0])  # (parts all have the same columns)
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(url)})").fetchall()
    return {row[0]: ibis_type(row[1]) for row in rows}


def product_lineage(
    product: str, models: dict[str, Model], lock: Any, outputs: list[str], schemas: Any
) -> Lineage:
    """Table, column and row lineage of a product from its lock."""
    pinned = {alias: f"{p.name} {p.version}" for alias, p in lock.inputs.items()}
    found = table_lineage(product, models, pinned, outputs)
    compiled = compile_queries(models, schemas, outputs)
    traced = SqlLineage(compiled.sql, set(schemas), compiled.tables)
    for output in outputs:
        found.columns[output] = traced.columns(output)
        found.row_conditions[output] = traced.rows(output)
    return found
