"""Light, declarative preprocessing steps, compiled to one SQL SELECT over `source_data`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lakehouse.archive.template import (
    CleanColumnNames,
    DropColumns,
    FilterRows,
    RenameColumns,
    SelectColumns,
    Step,
)
from lakehouse.errors import ConfigError
from lakehouse.formats.view import SOURCE_VIEW
from lakehouse.sql import sql_identifier, sql_string


def clean_column_name(name: str) -> str:
    """lower_snake_case: letters and digits kept, every other run of characters becomes '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass
class CompiledSteps:
    """The SELECT that applies every step, and a summary of what each step did."""

    sql: str
    columns: list[str]
    has_filter: bool
    summaries: list[dict[str, Any]] = field(default_factory=list)
    where: str = ""  # the filters' WHERE clause (with its leading space), over `source_data`
    origins: dict[str, str] = field(default_factory=dict)  # output column -> its source column


def compile_steps(source_columns: list[str], steps: list[Step]) -> CompiledSteps:
    """Apply `steps` in order to the column list; filters refer to the names current at the time."""
    current: dict[str, str] = {name: sql_identifier(name) for name in source_columns}
    conditions: list[str] = []
    summaries: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, CleanColumnNames):
            renamed = _clean_names(current)
            summaries.append({"step": step.step, "renamed": renamed})
        elif isinstance(step, RenameColumns):
            _require(current, step.columns, step.step)
            _rename(current, step.columns)
            summaries.append({"step": step.step, "renamed": dict(step.columns)})
        elif isinstance(step, SelectColumns):
            _require(current, step.columns, step.step)
            dropped = [name for name in current if name not in step.columns]
            current = {name: current[name] for name in step.columns}
            summaries.append({"step": step.step, "dropped": dropped})
        elif isinstance(step, DropColumns):
            _require(current, step.columns, step.step)
            current = {n: e for n, e in current.items() if n not in step.columns}
            summaries.append({"step": step.step, "dropped": list(step.columns)})
        elif isinstance(step, FilterRows):
            _require(current, [step.column], step.step)
            conditions.append(_condition(current[step.column], step))
            summaries.append({"step": step.step, "condition": conditions[-1]})
    if not current:
        raise ConfigError("The template's steps leave no columns; keep at least one.")
    projection = ", ".join(
        expr if expr == sql_identifier(name) else f"{expr} AS {sql_identifier(name)}"
        for name, expr in current.items()
    )
    where = f" WHERE {' AND '.join(f'({c})' for c in conditions)}" if conditions else ""
    by_expression = {sql_identifier(name): name for name in source_columns}
    return CompiledSteps(
        sql=f"SELECT {projection} FROM {SOURCE_VIEW}{where}",
        columns=list(current),
        has_filter=bool(conditions),
        summaries=summaries,
        where=where,
        origins={name: by_expression[expr] for name, expr in current.items()},
    )


def _require(current: dict[str, str], names: Any, step: str) -> None:
    missing = [name for name in names if name not in current]
    if missing:
        raise ConfigError(
            f"Step {step} names column(s) {', '.join(map(repr, missing))} that the data does not "
            f"have at that point; columns are: {', '.join(current)}."
        )


def _rename(current: dict[str, str], mapping: dict[str, str]) -> None:
    renamed = {mapping.get(name, name): expr for name, expr in current.items()}
    if len(renamed) != len(current):
        raise ConfigError(f"Renaming {mapping} would give two columns the same name.")
    current.clear()
    current.update(renamed)


def _clean_names(current: dict[str, str]) -> dict[str, str]:
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for index, name in enumerate(list(current)):
        base = clean_column_name(name) or f"column_{index + 1}"
        candidate, suffix = base, 2
        while candidate in taken:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(candidate)
        if candidate != name:
            renamed[name] = candidate
    _rename(current, renamed)
    return renamed


def _condition(expr: str, step: FilterRows) -> str:
    if step.equals is not None:
        return f"{expr} = {sql_string(step.equals)}"
    if step.not_equals is not None:
        return f"{expr} IS DISTINCT FROM {sql_string(step.not_equals)}"
    if step.one_of is not None:
        return f"{expr} IN ({', '.join(map(sql_string, step.one_of))})"
    if step.not_one_of is not None:
        values = ", ".join(map(sql_string, step.not_one_of))
        return f"{expr} IS NULL OR {expr} NOT IN ({values})"
    return f"{expr} IS NULL" if step.is_null else f"{expr} IS NOT NULL"
