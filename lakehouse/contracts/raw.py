"""The raw layer's gate: a template's `contract:` checked on the converted data at ingest.

All rules run in one DuckDB query over the Parquet about to be archived. Parse rules check the
text's shape (a regular expression or strptime), so values that a lenient cast would bend
(`2.5` as an integer, `01/02/20` as a date) fail here instead of turning into wrong numbers; a
`regex` rule checks a column's values against a pattern of its own. Each parse or regex rule may
give its own severity; the contract's `severity:` is the one of every rule that gives none.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from lakehouse.contracts.report import SAMPLE_KEYS, ContractReport, RuleResult
from lakehouse.records import Strict
from lakehouse.sql import sql_identifier, sql_string

ParseAs = Literal["integer", "decimal", "float", "date", "datetime", "text"]
Severity = Literal["error", "warn"]


class ParseRule(Strict):
    """Values of a column (trimmed; '' and 'N/A' count as empty) must parse as `as`."""

    type: ParseAs = Field(alias="as")
    format: str | None = Field(default=None, description="strptime format for dates")
    required: bool = False  # no empty values
    severity: Severity | None = Field(default=None, description="default: the contract's")


class RegexRule(Strict):
    """Values of a column (trimmed; '' and 'N/A' count as empty, and pass) must match `pattern`
    as a whole."""

    pattern: str
    severity: Severity | None = Field(default=None, description="default: the contract's")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from exc
        return pattern


class RawContract(Strict):
    """What an archived version must hold, checked at ingest: nothing is archived otherwise."""

    columns: list[str] = Field(default_factory=list, description="columns that must be present")
    min_rows: int | None = Field(default=None, ge=0)
    max_rows: int | None = Field(default=None, ge=0)
    unique: list[str] = Field(default_factory=list, description="columns that form a unique key")
    parse: dict[str, ParseRule] = Field(default_factory=dict)
    regex: dict[str, RegexRule] = Field(
        default_factory=dict, description="column: pattern, or {pattern, severity}"
    )
    severity: Severity = Field(default="error", description="of every rule that gives none")

    @field_validator("regex", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """`zip: '^[0-9]{5}$'` is `zip: {pattern: '^[0-9]{5}$'}`."""
        if isinstance(value, dict):
            return {k: {"pattern": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


SHAPES = {
    "integer": r"^[+-]?[0-9]+$",
    "decimal": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$",
    "float": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$",
}
DEFAULT_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"}


def unique_rule_name(columns: list[str]) -> str:
    """The name of the rule that `columns` hold no repeated key (`bbl, updated_at: unique`)."""
    return f"{', '.join(columns)}: unique"


def _cleaned(column: str) -> str:
    return f"NULLIF(NULLIF({_trimmed(f'CAST({sql_identifier(column)} AS VARCHAR)')}, ''), 'N/A')"


def _trimmed(text: str) -> str:
    """DuckDB's `trim` of `text`, called only for the values it may change: those with a
    space at either end or a character beyond ASCII (trim also removes the other Unicode
    spaces). Most values have neither, and skipping trim for them takes a sixth off a
    contract's pass."""
    may_change = (
        f"starts_with({text}, ' ') OR ends_with({text}, ' ') OR strlen({text}) <> length({text})"
    )
    return f"(CASE WHEN {may_change} THEN trim({text}) ELSE {text} END)"


def _unparsable(column: str, rule: ParseRule) -> str:
    value = _cleaned(column)
    if rule.type == "text":
        return "false"
    if rule.type in SHAPES:
        shape = sql_string(SHAPES[rule.type])
        return f"({value} IS NOT NULL AND NOT regexp_full_match({value}, {shape}))"
    fmt = rule.format or DEFAULT_FORMATS[rule.type]
    return f"({value} IS NOT NULL AND try_strptime({value}, {sql_string(fmt)}) IS NULL)"


def _unmatched(column: str, rule: RegexRule) -> str:
    value = _cleaned(column)
    return f"({value} IS NOT NULL AND NOT regexp_full_match({value}, {sql_string(rule.pattern)}))"


def check_raw(con: Any, parquet: Path, dataset: str, contract: RawContract) -> ContractReport:
    """Evaluate the contract on the converted data of one ingest."""
    source = f"read_parquet({sql_string(str(parquet))})"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    report = ContractReport("raw")

    def add(
        rule: str,
        kind: str,
        detail: str,
        failing: int,
        samples: list[Any],
        severity: Severity | None = None,
    ) -> None:
        report.results.append(
            RuleResult(dataset, rule, None, kind, detail, severity or contract.severity,
                       failing == 0, failing, samples)
        )  # fmt: skip

    missing = [c for c in contract.columns if c not in present]
    add("columns", "columns", f"has {', '.join(contract.columns)}", len(missing),
        [{"missing": c} for c in missing])  # fmt: skip
    parse = {c: r for c, r in contract.parse.items() if c in present}
    regex = {c: r for c, r in contract.regex.items() if c in present}
    unique = [c for c in contract.unique if c in present]
    measures = ["count(*)"]
    for column, rule in parse.items():
        measures.append(f"count(*) FILTER (WHERE {_unparsable(column, rule)})")
        measures.append(f"count(*) FILTER (WHERE {_cleaned(column)} IS NULL)")
    for column, pattern in regex.items():
        measures.append(f"count(*) FILTER (WHERE {_unmatched(column, pattern)})")
    if unique:
        keys = ", ".join(sql_identifier(c) for c in unique)
        measures.append(f"count(*) - count(DISTINCT ({keys}))")
    totals = con.execute(f"SELECT {', '.join(measures)} FROM {source}").fetchone()
    rows = int(totals[0])
    if contract.min_rows is not None or contract.max_rows is not None:
        low, high = contract.min_rows or 0, contract.max_rows
        bad = rows < low or (high is not None and rows > high)
        add("rows", "row count", f"between {low} and {high if high is not None else 'any'}",
            int(bad), [{"rows": rows}] if bad else [])  # fmt: skip
    for index, (column, rule) in enumerate(parse.items()):
        failing = int(totals[1 + 2 * index])
        samples = _samples(con, source, f"{_unparsable(column, rule)}", column) if failing else []
        add(f"{column}: parses as {rule.type}", "parse", rule.format or rule.type, failing,
            samples, rule.severity)  # fmt: skip
        if rule.required:
            empty = int(totals[2 + 2 * index])
            add(f"{column}: required", "not null", "no empty values", empty, [], rule.severity)
    for index, (column, pattern) in enumerate(regex.items(), start=1 + 2 * len(parse)):
        failing = int(totals[index])
        samples = _samples(con, source, _unmatched(column, pattern), column) if failing else []
        add(f"{column}: matches {pattern.pattern}", "regex", pattern.pattern, failing, samples,
            pattern.severity)  # fmt: skip
    if unique:
        surplus = int(totals[-1])
        add(unique_rule_name(unique), "unique", "no repeated keys", surplus, [])
    return report


def _samples(con: Any, source: str, condition: str, column: str) -> list[dict[str, Any]]:
    rows = con.execute(
        f"SELECT {sql_identifier(column)} FROM {source} WHERE {condition} LIMIT {SAMPLE_KEYS}"
    ).fetchall()
    return [{column: row[0]} for row in rows]
