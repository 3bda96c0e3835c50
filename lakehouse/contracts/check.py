"""Checking a contract: a pandera schema evaluated inside the engine, with a report.

`check_schema` takes the schema's columns and types from the table's schema, then evaluates
nullability, uniqueness, pandera's built-in checks and custom checks that return a projection
of the table in one aggregate query; other custom checks (element-wise, windows, aggregates)
run through pandera, a query each. A few failing keys are fetched for each failed rule.
The data dictionary's geometry rules (`geometry_check`: geometry type, valid, not empty,
within a bbox) are checks of their own kind that join the one query too; a geometry in a
sample is shown as its WKT, cut short. Its relationship rules (`relationship_check`: a column's
values are found in another table's column) are an anti-join each, a query of their own.
(pandera's own `validate` runs a query per check: three times slower on the 1M-lot product,
and its failure cases carry no keys.) Severity: a check's `raise_warning=True` is `warn`; a
column's `metadata={"severity": "warn"}` makes its not-null and unique rules `warn` too.

A schema is a pandera `DataFrameSchema` or a `TableRules` (see `lakehouse.contracts.rules`).
A failing rule's samples show each row's key (the schema's `unique`, else its first column),
then its identifying columns (`sample_columns`: the dictionary's, or a pandera schema's
`metadata={"sample_columns": [...]}`), then the value at fault; a uniqueness rule's show the
rows that repeat a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.contracts.dictionary import order_difference
from lakehouse.contracts.facts import ColumnFacts
from lakehouse.contracts.geometry_rules import extent
from lakehouse.contracts.relationship_rules import is_relationship, unmatched_rows
from lakehouse.contracts.report import SAMPLE_KEYS, ContractReport, RuleResult
from lakehouse.contracts.row_rules import (
    failing_condition,
    is_geometry_rule,
    is_row_wise,
    rules_for,
    settled,
)
from lakehouse.contracts.rules import Rule, TableRules, table_rules
from lakehouse.errors import ConfigError

# a geometry in a sample is shown as its WKT, cut to this many characters
SAMPLE_WKT_CHARS = 60


def _shown(value: Any) -> Any:
    """A column's values as a sample shows them: a geometry as its WKT, cut short."""
    import ibis

    if not value.type().is_geospatial():
        return value
    text = value.as_text()
    cut = text.substr(0, SAMPLE_WKT_CHARS - 3) + "..."
    return ibis.ifelse(text.length() > SAMPLE_WKT_CHARS, cut, text)


# -- checking ----------------------------------------------------------------------------------


def _rows(expression: Any) -> list[dict[str, Any]]:
    """The rows of a small result, as dicts. On DuckDB they are fetched from DuckDB's own
    relation: ibis's `to_pyarrow` imports pandas for its type converters, a third of a second
    of every `lake check`; the values are Python's either way."""
    backend = expression._find_backend(use_default=True)
    if backend.name != "duckdb":
        return list(expression.to_pyarrow().to_pylist())
    relation = backend._to_duckdb_relation(expression)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _value(expression: Any) -> Any:
    """The value of a scalar expression (see `_rows`)."""
    (row,) = _rows(expression.name("value").as_table())
    return row["value"]


