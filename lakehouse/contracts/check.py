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

A schema is a pandera `DataFrameSchema` (hand-written contracts) or a `TableRules`, the same
rules in records of our own (the data dictionary's: checking them needs no pandera, whose
import alone takes most of a second). A failing rule's samples show each row's key (the
schema's `unique`, else its first column), then its identifying columns (`sample_columns`: the
dictionary's, or a pandera schema's `metadata={"sample_columns": [...]}`), then the value at
fault; a uniqueness rule's show the rows that repeat a value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lakehouse.contracts.dictionary import order_difference
from lakehouse.contracts.facts import ColumnFacts
from lakehouse.contracts.report import SAMPLE_KEYS, ContractReport, RuleResult, Severity
from lakehouse.errors import ConfigError

# pandera's built-in checks, by name: the rule kind shown in reports
BUILTIN_KINDS = {
    "isin": "allowed",
    "notin": "forbidden",
    "in_range": "range",
    "greater_than_or_equal_to": "at least",
    "greater_than": "above",
    "less_than_or_equal_to": "at most",
    "less_than": "below",
    "equal_to": "equals",
    "not_equal_to": "differs from",
    "str_matches": "regex",
    "str_contains": "contains",
    "str_startswith": "starts with",
    "str_endswith": "ends with",
    "str_length": "length",
}


# a geometry in a sample is shown as its WKT, cut to this many characters
SAMPLE_WKT_CHARS = 60


@dataclass(frozen=True, eq=False)
class RuleCheck:
    """A check of a `TableRules`, read as pandera's `Check` is (`name`, `statistics`, ...):
    one of pandera's built-in checks by its name and arguments (`isin` with `allowed_values`),
    or a function of ours (a geometry or relationship rule) that takes pandera's data and the
    statistics, so that `to_pandera` can make it a pandera check."""

    name: str
    statistics: Mapping[str, Any] = field(default_factory=dict)
    raise_warning: bool = False
    error: str | None = None
    function: Callable[..., Any] | None = None
    ignore_na: bool = True
    element_wise: bool = False

    @property
    def _check_fn(self) -> Callable[..., Any] | None:  # pandera's name for it
        return self.function


@dataclass(frozen=True)
class ColumnRules:
    """A column of a `TableRules`: its ibis type (None: not checked), whether it may be empty,
    be repeated, its checks, and the severity of its not-null and unique rules."""

    dtype: Any = None
    nullable: bool = True
    unique: bool = False
    checks: tuple[Any, ...] = ()
    severity: Severity = "error"
    required: bool = True
    description: str | None = None


@dataclass(frozen=True)
class TableRules:
    """A table's contract as `check_schema` evaluates it: its columns (in order; `strict`: no
    others; `ordered`: in that order), the columns unique together (`unique`: the primary key
    when `primary_key` says the same), the columns a failing rule's samples show after the key,
    and table-wide checks."""

    columns: Mapping[str, ColumnRules]
    unique: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()
    sample_columns: tuple[str, ...] = ()
    strict: bool = True
    ordered: bool = True
    checks: tuple[Any, ...] = ()


def table_rules(schema: Any) -> TableRules:
    """A pandera DataFrameSchema's rules as a `TableRules` (one is returned as it is)."""
    if isinstance(schema, TableRules):
        return schema
    metadata = schema.metadata or {}
    columns = {
        name: ColumnRules(
            None if column.dtype is None else column.dtype.type,
            bool(column.nullable),
            bool(column.unique),
            tuple(column.checks),
            _column_severity(column),
            bool(column.required),
            column.description,
        )
        for name, column in schema.columns.items()
    }
    return TableRules(
        columns,
        tuple(schema.unique or ()),
        tuple(metadata.get("primary_key") or ()),
        tuple(metadata.get("sample_columns") or ()),
        schema.strict is True,
        bool(schema.ordered),
        tuple(schema.checks),
    )


def to_pandera(rules: TableRules, description: str | None = None) -> Any:
    """`rules` as a pandera DataFrameSchema (ibis backend), for pandera's own `validate`: our
    checks become custom checks."""
    import pandera.ibis as pa

    metadata: dict[str, Any] = {}
    if rules.primary_key:
        metadata["primary_key"] = list(rules.primary_key)
    if rules.sample_columns:
        metadata["sample_columns"] = list(rules.sample_columns)
    columns = {
        name: pa.Column(
            column.dtype,
            [_pandera_check(check) for check in column.checks],
            nullable=column.nullable,
            unique=column.unique,
            required=column.required,
            description=column.description,
            metadata={"severity": column.severity},
        )
        for name, column in rules.columns.items()
    }
    return pa.DataFrameSchema(
        columns,
        checks=[_pandera_check(check) for check in rules.checks],
        unique=list(rules.unique) or None,
        strict=rules.strict,
        ordered=rules.ordered,
        description=description,
        metadata=metadata or None,
    )


