"""Lineage: what feeds a product, table by table and column by column.

Table lineage is the models' DAG with the locked source versions at its roots. Column lineage
compiles every model to SQL on placeholder tables (no data is read) and asks sqlglot which
source columns each output column is computed from; a value that comes from no column (a row
count, a flag set on every row of a table) is traced to that table's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.errors import BuildError, NotFoundError
from lakehouse.transform.engines.duckdb import duckdb_sql, ibis_type
from lakehouse.transform.models import Model, plan

SOURCE_LAYER = "source"
ROWS = "(rows)"
UNTRACED = "(not traced)"


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

    def upstream(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def column_sources(self, column: str) -> dict[str, list[str]]:
        """The sources of `column` in each output that has it."""
        found = {out: cols[column] for out, cols in self.columns.items() if column in cols}
        if not found:
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
        return found


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


def compile_models(
    models: dict[str, Model], schemas: dict[str, dict[str, str]], targets: list[str]
) -> dict[str, str]:
    """Each model's SQL (DuckDB dialect) over tables named for its inputs; `schemas` gives
    the inputs' columns (name -> ibis type)."""
    import ibis

    tables: dict[str, Any] = {
        alias: ibis.table(schema, name=alias) for alias, schema in schemas.items()
    }
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
    return compiled


def column_lineage(sql: dict[str, str], output: str, inputs: set[str]) -> dict[str, list[str]]:
    """For each column of `output`, the input columns (or input rows) it is computed from."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage

    parsed = sqlglot.parse_one(sql[output], dialect="duckdb")
    if not isinstance(parsed, exp.Query) or any(s.is_star for s in parsed.selects):
        return {}  # nothing to name column by column (the table lineage still holds)
    sources = {name: text for name, text in sql.items() if name != output}
    found: dict[str, list[str]] = {}
    for select in parsed.selects:
        column = select.alias_or_name
        traced: set[str] = set()
        try:
            nodes = list(lineage(column, parsed, sources=sources, dialect="duckdb").walk())
        except Exception:  # sqlglot cannot follow every query (a UNION's *, an UNNEST)
            found[column] = [UNTRACED]
            continue
        for node in nodes:
            if node.downstream:
                continue
            if isinstance(node.source, exp.Table) and node.source.name in inputs:
                traced.add(f"{node.source.name}.{node.name.split('.')[-1].strip(chr(34))}")
            else:
                tables = {t.name for t in node.source.find_all(exp.Table)} & inputs
                traced.update(f"{table} {ROWS}" for table in tables)
        found[column] = sorted(t for t in traced if not t.endswith(".*")) or (
            [UNTRACED] if traced else []
        )
    return found


def input_schemas(archive: Any, store: Any, lock: Any) -> dict[str, dict[str, str]]:
    """The columns (name -> ibis type) of each locked input: from the dataset version's
    manifest, or from the product build output's Parquet footer."""
    import duckdb

    from lakehouse.sql import sql_string
    from lakehouse.transform.index import output_path

    schemas: dict[str, dict[str, str]] = {}
    for alias, pinned in lock.inputs.items():
        if pinned.dataset is not None:
            manifest = archive.manifest(pinned.dataset, pinned.version)
            schemas[alias] = {c.name: ibis_type(c.type) for c in manifest.columns}
            continue
        url = store.url(output_path(pinned.product, pinned.version, pinned.output))
        with duckdb.connect() as con:
            store.register_in_duckdb(con)
            rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(url)})").fetchall()
        schemas[alias] = {row[0]: ibis_type(row[1]) for row in rows}
    return schemas


def product_lineage(
    product: str, models: dict[str, Model], lock: Any, outputs: list[str], schemas: Any
) -> Lineage:
    """Table and column lineage of a product from its lock."""
    pinned = {alias: f"{p.name} {p.version}" for alias, p in lock.inputs.items()}
    found = table_lineage(product, models, pinned, outputs)
    sql = compile_models(models, schemas, outputs)
    for output in outputs:
        found.columns[output] = column_lineage(sql, output, set(schemas))
    return found