def check_schema(
    t: Any, name: str, schema: Any, layer: str, facts: Mapping[str, ColumnFacts] | None = None
) -> ContractReport:
    """Evaluate the contract `schema` (pandera's DataFrameSchema or a `TableRules`) on the ibis
    table `t`: structure from the table's schema, every built-in rule in one engine query,
    relationship rules by an anti-join each, custom checks through pandera; a few failing rows
    for each rule that fails, by key and identifying columns. A uniqueness rule fails on its
    surplus rows (non-empty rows minus distinct values); a primary key also on rows with an
    empty key. The not-null and range rules that the `facts` of `t`'s files prove (see
    `lakehouse.contracts.facts`) pass without being counted."""
    schema = table_rules(schema)
    report = ContractReport(layer)
    report.results.extend(_structure_results(t, name, schema, layer))
    wrong_types = {entry["column"] for entry in report.results[-1].sample_keys}
    checkable = {c for c in t.columns if c not in wrong_types}  # the structure rules report it
    rules = rules_for(name, schema, present=checkable)
    proven = [rule for rule in rules if settled(rule, facts or {})]
    aggregated = [rule for rule in rules if rule not in proven and is_row_wise(rule, t)]
    aggregates: dict[str, Any] = {"rows": t.count()}
    for index, rule in enumerate(aggregated):
        aggregates.update(_rule_aggregates(f"r{index}", rule, t))
    totals = _rows(t.aggregate(**aggregates))[0]
    failing = {
        rule: _failing_rows(f"r{index}", rule, totals) for index, rule in enumerate(aggregated)
    }
    failing.update(dict.fromkeys(proven, 0))
    keys = _identifying_columns(schema, t)
    for rule in rules:
        if rule in failing:
            count = failing[rule]
            samples = _sample_keys(t, rule, keys) if count else []
        elif is_relationship(rule):
            count, samples = _relationship_result(t, rule, keys)
        else:
            count, samples = _custom_check(t, rule, keys)
        report.results.append(
            RuleResult(
                table=name,
                rule=rule.name,
                column=rule.column,
                kind=rule.kind,
                detail=rule.detail,
                severity=rule.severity,
                passed=count == 0,
                failing_rows=count,
                sample_keys=samples,
                layer=layer,
            )
        )
    return report


def _relationship_result(t: Any, rule: Rule, keys: list[str]) -> tuple[int, list[dict[str, Any]]]:
    """Rows breaking a relationship rule, and the first few of them (by key) with their key
    and the value not found."""
    unmatched = unmatched_rows(t, rule)
    count = int(_value(unmatched.count()) or 0)
    if not count:
        return 0, []
    shown = list(dict.fromkeys([*keys, str(rule.column)]))
    order = [c for c in shown if not t[c].type().is_geospatial()]
    sample = unmatched.order_by(order).select(**{c: _shown(unmatched[c]) for c in shown})
    return count, _rows(sample.limit(SAMPLE_KEYS))


def _structure_results(t: Any, name: str, schema: Any, layer: str) -> list[RuleResult]:
    """Columns present (and nothing else, in order, when the schema says so) and their types."""
    actual = list(t.columns)
    expected = list(schema.columns)
    problems = [{"missing": c} for c in expected if c not in actual and schema.columns[c].required]
    keys = [k for k in schema.unique if k not in actual and k not in expected]
    problems += [{"missing": k} for k in keys]  # a unique key's column
    if schema.strict:
        problems += [{"unexpected": c} for c in actual if c not in schema.columns]
    found_order = [c for c in actual if c in expected]
    listed_order = [c for c in expected if c in actual]
    if schema.ordered and not problems and found_order != listed_order:
        problems.append({"order": order_difference(listed_order, found_order)})
    detail = "as listed" + (", in order" if schema.ordered else "")
    results = [
        RuleResult(name, f"{name}: columns", None, "columns", detail, "error", not problems,
                   len(problems), problems, layer)
    ]  # fmt: skip
    wrong = []
    for column_name, column in schema.columns.items():
        if column.dtype is None or column_name not in actual:
            continue
        want = column.dtype.copy(nullable=True)
        have = t.schema()[column_name].copy(nullable=True)
        if want != have:
            wrong.append({"column": column_name, "expected": str(want), "found": str(have)})
    if any(column.dtype is not None for column in schema.columns.values()):
        results.append(
            RuleResult(name, f"{name}: types", None, "types", "as declared", "error", not wrong,
                       len(wrong), wrong, layer)
        )  # fmt: skip
    return results


def _rule_aggregates(prefix: str, rule: Rule, t: Any) -> dict[str, Any]:
    import ibis

    if rule.kind == "unique" or rule.kind == "primary key":
        key = t[rule.key[0]] if len(rule.key) == 1 else ibis.struct({k: t[k] for k in rule.key})
        empty = ibis.or_(*[t[k].isnull() for k in rule.key])
        return {f"{prefix}_empty": empty.cast("int64").sum(), prefix: key.nunique(where=~empty)}
    return {prefix: failing_condition(rule, t).cast("int64").sum()}


