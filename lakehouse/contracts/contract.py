"""Contracts: what a model's output must satisfy, as pandera schemas (ibis backend), or for a
data dictionary as `TableRules` (the same rules without pandera: see contracts/rules.py).

A product's output contracts come from its data dictionary (`dictionary_rules`, checked
without importing pandera; `dictionary_schema` gives them as a pandera schema); other
models' (staging, intermediate) are written by hand in `contracts/<product>/*.py` as
`CONTRACTS = {"stg_lots": DataFrameSchema(...)}`, and a source's raw contract may be written
in `contracts/sources/<dataset>.py` as `CONTRACT = DataFrameSchema(...)`. A module that fails
to import, or names a model the product lacks, is an error naming the file. Checking them is
lakehouse/contracts/check.py (the rules each implies: row_rules.py); a failed rule of severity
`error` stops the layer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.contracts.check import check_schema
from lakehouse.contracts.dictionary import ColumnEntry, TableEntry
from lakehouse.contracts.geometry_rules import geometry_check
from lakehouse.contracts.relationship_rules import RELATIONSHIP_KIND, relationship_check
from lakehouse.contracts.report import ContractReport, UncheckedRule
from lakehouse.contracts.rules import ColumnRules, RuleCheck, TableRules, to_pandera
from lakehouse.errors import ConfigError
from lakehouse.spatial import area_of_use

MODULE_PREFIX = "lakehouse_contracts_"


@dataclass(frozen=True)
class Contract:
    """The schema a model's output must satisfy, where it is defined, and a hash of that
    definition (a cached check result is reused only while the hash holds)."""

    model: str
    schema: Any  # a pandera.ibis DataFrameSchema, or the dictionary's TableRules
    defined_in: str
    digest: str


# -- the product contract, from the dictionary -------------------------------------------------


def _literal(column: ColumnEntry, value: Any) -> Any:
    if column.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if column.type == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def dictionary_rules(table: TableEntry, referenced: Mapping[str, Any] | None = None) -> TableRules:
    """A dictionary table as the rules `check_schema` evaluates (no pandera needed): the
    product layer's contract. Columns, order and types are exact; the primary key is the
    table's `unique` and never empty; `allowed`, `range` and `regex` are pandera's built-in
    checks by name; a geometry column's rules are checks of their own (`geometry_check`). A
    column's `references` is a check (`relationship_check`) only when `referenced` gives, by
    column name, the engine table it names (`dictionary_contract` finds them among a build's
    tables). Failing rows are shown by key and the table's `sample_columns`."""
    import ibis

    referenced = referenced or {}
    columns = {}
    for column in table.columns:
        warn = column.severity == "warn"
        checks: list[RuleCheck] = []
        if column.allowed is not None:
            allowed = [_literal(column, v) for v in column.allowed]
            checks.append(RuleCheck("isin", {"allowed_values": allowed}, warn))
        if column.range is not None:
            low, high = (_literal(column, v) for v in column.range)
            bounds = {"min_value": low, "max_value": high, "include_min": True, "include_max": True}
            checks.append(RuleCheck("in_range", bounds, warn))
        if column.regex is not None:
            checks.append(RuleCheck("str_matches", {"pattern": column.regex}, warn))
        if column.references is not None and column.name in referenced:
            checks.append(
                relationship_check(column.references, referenced[column.name], column.severity)
            )
        checks += _geometry_checks(column)
        columns[column.name] = ColumnRules(
            # no geometry type to compare: the build checks it against the dictionary before
            # its contracts run (`schema_differences`)
            None if column.type == "geometry" else ibis.dtype(column.storage_type),
            nullable=column.nullable and column.name not in table.primary_key,
            unique=column.unique and [column.name] != table.primary_key,
            checks=tuple(checks),
            severity=column.severity,
            description=column.description,
        )
    key = tuple(table.primary_key)
    return TableRules(columns, key, key, tuple(table.sample_columns))


def dictionary_schema(table: TableEntry, referenced: Mapping[str, Any] | None = None) -> Any:
    """A dictionary table's rules (`dictionary_rules`) as a pandera DataFrameSchema, for
    pandera's own `validate`."""
    return to_pandera(dictionary_rules(table, referenced), table.description)


