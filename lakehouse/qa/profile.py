"""Column profiles: the statistics QA compares, computed inside DuckDB, never in pandas.

One aggregate pass gives, per column, non-empty and distinct counts, the length range of text,
and min/max/mean of numbers (text columns count as numbers when nearly all their values parse,
as raw CSV columns do); one grouping-sets pass gives the most common values of the columns with
few distinct values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.records import STRICT_PART
from lakehouse.sql import sql_identifier

NUMERIC_SHARE = 0.95  # a text column is numeric when this share of its values parse as numbers
TOP_VALUES = 5
CATEGORICAL_MAX = 1000  # top values are kept for columns with at most this many distinct values
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
                 "DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")  # fmt: skip
TEXT_TYPES = ("VARCHAR",)


@dataclass
class ColumnProfile:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    name: str
    type: str
    non_null: int
    distinct: int
    numeric: bool = False
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    top: list[tuple[str, int]] = field(default_factory=list)  # (value as text, rows)


@dataclass
class TableProfile:
    rows: int
    columns: dict[str, ColumnProfile]

    def null_rate(self, column: str) -> float:
        if not self.rows:
            return 0.0
        return 1 - self.columns[column].non_null / self.rows

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": [asdict(c) for c in self.columns.values()]}


def _kind(duckdb_type: str) -> str:
    base = duckdb_type.split("(")[0].upper()
    if base in NUMERIC_TYPES:
        return "number"
    if base in TEXT_TYPES:
        return "text"
    return "other"


def _finite_stats(number: str) -> list[str]:
    """min, max and mean of a number's finite values (an inf or NaN would swamp them)."""
    finite = f"FILTER (WHERE isfinite({number}))"
    return [f"min({number}) {finite}", f"max({number}) {finite}", f"avg({number}) {finite}"]


def profile_table(con: Any, source: str, columns: list[str] | None = None) -> TableProfile:
    """Profile the relation `source` (a table name or `read_parquet(...)`) on `con`."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    types = {row[0]: row[1] for row in described if columns is None or row[0] in columns}
    measures = ["count(*)"]
    for name, duckdb_type in types.items():
        q = sql_identifier(name)
        kind = _kind(duckdb_type)
        measures += [f"count({q})", f"count(DISTINCT {q})"]
        if kind == "number":
            number = f"{q}::DOUBLE"
            measures += [f"count({q})", *_finite_stats(number), "NULL", "NULL"]
        elif kind == "text":
            number = f"TRY_CAST({q} AS DOUBLE)"
            measures += [f"count({number})", *_finite_stats(number),
                         f"min(length({q}))", f"max(length({q}))"]  # fmt: skip
        else:
            measures += ["0", "NULL", "NULL", "NULL", "NULL", "NULL"]
    values = con.execute(f"SELECT {', '.join(measures)} FROM {source}").fetchone()
    rows = int(values[0])
    profiles: dict[str, ColumnProfile] = {}
    for index, (name, duckdb_type) in enumerate(types.items()):
        non_null, distinct, parsed, low, high, mean, short, long = values[
            1 + 8 * index : 9 + 8 * index
        ]
        numeric = bool(non_null) and parsed >= NUMERIC_SHARE * non_null
        profiles[name] = ColumnProfile(
            name=name,
            type=duckdb_type,
            non_null=int(non_null),
            distinct=int(distinct),
            numeric=numeric,
            minimum=low if numeric else None,
            maximum=high if numeric else None,
            mean=mean if numeric else None,
            min_length=short,
            max_length=long,
        )
    categorical = [c for c in profiles.values() if 0 < c.distinct <= CATEGORICAL_MAX]
    for name, top in top_values(con, source, [c.name for c in categorical]).items():
        profiles[name].top = top
    return TableProfile(rows, profiles)


def top_values(con: Any, source: str, columns: list[str]) -> dict[str, list[tuple[str, int]]]:
    """The most common non-empty values of each column (as text), in one grouping-sets pass."""
    if not columns:
        return {}
    sets = ", ".join(f"({sql_identifier(c)})" for c in columns)
    selected = ", ".join(
        f"CAST({sql_identifier(c)} AS VARCHAR) AS v{i}" for i, c in enumerate(columns)
    )
    which = " ".join(
        f"WHEN GROUPING({sql_identifier(c)}) = 0 THEN {i}" for i, c in enumerate(columns)
    )
    value = "COALESCE(" + ", ".join(f"v{i}" for i in range(len(columns))) + ")"
    query = f"""
        WITH counted AS (
            SELECT CASE {which} END AS col, {selected}, count(*) AS n
            FROM {source} GROUP BY GROUPING SETS ({sets})
        ), ranked AS (
            SELECT col, {value} AS value, n,
                   row_number() OVER (PARTITION BY col ORDER BY n DESC, {value}) AS r
            FROM counted WHERE {value} IS NOT NULL
        )
        SELECT col, value, n FROM ranked WHERE r <= {TOP_VALUES} ORDER BY col, r
    """
    found: dict[str, list[tuple[str, int]]] = {c: [] for c in columns}
    for col, value, n in con.execute(query).fetchall():
        found[columns[col]].append((value, int(n)))
    return found


HISTOGRAM_BINS = 20


def histograms(
    con: Any, source: str, bounds: dict[str, tuple[float, float]], bins: int = HISTOGRAM_BINS
) -> dict[str, list[int]]:
    """Counts of each column's numeric values in `bins` equal bins over its (low, high) bounds,
    all columns in one pass (text that does not parse as a number is left out)."""
    if not bounds:
        return {}
    measures = []
    for column, (low, high) in bounds.items():
        width = (high - low) / bins or 1.0
        value = f"TRY_CAST({sql_identifier(column)} AS DOUBLE)"
        start, step = f"'{low!r}'::DOUBLE", f"'{width!r}'::DOUBLE"
        index = f"least(greatest(floor(({value} - {start}) / {step}), 0), {bins - 1})::INTEGER"
        measures.append(f"histogram({index}) FILTER (WHERE isfinite({value}))")
    values = con.execute(f"SELECT {', '.join(measures)} FROM {source}").fetchone()
    found = {}
    for column, counts in zip(bounds, values, strict=True):
        per_bin = dict(counts or {})
        found[column] = [int(per_bin.get(i, 0)) for i in range(bins)]
    return found