def _failing_rows(prefix: str, rule: Rule, totals: dict[str, Any]) -> int:
    rows = int(totals["rows"])
    value = int(totals[prefix] or 0)
    if rule.kind == "unique":
        return rows - int(totals[f"{prefix}_empty"] or 0) - value
    if rule.kind == "primary key":
        return rows - value  # empty keys and repeats
    return value


def _identifying_columns(schema: TableRules, t: Any) -> list[str]:
    """The columns that tell which row a sample is: the schema's key (else its first column),
    then its `sample_columns` (those the table has)."""
    key = [c for c in schema.unique if c in t.columns] or [t.columns[0]]
    return list(dict.fromkeys([*key, *(c for c in schema.sample_columns if c in t.columns)]))


def _sample_keys(t: Any, rule: Rule, keys: list[str]) -> list[dict[str, Any]]:
    """The first few rows breaking a row-wise rule: their identifying columns (`keys`) and the
    value at fault (with a geometry's extent for a bbox rule)."""
    if rule.kind in {"unique", "primary key"}:
        return _repeated_rows(t, rule, keys)
    shown = {c: _shown(t[c]) for c in [*keys, *([rule.column] if rule.column else [])]}
    if is_geometry_rule(rule) and rule.check.statistics["rule"] == "bbox":
        import ibis

        shown[f"{rule.column} extent"] = ibis.array(extent(t[rule.column]))
    sample = t.filter(failing_condition(rule, t)).select(**shown).limit(SAMPLE_KEYS)
    return _rows(sample)


def _repeated_rows(t: Any, rule: Rule, keys: list[str]) -> list[dict[str, Any]]:
    """A uniqueness rule's samples: the rows that repeat a value of its columns, by those
    columns (each repeated value once when nothing else is shown), after rows with an empty
    key for a primary key; with their identifying columns `keys`."""
    import ibis

    columns = list(rule.key)
    shown = list(dict.fromkeys([*keys, *columns]))
    empty = ibis.or_(*[t[k].isnull() for k in columns])
    found: list[dict[str, Any]] = []
    if rule.kind == "primary key":  # empty keys break it too: shown first
        found += _sample_rows(t.filter(empty), shown, SAMPLE_KEYS)
    kept = t.filter(~empty)
    groups = kept.group_by(columns).aggregate(_repeats=kept.count())
    repeated = groups.filter(groups._repeats > 1).select(*columns)
    rows = kept.semi_join(repeated, columns)
    return found + _sample_rows(rows, shown, SAMPLE_KEYS - len(found))


def _sample_rows(t: Any, shown: list[str], limit: int) -> list[dict[str, Any]]:
    """The first `limit` distinct rows of `t`'s `shown` columns, ordered by them."""
    if limit <= 0:
        return []
    selected = t.select(**{c: _shown(t[c]) for c in shown}).distinct()
    order = [c for c in shown if not t[c].type().is_geospatial()]
    return _rows(selected.order_by(order).limit(limit))


def _custom_check(t: Any, rule: Rule, keys: list[str]) -> tuple[int, list[dict[str, Any]]]:
    """Run a custom pandera check (its own query): failing rows and a few failure cases (their
    keys, when the cases are whole rows). A check that answers for the whole table counts as
    one failing row when false."""
    import ibis.expr.types as ir

    try:
        result = rule.check(t, rule.column)
        output = result.check_output
        if isinstance(output, ir.Table | ir.Column):
            # a projection first, so a window in the check is computed before the sum
            table = output if isinstance(output, ir.Table) else output.name("ok").as_table()
            column = table[table.columns[-1]]
            count = int(((~column.fill_null(False)).cast("int64").sum()).to_pyarrow().as_py() or 0)
        else:
            count = 0 if bool(output.to_pyarrow().as_py()) else 1
        cases = result.failure_cases
        samples = []
        if count and isinstance(cases, ir.Table):
            if set(keys) <= set(cases.columns):  # whole rows: shown by what identifies them
                cases = cases.select(*keys)
            samples = cases.limit(SAMPLE_KEYS).to_pyarrow().to_pylist()
    except Exception as exc:
        raise ConfigError(
            f"The contract check {rule.name!r} of {rule.table!r} failed to run: "
            f"{exc.__class__.__name__}: {exc}; fix the check."
        ) from exc
    return count, samples