def _geometry_checks(column: ColumnEntry) -> list[RuleCheck]:
    """A geometry column's rules: its coordinates fit its crs (they lie in the CRS's area of
    use: always checked), its geometry_type, valid: true, empty: false, its bbox (in the
    column's crs). A NULL geometry passes them: `nullable` rules it."""
    found = []
    area = area_of_use(column.crs) if column.crs is not None else None
    if area is not None:
        found.append(
            geometry_check(
                "crs_area", column.severity, bbox=[round(v) for v in area], crs=column.crs
            )
        )
    if column.geometry_type is not None:
        found.append(
            geometry_check("geometry_type", column.severity, geometry_type=column.geometry_type)
        )
    if column.valid:
        found.append(geometry_check("valid", column.severity))
    if not column.empty:
        found.append(geometry_check("not_empty", column.severity))
    if column.bbox is not None:
        found.append(
            geometry_check("bbox", column.severity, bbox=list(column.bbox), crs=column.crs)
        )
    return found


DICTIONARY = "the data dictionary"


@dataclass(frozen=True)
class BuildTables:
    """The tables of a build that a dictionary's `references` may name: its recipe inputs by
    alias and its models, each with its fingerprint (`tables` are the engine's tables by the
    same names; without them, as for `lake plan`, the contract has the right digest but no
    relationship checks), and the dictionary file, for messages. `unavailable` names tables
    the build has but cannot give, each with why (`lake check` of a finished build has only
    the models it wrote out): a reference to one is left unchecked and reported so."""

    fingerprints: Mapping[str, str]
    tables: Mapping[str, Any] | None = None
    where: str = DICTIONARY
    unavailable: Mapping[str, str] = field(default_factory=dict)


def dictionary_contract(name: str, table: TableEntry, build: BuildTables | None = None) -> Contract:
    """An output's contract from its dictionary entry. With the `build`'s tables, a column's
    `references` is checked against the table it names; the digest then includes that table's
    fingerprint, so that cached results are reused only while neither side changes. Without
    `build`, references are left out (nothing to check them against)."""
    referenced = {} if build is None else _referenced_tables(name, table, build)
    parts = [table.model_dump_json()]
    if build is not None:  # the fingerprint of each table referenced, self included
        targets = sorted({target[0] for target in _references(table).values()})
        parts += [f"{target}={build.fingerprints[target]}" for target in targets]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return Contract(name, dictionary_rules(table, referenced), DICTIONARY, digest)


def _references(table: TableEntry) -> dict[str, tuple[str, str]]:
    """Each column with `references`: the (table, column) it names."""
    return {c.name: c.reference for c in table.columns if c.reference is not None}


def _referenced_tables(name: str, table: TableEntry, build: BuildTables) -> dict[str, Any]:
    """The engine table each column's `references` names, by column name (none without the
    engine's tables); an unknown table or column, or a column of another kind of value, is an
    error naming the dictionary, the table and the column."""
    found = {}
    for column_name, (target, target_column) in _references(table).items():
        shown = f"{build.where}: {name}.{column_name} references {target}.{target_column}"
        if target not in build.fingerprints:
            raise ConfigError(
                f"{shown}, but the build has no table {target!r}; name one of its tables (the "
                f"recipe's inputs by alias, the product's models): "
                f"{', '.join(sorted(build.fingerprints))}."
            )
        if build.tables is None or target in build.unavailable:
            continue
        other = build.tables[target]
        if target_column not in other.columns:
            raise ConfigError(
                f"{shown}, but {target!r} has no column {target_column!r}; name one of: "
                f"{', '.join(other.columns)}."
            )
        ours, theirs = table.column(column_name).storage_type, other.schema()[target_column]
        if not _comparable(ours, theirs):
            raise ConfigError(
                f"{shown}, but that column holds {theirs.copy(nullable=True)} and "
                f"{column_name} {ours}: values of different kinds never match; reference a "
                "column of the same kind (e.g. a typed model rather than a raw input)."
            )
        found[column_name] = other
    return found


