"""A contract's rules as records: `TableRules` of `ColumnRules`, whose checks are pandera's
`Check`s or our `RuleCheck`s (the data dictionary's), read from a pandera `DataFrameSchema` and
written back as one (`table_rules`, `to_pandera`); and the `Rule`, one row-level rule a report
line stands for (see `row_rules.rules_for`).

A schema is a pandera `DataFrameSchema` (hand-written contracts) or a `TableRules`, the same
rules in records of our own (the data dictionary's: checking them needs no pandera, whose
import alone takes most of a second). Severity: a check's `raise_warning=True` is `warn`; a
column's `metadata={"severity": "warn"}` makes its not-null and unique rules `warn` too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lakehouse.contracts.report import Severity

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
            column_severity(column),
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


def column_severity(column: Any) -> Severity:
    return "warn" if (column.metadata or {}).get("severity") == "warn" else "error"
