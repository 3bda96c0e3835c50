"""Contracts: what a model's output must satisfy, as pandera schemas (ibis backend).

A product's output contracts come from its data dictionary (`dictionary_schema`); other
models' (staging, intermediate) are written by hand in `contracts/<product>/*.py` as
`CONTRACTS = {"stg_lots": DataFrameSchema(...)}`, and a source's raw contract may be written
in `contracts/sources/<dataset>.py` as `CONTRACT = DataFrameSchema(...)`. A module that fails
to import, or names a model the product lacks, is an error naming the file. Checking them is
lakehouse/contracts/check.py; a failed rule of severity `error` stops the layer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.contracts.check import check_schema, geometry_check
from lakehouse.contracts.dictionary import ColumnEntry, TableEntry
from lakehouse.contracts.report import ContractReport
from lakehouse.errors import ConfigError
from lakehouse.spatial import area_of_use

MODULE_PREFIX = "lakehouse_contracts_"


@dataclass(frozen=True)
class Contract:
    """The schema a model's output must satisfy, where it is defined, and a hash of that
    definition (a cached check result is reused only while the hash holds)."""

    model: str
    schema: Any  # pandera.api.ibis.container.DataFrameSchema
    defined_in: str
    digest: str


# -- the product contract, from the dictionary -------------------------------------------------


def _literal(column: ColumnEntry, value: Any) -> Any:
    if column.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if column.type == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def dictionary_schema(table: TableEntry) -> Any:
    """A dictionary table as a pandera DataFrameSchema: the product layer's contract. Columns,
    order and types are exact; the primary key is the schema's `unique` (pandera's ibis backend
    ignores `Column(unique=True)`, which `check_schema` honours); a geometry column's rules are
    checks of their own (`geometry_check`)."""
    import ibis
    import pandera.ibis as pa

    columns = {}
    for column in table.columns:
        warn = column.severity == "warn"
        checks = []
        if column.allowed is not None:
            allowed = [_literal(column, v) for v in column.allowed]
            checks.append(pa.Check.isin(allowed, raise_warning=warn))
        if column.range is not None:
            low, high = (_literal(column, v) for v in column.range)
            checks.append(pa.Check.in_range(low, high, raise_warning=warn))
        if column.regex is not None:
            checks.append(pa.Check.str_matches(column.regex, raise_warning=warn))
        checks += _geometry_checks(column)
        columns[column.name] = pa.Column(
            # pandera's ibis engine has no geometry type: the build checks it against the
            # dictionary before its contracts run (`schema_differences`)
            None if column.type == "geometry" else ibis.dtype(column.storage_type),
            checks,
            nullable=column.nullable and column.name not in table.primary_key,
            unique=column.unique and [column.name] != table.primary_key,
            description=column.description,
            metadata={"severity": column.severity},
        )
    return pa.DataFrameSchema(
        columns,
        unique=table.primary_key or None,
        strict=True,
        ordered=True,
        description=table.description,
        metadata={"primary_key": table.primary_key} if table.primary_key else None,
    )


def _geometry_checks(column: ColumnEntry) -> list[Any]:
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


def dictionary_contract(name: str, table: TableEntry) -> Contract:
    digest = hashlib.sha256(table.model_dump_json().encode()).hexdigest()[:16]
    return Contract(name, dictionary_schema(table), "the data dictionary", digest)


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


def check_table(t: Any, name: str, table: TableEntry, layer: str = "product") -> ContractReport:
    """Check `t` against its data-dictionary entry."""
    return check_schema(t, name, dictionary_schema(table), layer)
