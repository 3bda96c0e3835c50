"""Column profiles: the statistics QA compares, computed inside DuckDB, never in pandas.

One aggregate pass gives, per column, non-empty and distinct counts, the length range of text,
and min/max/mean of numbers (text columns count as numbers when nearly all their values parse,
as raw CSV columns do, unless they are codes: see `counts_as_numbers`; a column a sample of its
first rows already rules out is not parsed at all); one grouping-sets pass
gives the most common values of the columns with few distinct values. A geometry column gets its
own pass, with DuckDB's spatial extension: its CRS, the rows of each geometry type, the invalid
and the empty ones, and its bounding box.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import Field

from lakehouse.records import STRICT_PART
from lakehouse.spatial import crs_label, ensure_spatial, is_geometry_type
from lakehouse.sql import sql_identifier

NUMERIC_SHARE = 0.95  # a text column is numeric when this share of its values parse as numbers
TOP_VALUES = 5
COLUMNS_PER_PASS = 32  # columns measured per query: a wide table's passes stay small in memory
MEASURES = 8  # values measured per column in a pass (see `_measures`)
NUMBER_PREFIX = "__lakehouse_number_"  # a pass's name for a column's values parsed as numbers
SCREEN_MIN_ROWS = 50_000  # from this many rows, a sample rules out text columns before parsing
SCREEN_FRACTION = 10  # that sample: the first 1/SCREEN_FRACTION of the rows
CATEGORICAL_MAX = 1000  # top values are kept for columns with at most this many distinct values
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
                 "DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")  # fmt: skip
TEXT_TYPES = ("VARCHAR",)
# words of a column name that say its values are codes, however numeric they look
CODE_WORDS = frozenset({"id", "bbl", "bin", "zip", "zipcode", "postcode", "postal", "code",
                        "fips", "geoid", "objectid"})  # fmt: skip


def _absent(value: Any) -> bool:
    return value is None


@dataclass
class GeometryProfile:
    """A geometry column's profile: its CRS (a label, EPSG:2263), the rows of each geometry type
    (POINT, MULTIPOLYGON...), the geometries that are not valid and the empty ones, and the
    bounding box [xmin, ymin, xmax, ymax] of the others (None when there are none)."""

    __pydantic_config__ = STRICT_PART  # read back as part of a record

    crs: str | None
    types: dict[str, int]
    invalid: int
    empty: int
    bbox: tuple[float, float, float, float] | None = None


@dataclass
class Histogram:
    """Rows of a column's finite numbers in each of `histograms`' equal bins over [low,
    high]; a number outside counts in the nearest end bin, so it describes the column only
    when all its numbers lie within."""

    __pydantic_config__ = STRICT_PART  # read back as part of a record

    low: float
    high: float
    counts: list[int]

    def covers(self, low: float, high: float) -> bool:
        """Whether [low, high] lies within this histogram's bounds."""
        return self.low <= low and high <= self.high


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
    # a geometry column's; left out of the record otherwise (so profiles written before read
    # and write back as they were)
    geometry: Annotated[GeometryProfile | None, Field(exclude_if=_absent)] = None
    # the numbers' histogram as the source QA report against the version before drew it, for
    # the next version's report to reuse; left out when there is none
    histogram: Annotated[Histogram | None, Field(exclude_if=_absent)] = None


@dataclass
class TableProfile:
    rows: int
    columns: dict[str, ColumnProfile]

    def null_rate(self, column: str) -> float:
        if not self.rows:
            return 0.0
        return 1 - self.columns[column].non_null / self.rows

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": [column_dict(c) for c in self.columns.values()]}


def column_dict(column: ColumnProfile) -> dict[str, Any]:
    """A column's profile as a dict, as its record writes it (`geometry` only for a geometry,
    `histogram` only when it has one)."""
    found = asdict(column)
    for optional in ("geometry", "histogram"):
        if found[optional] is None:
            del found[optional]
    return found


def _kind(duckdb_type: str) -> str:
    base = duckdb_type.split("(")[0].upper()
    if base in NUMERIC_TYPES:
        return "number"
    if base in TEXT_TYPES:
        return "text"
    return "other"