def _pandera_check(check: Any) -> Any:
    import pandera.ibis as pa

    if not isinstance(check, RuleCheck):
        return check
    if check.function is None:  # one of pandera's built-in checks, by name
        return getattr(pa.Check, check.name)(**check.statistics, raise_warning=check.raise_warning)
    return pa.Check(
        check.function,
        name=check.name,
        error=check.error,
        raise_warning=check.raise_warning,
        **check.statistics,
    )


@dataclass(frozen=True)
class Rule:
    table: str
    column: str | None
    kind: str
    detail: str
    severity: Severity
    check: Any = None  # the pandera Check behind a check rule
    key: tuple[str, ...] = ()  # the columns of a unique / primary-key rule

    @property
    def name(self) -> str:
        return f"{self.column or self.table}: {self.kind}"


# -- rules -------------------------------------------------------------------------------------


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
    if _is_relationship_check(check):
        return RELATIONSHIP_KIND
    if _is_geometry_check(check):
        return GEOMETRY_RULES[check.statistics["rule"]].kind
    return BUILTIN_KINDS.get(check.name, f"check {check.name}")


def _column_severity(column: Any) -> Severity:
    return "warn" if (column.metadata or {}).get("severity") == "warn" else "error"


def _describe(check: Any) -> str:
    stats = check.statistics or {}
    if _is_relationship_check(check):
        return f"values in {stats['references']}"
    if _is_geometry_check(check):
        return _geometry_detail(stats)
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
    elif _is_geometry(rule):
        passes = _geometry_passes(rule.check, t[rule.column])
    else:
        passes = _custom_passes(rule.check, t, rule.column)
    if rule.column is None:  # a table-wide check: a NULL answer comes from NULL inputs
        return ~passes.fill_null(rule.check.ignore_na)
    value = t[rule.column]
    passes = passes.fill_null(False)
    return (value.notnull() & ~passes) if rule.check.ignore_na else ~passes


def _is_builtin(rule: Rule) -> bool:
    return rule.check is not None and rule.column is not None and rule.check.name in BUILTIN_KINDS


def _is_geometry(rule: Rule) -> bool:
    return rule.column is not None and _is_geometry_check(rule.check)


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
    if _is_relationship(rule):
        return False
    return (
        rule.check is None
        or _is_builtin(rule)
        or _is_geometry(rule)
        or _custom_passes(rule.check, t, rule.column) is not None
    )


# -- relationship rules ------------------------------------------------------------------------

RELATIONSHIP_KIND = "references"


def relationship_check(references: str, referenced: Any, severity: Severity) -> RuleCheck:
    """A data dictionary's `references: table.column` as a check on a column: its values (NULL
    aside) are among the values of `column` in `referenced`, the engine's table that `table`
    names. `check_schema` counts the rows breaking it by an anti-join in the engine (a query of
    its own: it reads another table); pandera's own `validate` runs it as a custom check."""
    return RuleCheck(
        RELATIONSHIP_KIND,
        {"references": references},
        raise_warning=severity == "warn",
        error=f"values in {references}",
        # the table rides in the function, not in the statistics pandera and reports show
        function=functools.partial(_relationship_check_fn, referenced=referenced),
    )


def _relationship_check_fn(data: Any, referenced: Any, references: str) -> Any:
    """A relationship rule as pandera calls a check: on `data.table[data.key]`."""
    return data.table[data.key].isin(referenced[references.split(".")[1]])


def _is_relationship_check(check: Any) -> bool:
    function = getattr(check, "_check_fn", None)
    return isinstance(function, functools.partial) and function.func is _relationship_check_fn


def _is_relationship(rule: Rule) -> bool:
    return rule.column is not None and _is_relationship_check(rule.check)


def unmatched_rows(t: Any, rule: Rule) -> Any:
    """The rows of `t` whose value of the rule's column is not NULL and not found in the
    referenced column."""
    assert rule.column is not None
    referenced = rule.check._check_fn.keywords["referenced"]
    column = rule.check.statistics["references"].split(".")[1]
    # one column under a name of its own: a self-reference joins two distinct relations
    values = referenced.select(_referenced_value=referenced[column])
    present = t.filter(t[rule.column].notnull())
    return present.anti_join(values, present[rule.column] == values._referenced_value)


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


# -- geometry rules ----------------------------------------------------------------------------


