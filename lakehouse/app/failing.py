"""The rows that break a contract rule of a build, all of them, paged: the rule is found again
in the product's contracts (its data dictionary, else its hand-written contracts) and its filter
re-run in DuckDB on the file the build wrote for the table.

The rules are those of the contracts as they are now: a rule changed since the build finds the
rows that break it today (the report shows what the build found)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.app.rows import PAGE_ROWS, Page, RowFilter, page_of
from lakehouse.archive.source_qa import parquet_source
from lakehouse.contracts.contract import dictionary_rules, load_contracts
from lakehouse.contracts.dictionary import load_dictionary
from lakehouse.contracts.row_rules import rules_for
from lakehouse.contracts.rules import Rule, table_rules
from lakehouse.errors import NotFoundError
from lakehouse.transform.engines.duckdb import compile_sql, parquet_table
from lakehouse.transform.index import find_build, written_files

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse
    from lakehouse.transform.records import BuildRecord

UNIQUENESS = frozenset({"unique", "primary key"})


def failing_rows(
    lake: Lakehouse,
    product: str,
    build_id: str,
    table: str,
    rule: str,
    row_filter: RowFilter | None = None,
    *,
    number: int = 0,
    size: int = PAGE_ROWS,
) -> Page:
    """Page `number` of the rows of `table` in build `build_id` that break `rule` (its name in
    the contract report, e.g. `zip: regex`), ordered by the table's key."""
    import ibis

    build = find_build(lake.store, product, build_id)
    files = written_files(build)
    if table not in files:
        raise NotFoundError(
            f"Build {build.build_id} did not write {table!r} out, so the rows breaking its rules "
            f"cannot be listed (add {table} to keep: in the recipe to have it written)."
        )
    con = ibis.duckdb.connect()
    lake.store.register_in_duckdb(con.con)
    t = parquet_table(con, table, [lake.store.url(files[table])], lake.config.workspace_dir)
    schema, found = _rule(lake, con, build, files, table, rule, t)
    failing = _failing_expression(t, found)
    key = [c for c in table_rules(schema).unique if c in t.columns] or [t.columns[0]]
    try:
        return page_of(con.con, compile_sql(con, failing), order_by=key, row_filter=row_filter,
                       number=number, size=size)  # fmt: skip
    finally:
        con.disconnect()


def _rule(
    lake: Lakehouse, con: Any, build: BuildRecord, files: dict[str, str], table: str, name: str,
    t: Any,
) -> tuple[Any, Rule]:  # fmt: skip
    """The contract schema of `table` holding the rule named `name`, and the rule."""
    contracts_dir = lake.config.contracts_dir
    schemas = []
    dictionary = load_dictionary(contracts_dir, build.product)
    if dictionary is not None and table in dictionary.tables:
        entry = dictionary.tables[table]
        schemas.append(dictionary_rules(entry, _referenced(lake, con, build, files, entry)))
    written = load_contracts(contracts_dir, build.product, set(build.models))
    if table in written:
        schemas.append(written[table].schema)
    for schema in schemas:
        for rule in rules_for(table, schema, present=set(t.columns)):
            if rule.name == name:
                return schema, rule
    known = [r.name for s in schemas for r in rules_for(table, s, present=set(t.columns))]
    raise NotFoundError(
        f"The contracts of {table!r} have no row rule {name!r} now; its rules: "
        f"{', '.join(known) or 'none'}."
    )


def _referenced(
    lake: Lakehouse, con: Any, build: BuildRecord, files: dict[str, str], entry: Any
) -> dict[str, Any]:
    """The tables the `references` of a dictionary table name, by column, among what the build
    wrote and the archived inputs its lock pinned (others are left out: their rule is not
    found)."""
    found = {}
    for column in entry.columns:
        if column.reference is None:
            continue
        target = column.reference[0]
        pinned = build.lock.inputs.get(target)
        if target in files:
            url = lake.store.url(files[target])
            found[column.name] = parquet_table(con, target, [url], lake.config.workspace_dir)
        elif pinned is not None and pinned.dataset is not None:
            manifest = lake.manifest(pinned.dataset, pinned.version)
            source = parquet_source(lake.store, manifest)
            con.raw_sql(f'CREATE OR REPLACE VIEW "{target}" AS SELECT * FROM {source}')
            found[column.name] = con.table(target)
    return found


def _failing_expression(t: Any, rule: Rule) -> Any:
    """The rows of `t` that break `rule`, as an ibis expression."""
    from lakehouse.contracts.relationship_rules import RELATIONSHIP_KIND, unmatched_rows
    from lakehouse.contracts.row_rules import failing_condition, is_row_wise

    if rule.kind in UNIQUENESS:
        return _repeated_or_empty(t, rule)
    if rule.kind == RELATIONSHIP_KIND:
        return unmatched_rows(t, rule)  # the same anti-join the check counted
    if not is_row_wise(rule, t):
        raise NotFoundError(
            f"The rule {rule.name!r} is a custom check that is not row by row, so its failing "
            "rows cannot be listed; the contract report shows its failure cases."
        )
    return t.filter(failing_condition(rule, t))  # the same condition the check counted


def _repeated_or_empty(t: Any, rule: Rule) -> Any:
    """The rows that repeat a value of a uniqueness rule's columns (and, for a primary key,
    the rows with an empty key)."""
    import ibis

    columns = list(rule.key)
    empty = ibis.or_(*[t[c].isnull() for c in columns])
    kept = t.filter(~empty)
    counts = kept.group_by(columns).aggregate(_lakehouse_repeats=kept.count())
    repeated = kept.semi_join(counts.filter(counts._lakehouse_repeats > 1), columns)
    if rule.kind == "primary key":
        return t.filter(empty).union(repeated, distinct=False)
    return repeated