def is_code_name(column: str) -> bool:
    """Whether a column's name says it holds codes: one of its words (split at `_`, spaces,
    other punctuation and lower-to-upper case changes) is in CODE_WORDS or ends in `code`,
    as in zip, ZIP Code, zipcode, postcode, bbl, bin, facility_id, FacilityID, borocode."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    words = re.split(r"[^a-z0-9]+", spaced.lower())
    return any(word in CODE_WORDS or word.endswith("code") for word in words if word)


def counts_as_numbers(column: str, kind: str, non_null: int, parsed: int) -> bool:
    """Whether a column gets numeric statistics (min, max, mean, histograms). Its stored type
    decides first: a number column does, a column of any type but text does not. A text column
    (every archived column is text) does only when its values are quantities written as text:
    at least NUMERIC_SHARE of its values parse as numbers and its name does not say it holds
    codes (`is_code_name`: a zip code, a BBL or a
    facility_id of digits has no meaningful mean). A product's typed columns come from its
    dictionary, so a code kept as a number there is profiled as a number."""
    if kind == "number":
        return bool(non_null)
    if kind != "text" or not non_null or is_code_name(column):
        return False
    return parsed >= NUMERIC_SHARE * non_null


def profile_table(
    con: Any,
    source: str,
    columns: list[str] | None = None,
    numeric_before: AbstractSet[str] = frozenset(),
) -> TableProfile:
    """Profile the relation `source` (a table name or `read_parquet(...)`) on `con`. Each text
    column's values are parsed as numbers once per pass, and only those of the columns that
    can count as numbers (`_parsed_columns`; `numeric_before`, the columns that were numbers
    in the version before, are parsed without being screened first)."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    types = {row[0]: row[1] for row in described if columns is None or row[0] in columns}
    rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    parsed = _parsed_columns(con, source, types, rows, numeric_before)
    names = list(types)
    values: list[Any] = []
    for start in range(0, len(names), COLUMNS_PER_PASS):
        batch = {name: types[name] for name in names[start : start + COLUMNS_PER_PASS]}
        values += _measure_pass(con, source, batch, parsed, start)
    profiles: dict[str, ColumnProfile] = {}
    for index, (name, duckdb_type) in enumerate(types.items()):
        non_null, distinct, parsed_count, low, high, mean, short, long = values[
            MEASURES * index : MEASURES * (index + 1)
        ]
        numeric = counts_as_numbers(name, _kind(duckdb_type), non_null, parsed_count)
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
    for name, duckdb_type in types.items():
        if is_geometry_type(duckdb_type):  # its CRS goes to its own profile, as a short label
            found = geometry_profile(con, source, name, crs_label(duckdb_type))
            profiles[name].type, profiles[name].geometry = "GEOMETRY", found
    categorical = [  # the text of a geometry is no value to count
        c for c in profiles.values() if 0 < c.distinct <= CATEGORICAL_MAX and c.geometry is None
    ]
    for name, top in top_values(con, source, [c.name for c in categorical]).items():
        profiles[name].top = top
    return TableProfile(rows, profiles)


def _parsed_columns(
    con: Any, source: str, types: dict[str, str], rows: int, numeric_before: AbstractSet[str]
) -> set[str]:
    """The text columns whose values are worth parsing as numbers: those whose name does not
    say they hold codes (`counts_as_numbers` refuses those whatever they parse as) and, in a
    table of SCREEN_MIN_ROWS rows or more, those a sample of the first rows does not already
    rule out. The sample is exact, not a guess: a column is ruled out only when its failures
    in the sample alone outnumber the share of the whole table's rows that may fail. (Parsing
    an address or a timestamp as a number, and failing, costs more than the rest of its
    profile.) Columns in `numeric_before` are parsed unscreened: they will most likely parse,
    and the sample would only cost."""
    candidates = [n for n, t in types.items() if _kind(t) == "text" and not is_code_name(n)]
    kept = {n for n in candidates if n in numeric_before}
    candidates = [n for n in candidates if n not in kept]
    if rows < SCREEN_MIN_ROWS or not candidates:
        return kept | set(candidates)
    failures = ", ".join(
        f"count({sql_identifier(n)}) - count(TRY_CAST({sql_identifier(n)} AS DOUBLE))"
        for n in candidates
    )
    selected = ", ".join(sql_identifier(n) for n in candidates)
    sample = f"(SELECT {selected} FROM {source} LIMIT {rows // SCREEN_FRACTION})"
    counted = con.execute(f"SELECT {failures} FROM {sample}").fetchone()
    allowed = (1 - NUMERIC_SHARE) * rows + 1  # failures beyond this: fewer than the share parse
    return kept | {n for n, failed in zip(candidates, counted, strict=True) if failed <= allowed}


def _measure_pass(
    con: Any, source: str, types: dict[str, str], parsed: set[str], first: int
) -> list[Any]:
    """One aggregate query over `source`: MEASURES values per column of `types` (numbered from
    `first`). The numbers parsed from a column are computed once, below the aggregates, and
    their finite values picked without FILTER clauses (each of those evaluated the parse
    again: twice the work)."""
    projected, measures = ["*"], []
    for index, (name, duckdb_type) in enumerate(types.items(), start=first):
        number, column_measures = _measures(index, name, _kind(duckdb_type), name in parsed)
        if number is not None:
            projected.append(number)
        measures += column_measures
    inner = f"(SELECT {', '.join(projected)} FROM {source})"
    return list(con.execute(f"SELECT {', '.join(measures)} FROM {inner}").fetchone())


