"""The Lineage & dictionary page's logic: a product's DAG as SVG, its column lineage with what
decides each column's rows, and its data dictionary, per output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from lakehouse.errors import NotFoundError
from lakehouse.render.dag import dag_svg
from lakehouse.transform.lineage import Lineage, describe_rows

if TYPE_CHECKING:
    import pandas as pd

    from lakehouse.project import Lakehouse


def lineage(lake: Lakehouse, product: str) -> Lineage:
    """Table, column and row lineage of the product, from its lock (or the latest versions)."""
    return lake.lineage(product)


def dag(found: Lineage) -> str:
    """The product's DAG (its locked sources, models and outputs) as inline SVG."""
    return dag_svg(f"Lineage of {found.product}", found.nodes, found.edges)


def outputs(found: Lineage) -> list[str]:
    """The outputs whose columns were traced."""
    return list(found.columns)


def rows_decided_by(found: Lineage, output: str) -> list[str]:
    """What decides the rows of every column of `output` (its joins, filters and groupings),
    one line each: "join key in prod: numbers.n"."""
    return describe_rows(found.shared_rows(output))


def columns_frame(found: Lineage, output: str) -> pd.DataFrame:
    """Each column of `output`: the source columns it is computed from, and what decides its
    rows beyond what every column shares."""
    import pandas as pd

    if output not in found.columns:
        raise NotFoundError(
            f"{found.product!r} has no traced output {output!r}; its outputs: "
            f"{', '.join(found.columns) or 'none'}."
        )
    rows = [
        {
            "column": column,
            "computed_from": ", ".join(sources) or "(a constant)",
            "rows_also_decided_by": "; ".join(describe_rows(found.own_rows(output, column))),
        }
        for column, sources in found.columns[output].items()
    ]
    return pd.DataFrame(rows, columns=["column", "computed_from", "rows_also_decided_by"])


def dictionary(lake: Lakehouse, product: str) -> Dictionary | None:
    """The product's data dictionary (None when it has none)."""
    return load_dictionary(lake.config.contracts_dir, product)


def dictionary_frame(found: Dictionary, table: str) -> pd.DataFrame:
    """A dictionary table's columns: type, description, whether it may be empty, whether it
    is part of the primary key, and its rules."""
    import pandas as pd

    if table not in found.tables:
        raise NotFoundError(
            f"The dictionary of {found.product!r} has no table {table!r}; its tables: "
            f"{', '.join(found.tables)}."
        )
    entry = found.tables[table]
    rows = [
        {
            "column": c.name,
            "type": c.type,
            "description": c.description,
            "nullable": c.nullable and c.name not in entry.primary_key,
            "primary_key": c.name in entry.primary_key,
            "rules": c.rules_text(),
        }
        for c in entry.columns
    ]
    return pd.DataFrame(
        rows, columns=["column", "type", "description", "nullable", "primary_key", "rules"]
    )
