"""The row-level rules a contract implies (`rules_for`: not null, unique, each check, the
table's key and checks), the condition a row fails each by (`failing_condition`, one boolean
ibis expression, so that every row-wise rule joins one aggregate query), and those the facts
of a table's files settle without a pass over the data (`settled`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.contracts.facts import ColumnFacts
from lakehouse.contracts.geometry_rules import (
    GEOMETRY_RULES,
    geometry_detail,
    geometry_passes,
    is_geometry_check,
)
from lakehouse.contracts.relationship_rules import (
    RELATIONSHIP_KIND,
    is_relationship,
    is_relationship_check,
)
from lakehouse.contracts.report import Severity
from lakehouse.contracts.rules import BUILTIN_KINDS, Rule, table_rules


def rules_for(name: str, schema: Any, present: set[str] | None = None) -> list[Rule]:
    """The row-level rules a schema (pandera's or a `TableRules`) implies, in column order
    (columns absent from `present` are skipped: the structure rule reports them)."""
    schema = table_rules(schema)
    rules = []
    for column_name, column in schema.columns.items():
        if present is not None and column_name not in present:
            continue
        severity = column.severity
        if not column.nullable:
            rules.append(Rule(name, column_name, "not null", "no empty values", severity))
        if column.unique:
            rules.append(
                Rule(name, column_name, "unique", "no repeated values", severity,
                     key=(column_name,))
            )  # fmt: skip
        kinds = [rule.kind for rule in rules if rule.column == column_name]
        for check in column.checks:
            base = _kind(check)
            kind, number = base, 1
            while kind in kinds:
                number += 1
                kind = f"{base} ({number})"
            kinds.append(kind)
            rules.append(Rule(name, column_name, kind, _describe(check), _severity(check), check))
    if schema.unique and (present is None or set(schema.unique) <= present):
        key = schema.unique
        shown = ", ".join(key)
        if key == schema.primary_key:
            rules.append(
                Rule(name, None, "primary key", f"({shown}) unique and not null", "error",
                     key=key)
            )  # fmt: skip
        else:
            rules.append(Rule(name, None, "unique", f"({shown}) unique", "error", key=key))
    for check in schema.checks:
        rules.append(
            Rule(name, None, f"check {check.name}", _describe(check), _severity(check), check)
        )
    return rules


def _severity(check: Any) -> Severity:
    return "warn" if check.raise_warning else "error"


def _kind(check: Any) -> str:
    if is_relationship_check(check):
        return RELATIONSHIP_KIND
    if is_geometry_check(check):
        return GEOMETRY_RULES[check.statistics["rule"]].kind
    return BUILTIN_KINDS.get(check.name, f"check {check.name}")


def _describe(check: Any) -> str:
    stats = check.statistics or {}
    if is_relationship_check(check):
        return f"values in {stats['references']}"
    if is_geometry_check(check):
        return geometry_detail(stats)
    if check.name == "isin":
        return "one of " + ", ".join(map(str, stats["allowed_values"]))
    if check.name == "notin":
        return "none of " + ", ".join(map(str, stats["forbidden_values"]))
    if check.name == "in_range":
        return f"between {stats['min_value']} and {stats['max_value']}"
    if check.name == "str_matches":
        return f"matches {stats['pattern']}"
    if check.name in BUILTIN_KINDS:
        return f"{BUILTIN_KINDS[check.name]} " + ", ".join(
            str(v) for v in stats.values() if v is not None
        )
    return str(check.error or check.name)


def _builtin_passes(check: Any, value: Any) -> Any:
    """A boolean ibis expression: the row passes pandera's built-in check (NULL: unknown)."""
    s = check.statistics
    match check.name:
        case "isin":
            return value.isin(list(s["allowed_values"]))
        case "notin":
            return value.notin(list(s["forbidden_values"]))
        case "in_range":
            low = value >= s["min_value"] if s["include_min"] else value > s["min_value"]
            high = value <= s["max_value"] if s["include_max"] else value < s["max_value"]
            return low & high
        case "greater_than_or_equal_to":
            return value >= s["min_value"]
        case "greater_than":
            return value > s["min_value"]
        case "less_than_or_equal_to":
            return value <= s["max_value"]
        case "less_than":
            return value < s["max_value"]
        case "equal_to":
            return value == s["value"]
        case "not_equal_to":
            return value != s["value"]
        case "str_matches":
            pattern = str(getattr(s["pattern"], "pattern", s["pattern"]))
            return value.re_search(pattern if pattern.startswith("^") else f"^{pattern}")
        case "str_contains":
            return value.re_search(str(getattr(s["pattern"], "pattern", s["pattern"])))
        case "str_startswith":
            return value.startswith(s["string"])
        case "str_endswith":
            return value.endswith(s["string"])
        case "str_length":
            length = value.length()
            if s.get("exact_value") is not None:
                return length == s["exact_value"]
            low_ok = length >= s["min_value"] if s.get("min_value") is not None else None
            high_ok = length <= s["max_value"] if s.get("max_value") is not None else None
            parts = [p for p in (low_ok, high_ok) if p is not None]
            return parts[0] if len(parts) == 1 else parts[0] & parts[1]
    raise ValueError(check.name)


def _custom_passes(check: Any, t: Any, column: str | None) -> Any:
    """A custom check's row-wise result as a boolean expression over `t`, so it can join the one
    aggregate query; None when the check cannot be put so (element-wise, scalar, or not a plain
    projection of `t`): pandera then runs it on its own."""
    import ibis
    import ibis.expr.operations as ops
    import ibis.expr.types as ir
    from pandera.api.ibis.types import IbisData

    if check.element_wise:
        return None
    try:
        out = check._check_fn(IbisData(t, column), **check._check_kwargs)
    except Exception:
        return None  # reported when pandera runs it
    if isinstance(out, dict):
        values = list(out.values())
    elif isinstance(out, ir.Table):
        op = out.op()
        if not isinstance(op, ops.Project) or op.parent != t.op():
            return None
        values = [value.to_expr() for value in op.values.values()]
    elif isinstance(out, ir.BooleanColumn):
        values = [out]
    else:
        return None
    if not values or not all(isinstance(v, ir.BooleanColumn) for v in values):
        return None
    # a window or an aggregate cannot sit inside the one aggregate query: pandera runs those
    if any(v.op().find((ops.WindowFunction, ops.Reduction)) for v in values):
        return None
    return ibis.and_(*values)


def failing_condition(rule: Rule, t: Any) -> Any:
    """A boolean ibis expression that is true on the rows breaking a row-wise rule."""
    import ibis

    if rule.kind == "primary key":
        return ibis.or_(*[t[key].isnull() for key in rule.key])
    if rule.kind == "not null":
        return t[rule.column].isnull()
    if _is_builtin(rule):
        passes = _builtin_passes(rule.check, t[rule.column])
    elif is_geometry_rule(rule):
        passes = geometry_passes(rule.check, t[rule.column])
    else:
        passes = _custom_passes(rule.check, t, rule.column)
    if rule.column is None:  # a table-wide check: a NULL answer comes from NULL inputs
        return ~passes.fill_null(rule.check.ignore_na)
    value = t[rule.column]
    passes = passes.fill_null(False)
    return (value.notnull() & ~passes) if rule.check.ignore_na else ~passes


def _is_builtin(rule: Rule) -> bool:
    return rule.check is not None and rule.column is not None and rule.check.name in BUILTIN_KINDS


def is_geometry_rule(rule: Rule) -> bool:
    return rule.column is not None and is_geometry_check(rule.check)


def settled(rule: Rule, facts: Mapping[str, ColumnFacts]) -> bool:
    """Whether the facts of a table's files prove that no row breaks `rule`: a not-null rule
    on a column without empty values, a range rule (pandera's `in_range`, `greater_than`...)
    on a column whose smallest and largest values lie within it."""
    fact = facts.get(rule.column) if rule.column is not None else None
    if fact is None:
        return False
    if rule.kind == "not null":
        return fact.nulls == 0
    if not _is_builtin(rule):
        return False
    check = rule.check
    return fact.within(check.name, check.statistics, ignore_na=check.ignore_na)


def is_row_wise(rule: Rule, t: Any) -> bool:
    if is_relationship(rule):
        return False
    return (
        rule.check is None
        or _is_builtin(rule)
        or is_geometry_rule(rule)
        or _custom_passes(rule.check, t, rule.column) is not None
    )