def _measures(index: int, name: str, kind: str, parsed: bool) -> tuple[str | None, list[str]]:
    """A column's MEASURES aggregates (non-null, distinct, parsed as a number, min, max, mean
    of the finite numbers, shortest and longest text), and the projection of its numbers, if
    it has any to measure."""
    q = sql_identifier(name)
    counts = [f"count({q})", f"count(DISTINCT {q})"]
    lengths = [f"min(length({q}))", f"max(length({q}))"] if kind == "text" else ["NULL", "NULL"]
    if kind == "number" or (kind == "text" and parsed):
        alias = sql_identifier(f"{NUMBER_PREFIX}{index}")
        cast = f"CAST({q} AS DOUBLE)" if kind == "number" else f"TRY_CAST({q} AS DOUBLE)"
        finite = f"CASE WHEN isfinite({alias}) THEN {alias} END"
        stats = [f"count({alias})", f"min({finite})", f"max({finite})", f"avg({finite})"]
        return f"{cast} AS {alias}", counts + stats + lengths
    return None, [*counts, "0", "NULL", "NULL", "NULL", *lengths]


def invalid_geometry(column: str) -> str:
    """The SQL condition of a geometry that is not valid (OGC simple features: a
    self-intersecting polygon, a ring that is not closed...); one GEOS cannot even check counts
    as invalid. Spatial must be loaded."""
    g = sql_identifier(column)
    return f"{g} IS NOT NULL AND NOT coalesce(try(ST_IsValid({g})), false)"


def geometry_profile(con: Any, source: str, column: str, crs: str | None) -> GeometryProfile:
    """The profile of the geometry `column` of `source` (whose CRS is `crs`), in one pass;
    DuckDB's spatial extension is loaded for it."""
    ensure_spatial(con)
    g = sql_identifier(column)
    solid = f"FILTER (WHERE {g} IS NOT NULL AND NOT ST_IsEmpty({g}))"
    kinds, invalid, empty, *bbox = con.execute(
        f"SELECT histogram(CAST(ST_GeometryType({g}) AS VARCHAR)) FILTER (WHERE {g} IS NOT NULL),"
        f" count(*) FILTER (WHERE {invalid_geometry(column)}),"
        f" count(*) FILTER (WHERE ST_IsEmpty({g})),"
        f" min(ST_XMin({g})) {solid}, min(ST_YMin({g})) {solid},"
        f" max(ST_XMax({g})) {solid}, max(ST_YMax({g})) {solid} FROM {source}"
    ).fetchone()
    return GeometryProfile(
        crs=crs,
        types={str(kind): int(n) for kind, n in sorted((kinds or {}).items())},
        invalid=int(invalid),
        empty=int(empty),
        bbox=None if bbox[0] is None else (bbox[0], bbox[1], bbox[2], bbox[3]),
    )


def top_values(con: Any, source: str, columns: list[str]) -> dict[str, list[tuple[str, int]]]:
    """The most common non-empty values of each column (as text), in one grouping-sets pass per
    COLUMNS_PER_PASS columns (one pass over hundreds of columns takes gigabytes)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(columns), COLUMNS_PER_PASS):
        found |= _top_values_pass(con, source, columns[start : start + COLUMNS_PER_PASS])
    return found


def _top_values_pass(con: Any, source: str, columns: list[str]) -> dict[str, list[tuple[str, int]]]:
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
    """Counts of each column's numeric values in `bins` equal bins over its (low, high) bounds
    (text that does not parse as a number is left out), in one query: a small grouping per
    column, each parsing its column once (a `histogram()` aggregate per column in one pass
    costs a fifth more)."""
    if not bounds:
        return {}
    groupings = []
    for index, (column, (low, high)) in enumerate(bounds.items()):
        width = (high - low) / bins or 1.0
        start, step = f"'{low!r}'::DOUBLE", f"'{width!r}'::DOUBLE"
        place = f"least(greatest(floor((v - {start}) / {step}), 0), {bins - 1})::INTEGER"
        value = f"TRY_CAST({sql_identifier(column)} AS DOUBLE)"
        groupings.append(
            f"SELECT {index} AS c, {place} AS b, count(*) AS n "
            f"FROM (SELECT {value} AS v FROM {source}) WHERE isfinite(v) GROUP BY b"
        )
    columns = list(bounds)
    found = {column: [0] * bins for column in columns}
    for index, place, count in con.execute(" UNION ALL ".join(groupings)).fetchall():
        found[columns[index]][place] = int(count)
    return found