def _comparable(ours: str, theirs: Any) -> bool:
    """Whether values of the ibis types `ours` (a name) and `theirs` can equal each other."""
    import ibis

    mine = ibis.dtype(ours)
    return (
        (mine.is_numeric() and theirs.is_numeric())
        or (mine.is_string() and theirs.is_string())
        or (mine.is_temporal() and theirs.is_temporal())
        or mine.copy(nullable=True) == theirs.copy(nullable=True)
    )


# -- hand-written contracts --------------------------------------------------------------------


def load_contracts(contracts_dir: Path, product: str, models: set[str]) -> dict[str, Contract]:
    """The `CONTRACTS` of every module in `contracts/<product>/`, by model name."""
    import pandera.ibis as pa

    folder = contracts_dir / product
    found: dict[str, Contract] = {}
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        shown = f"{contracts_dir.name}/{product}/{path.name}"
        declared = _import_contract_module(path, product, shown)
        if not isinstance(declared, dict):
            raise ConfigError(
                f"{shown} defines CONTRACTS as a {type(declared).__name__}; make it a dict of "
                "model name -> pandera.ibis.DataFrameSchema."
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for model, schema in declared.items():
            if model not in models:
                known = ", ".join(sorted(models))
                raise ConfigError(
                    f"{shown}: CONTRACTS names {model!r}, which is not a model of {product!r}; "
                    f"use one of: {known}."
                )
            if not isinstance(schema, pa.DataFrameSchema):
                raise ConfigError(
                    f"{shown}: CONTRACTS[{model!r}] is a {type(schema).__name__}; make it a "
                    "pandera.ibis.DataFrameSchema."
                )
            if model in found:
                raise ConfigError(
                    f"{shown}: {model!r} already has a contract in {found[model].defined_in}; "
                    "keep one."
                )
            found[model] = Contract(model, schema, shown, digest)
    return found


def _import_contract_module(
    path: Path,
    owner: str,
    shown: str,
    attribute: str = "CONTRACTS",
    example: str = "CONTRACTS = {'model': DataFrameSchema(...)}",
) -> Any:
    """The `attribute` of the contract module at `path` (imported fresh each time)."""
    from lakehouse.project_code import import_file

    name = f"{MODULE_PREFIX}{owner}_{path.stem}"
    module = import_file(name, path, shown, ConfigError, keep=False)
    if not hasattr(module, attribute):
        raise ConfigError(f"{shown} defines no {attribute}; add {example}.")
    return getattr(module, attribute)


SOURCES_FOLDER = "sources"  # contracts/sources/<dataset>.py: a source's pandera raw contract


def load_source_contract(contracts_dir: Path, dataset: str) -> Contract | None:
    """The pandera raw contract of a dataset, `CONTRACT` in contracts/sources/<dataset>.py,
    checked at ingest beside its template's `contract:`."""
    import pandera.ibis as pa

    path = contracts_dir / SOURCES_FOLDER / f"{dataset}.py"
    if not path.is_file():
        return None
    shown = f"{contracts_dir.name}/{SOURCES_FOLDER}/{path.name}"
    schema = _import_contract_module(
        path, SOURCES_FOLDER, shown, "CONTRACT", "CONTRACT = pandera.ibis.DataFrameSchema(...)"
    )
    if not isinstance(schema, pa.DataFrameSchema):
        raise ConfigError(
            f"{shown}: CONTRACT is a {type(schema).__name__}; make it a "
            "pandera.ibis.DataFrameSchema."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Contract(dataset, schema, shown, digest)


def check_table(
    t: Any, name: str, table: TableEntry, layer: str = "product", build: BuildTables | None = None
) -> ContractReport:
    """Check `t` against its data-dictionary entry (its `references` too when `build` gives the
    tables they name; one to a table it cannot give is reported as not checked)."""
    report = check_schema(t, name, dictionary_contract(name, table, build).schema, layer)
    if build is not None:
        report.unchecked += unchecked_references(name, table, build)
    return report


def unchecked_references(name: str, table: TableEntry, build: BuildTables) -> list[UncheckedRule]:
    """The relationship rules of `table` that name a table the `build` cannot give, with why."""
    return [
        UncheckedRule(
            name,
            f"{column}: {RELATIONSHIP_KIND}",
            f"values in {target}.{target_column}",
            build.unavailable[target],
        )
        for column, (target, target_column) in _references(table).items()
        if target in build.unavailable
    ]