@functools.cache
def _spatial_function(name: str, returns: str) -> Any:
    """A one-argument function of DuckDB's spatial extension that ibis 12 cannot compile for
    DuckDB (ST_IsEmpty, ST_XMin ...), as a builtin UDF of a geometry."""
    import ibis
    import ibis.expr.datatypes as dt

    def function(geometry: Any) -> Any:  # the body is never run: DuckDB's function is
        raise NotImplementedError

    return ibis.udf.scalar.builtin(
        function, name=name, signature=((dt.geometry,), dt.dtype(returns))
    )


def _is_empty(value: Any) -> Any:
    return _spatial_function("st_isempty", "boolean")(value)


def _extent(value: Any) -> list[Any]:
    """[xmin, ymin, xmax, ymax] of each geometry (NULL for an empty one; +-1.8e308 for a
    collection of empties)."""
    return [_spatial_function(f"st_{side}", "float64")(value)
            for side in ("xmin", "ymin", "xmax", "ymax")]  # fmt: skip


def _has_type(value: Any, geometry_type: str) -> Any:
    # DuckDB's ST_GeometryType answers an upper-case enum ('MULTIPOLYGON'), which neither
    # upper() nor ILIKE take, and ibis drops a cast of it to string (it believes it is one):
    # the declared name is upper-cased instead, so the comparison ignores case
    return value.geometry_type() == geometry_type.upper()


def _is_valid(value: Any) -> Any:
    return value.is_valid()


def _is_not_empty(value: Any) -> Any:
    return ~_is_empty(value)


def _within_bbox(value: Any, bbox: list[float], crs: str | None = None) -> Any:
    """The geometry's extent lies inside bbox (edges included; `crs`, the bbox's, is only
    shown); an empty geometry has no extent: `empty` rules it."""
    import ibis

    xmin, ymin, xmax, ymax = _extent(value)
    inside = ibis.and_(xmin >= bbox[0], ymin >= bbox[1], xmax <= bbox[2], ymax <= bbox[3])
    return _is_empty(value) | inside


@dataclass(frozen=True)
class GeometryRule:
    kind: str  # the rule kind shown in reports
    passes: Callable[..., Any]  # (geometry column, **the check's statistics) -> boolean column


# the data dictionary's geometry rules, by the name of their check
GEOMETRY_RULES = {
    "geometry_type": GeometryRule("geometry type", _has_type),
    "valid": GeometryRule("valid", _is_valid),
    "not_empty": GeometryRule("not empty", _is_not_empty),
    "bbox": GeometryRule("bbox", _within_bbox),
    "crs_area": GeometryRule("CRS area of use", _within_bbox),
}


def geometry_check(rule: str, severity: Severity, **statistics: Any) -> RuleCheck:
    """One of the data dictionary's geometry rules (a key of GEOMETRY_RULES, with its values:
    geometry_type=, bbox= and crs=) as a check on a geometry column: `check_schema` evaluates
    it in its one query, pandera's own `validate` as a custom check. A NULL geometry passes
    (`nullable` governs it)."""
    if rule not in GEOMETRY_RULES:
        raise ValueError(f"no geometry rule {rule!r}; one of {', '.join(GEOMETRY_RULES)}")
    values = {"rule": rule, **statistics}
    return RuleCheck(
        rule,
        values,
        raise_warning=severity == "warn",
        error=_geometry_detail(values),
        function=_geometry_check_fn,
    )


def _geometry_check_fn(data: Any, rule: str, **statistics: Any) -> Any:
    """A geometry rule as pandera calls a check: on `data.table[data.key]`."""
    return GEOMETRY_RULES[rule].passes(data.table[data.key], **statistics)


def _is_geometry_check(check: Any) -> bool:
    return getattr(check, "_check_fn", None) is _geometry_check_fn


def _geometry_passes(check: Any, value: Any) -> Any:
    statistics = dict(check.statistics)
    return GEOMETRY_RULES[statistics.pop("rule")].passes(value, **statistics)


def _geometry_detail(statistics: dict[str, Any]) -> str:
    match statistics["rule"]:
        case "geometry_type":
            return f"is {statistics['geometry_type']}"
        case "valid":
            return "is a valid OGC geometry"
        case "not_empty":
            return "no empty geometries"
        case "crs_area":
            box = ", ".join(_number(v) for v in statistics["bbox"])
            return f"coordinates fit {statistics['crs']}, within its area of use [{box}]"
        case "bbox":
            box = ", ".join(_number(v) for v in statistics["bbox"])
            crs = statistics.get("crs")
            return f"lies within [{box}]" + (f" in {crs}" if crs else "")
    raise ValueError(statistics["rule"])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


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
        elif _is_relationship(rule):
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
    if _is_geometry(rule) and rule.check.statistics["rule"] == "bbox":
        import ibis

        shown[f"{rule.column} extent"] = ibis.array(_extent(t[rule.column]))
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
