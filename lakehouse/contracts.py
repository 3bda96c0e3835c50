"""Contracts: the checks a data dictionary implies, run inside the engine, with a report.

Each dictionary column yields rules (not null, allowed values, range, pattern, unique) and each
table its primary-key rule. `dictionary_schema` gives them as a pandera DataFrameSchema (ibis
backend) for notebooks; `check_table` evaluates every rule in one aggregate query on the engine
(failing-row counts, then a few failing keys for each failed rule) and returns a report. A
failing rule of severity `error` stops the layer; `warn` is recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lakehouse.check_report import SAMPLE_KEYS, ContractReport, RuleResult, Severity
from lakehouse.dictionary import ColumnEntry, TableEntry


@dataclass(frozen=True)
class Rule:
    table: str
    column: str | None
    kind: str  # not null | allowed | range | regex | unique | primary key
    detail: str
    severity: Severity

    @property
    def name(self) -> str:
        return f"{self.column or self.table}: {self.kind}"


def rules_for(name: str, table: TableEntry) -> list[Rule]:
    """The checks a dictionary table implies, in dictionary order."""
    rules = []
    for column in table.columns:
        severity = column.severity
        if not column.nullable:
            rules.append(Rule(name, column.name, "not null", "no empty values", severity))
        if column.allowed is not None:
            shown = ", ".join(map(str, column.allowed))
            rules.append(Rule(name, column.name, "allowed", f"one of {shown}", severity))
        if column.range is not None:
            low, high = column.range
            rules.append(Rule(name, column.name, "range", f"between {low} and {high}", severity))
        if column.regex is not None:
            rules.append(Rule(name, column.name, "regex", f"matches {column.regex}", severity))
        if column.unique:
            rules.append(Rule(name, column.name, "unique", "no repeated values", severity))
    if table.primary_key:
        keys = ", ".join(table.primary_key)
        rules.append(Rule(name, None, "primary key", f"({keys}) unique and not null", "error"))
    return rules


def _literal(column: ColumnEntry, value: Any) -> Any:
    if column.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if column.type == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _failing(rule: Rule, table: TableEntry, t: Any) -> Any:
    """A boolean ibis expression that is true on the rows breaking a row-wise rule."""
    import ibis

    if rule.kind == "primary key":
        return ibis.or_(*[t[key].isnull() for key in table.primary_key])
    assert rule.column is not None
    column = table.column(rule.column)
    value = t[rule.column]
    if rule.kind == "not null":
        return value.isnull()
    if rule.kind == "allowed":
        assert column.allowed is not None
        return value.notnull() & ~value.isin([_literal(column, v) for v in column.allowed])
    if rule.kind == "range":
        assert column.range is not None
        low, high = (_literal(column, v) for v in column.range)
        return value.notnull() & ((value < low) | (value > high))
    if rule.kind == "regex":
        assert column.regex is not None
        return value.notnull() & ~value.re_search(column.regex)
    raise ValueError(rule.kind)


def check_table(t: Any, name: str, table: TableEntry, layer: str = "product") -> ContractReport:
    """Evaluate every rule of `table` on the ibis table `t` in one engine query, then fetch a
    few failing keys for each rule that fails. A uniqueness rule fails on the surplus rows
    (non-empty rows minus distinct values); a primary key also on rows with an empty key."""
    aggregates: dict[str, Any] = {"rows": t.count()}
    rules = rules_for(name, table)
    for index, rule in enumerate(rules):
        aggregates.update(_rule_aggregates(f"r{index}", rule, table, t))
    totals = t.aggregate(**aggregates).to_pyarrow().to_pylist()[0]
    keys = table.primary_key or [table.columns[0].name]
    report = ContractReport(layer)
    for index, rule in enumerate(rules):
        failing = _failing_rows(f"r{index}", rule, totals)
        report.results.append(
            RuleResult(
                table=name,
                rule=rule.name,
                column=rule.column,
                kind=rule.kind,
                detail=rule.detail,
                severity=rule.severity,
                passed=failing == 0,
                failing_rows=failing,
                sample_keys=_sample_keys(t, rule, table, keys) if failing else [],
            )
        )
    return report


def _rule_aggregates(prefix: str, rule: Rule, table: TableEntry, t: Any) -> dict[str, Any]:
    import ibis

    if rule.kind == "unique":
        value = t[rule.column]
        return {f"{prefix}_nulls": value.isnull().cast("int64").sum(), prefix: value.nunique()}
    if rule.kind == "primary key":
        keys = table.primary_key
        empty = _failing(rule, table, t)
        key = t[keys[0]] if len(keys) == 1 else ibis.struct({k: t[k] for k in keys})
        return {prefix: key.nunique(where=~empty)}
    return {prefix: _failing(rule, table, t).cast("int64").sum()}


def _failing_rows(prefix: str, rule: Rule, totals: dict[str, Any]) -> int:
    rows = int(totals["rows"])
    value = int(totals[prefix] or 0)
    if rule.kind == "unique":
        return rows - int(totals[f"{prefix}_nulls"] or 0) - value
    if rule.kind == "primary key":
        return rows - value  # empty keys and repeats
    return value


def _sample_keys(t: Any, rule: Rule, table: TableEntry, keys: list[str]) -> list[dict[str, Any]]:
    if rule.kind in {"unique", "primary key"}:
        columns = [rule.column] if rule.kind == "unique" and rule.column else table.primary_key
        groups = t.group_by(columns).aggregate(n=t.count())
        sample = groups.filter(groups.n > 1).select(*columns).limit(SAMPLE_KEYS)
    else:
        shown = list(dict.fromkeys([*keys, *([rule.column] if rule.column else [])]))
        sample = t.filter(_failing(rule, table, t)).select(*shown).limit(SAMPLE_KEYS)
    return sample.to_pyarrow().to_pylist()


def dictionary_schema(table: TableEntry) -> Any:
    """The same contract as a pandera DataFrameSchema (ibis backend), for notebooks."""
    import ibis
    import pandera.ibis as pa

    columns = {}
    for column in table.columns:
        checks = []
        if column.allowed is not None:
            checks.append(pa.Check.isin([_literal(column, v) for v in column.allowed]))
        if column.range is not None:
            low, high = (_literal(column, v) for v in column.range)
            checks.append(pa.Check.in_range(low, high))
        if column.regex is not None:
            checks.append(pa.Check.str_matches(column.regex))
        columns[column.name] = pa.Column(
            ibis.dtype(column.storage_type), checks, nullable=column.nullable
        )
    unique = [c.name for c in table.columns if c.unique] or None
    return pa.DataFrameSchema(
        columns, unique=table.primary_key or unique, strict=True, ordered=True
    )
