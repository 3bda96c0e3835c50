"""Build diffs: what changed between two builds of a product, row by row, by primary key.

For each output: rows added, removed and changed (matched by the dictionary's primary key), how
many rows changed in each column, how the numeric columns' distributions moved, and a sample
of changed rows side by side. One full outer join per output in DuckDB; outputs whose content
hashes are equal are identical without reading them.

Geometry columns (DuckDB's spatial extension is loaded for them) are equal when their
normalised WKB is, or, with a `tolerance` in the data dictionary (CRS units), when they are
within it of each other: every vertex within the tolerance of its counterpart, else each inside
the other's buffer by the tolerance (a Hausdorff distance within it; DuckDB spatial 1.5 has no
ST_HausdorffDistance). A reprojection round trip is then no change. Changed geometries report
how far their centroid moved and how their area shifted (`GeometryShift`: see `geometry_diff`).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from lakehouse.contracts.dictionary import Dictionary
from lakehouse.errors import DiffError
from lakehouse.qa.geometry_diff import (
    GeometryShift,
    geometry_changed,
    geometry_line,
    geometry_shift,
)
from lakehouse.qa.profile import NUMERIC_TYPES
from lakehouse.records import STRICT_PART
from lakehouse.spatial import crs_label, is_geometry_type, load_spatial
from lakehouse.sql import sql_identifier, sql_string

SAMPLE_ROWS = 10
SAMPLE_KEYS = 5  # keys shown on a line of text (`added, e.g. ...`)
SAMPLE_TEXT = 120  # a geometry in the changed sample: its WKT, cut to this many characters
GEOMETRY_FLAGS = "_lakehouse_geometry_changed"  # a temporary table: which geometries changed


@dataclass(frozen=True)
class Side:
    """One side of a diff: a build or a published version of a product (or nothing)."""

    product: str
    label: str  # the build id, "published 25v1 (build ...)", or "nothing (the first build)"
    outputs: dict[str, dict[str, Any]]  # output name -> {url, content_sha256, rows}
    key: str = "first"  # a file-name-safe name: the build id, the version, or "first"
    build_id: str | None = None  # the build behind it


@dataclass
class NumericShift:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    column: str
    old_min: float | None
    old_max: float | None
    old_mean: float | None
    new_min: float | None
    new_max: float | None
    new_mean: float | None


@dataclass
class TableDiff:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    table: str
    key: list[str]
    old_rows: int
    new_rows: int
    identical: bool
    added: int = 0
    removed: int = 0
    changed: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # column -> changed rows
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    retyped_columns: list[str] = field(default_factory=list)  # "name: OLD -> NEW"
    numeric: list[NumericShift] = field(default_factory=list)
    added_sample: list[dict[str, Any]] = field(default_factory=list)
    removed_sample: list[dict[str, Any]] = field(default_factory=list)
    # changed rows side by side: key values, then {column: [old, new]} for the changed columns
    # (a geometry as WKT, cut to SAMPLE_TEXT characters)
    changed_sample: list[dict[str, Any]] = field(default_factory=list)
    # geometry columns compared; left out of the record when there are none, so a diff without
    # geometry is written exactly as before
    geometry: Annotated[list[GeometryShift], Field(exclude_if=lambda shifts: not shifts)] = field(
        default_factory=list
    )

    def sample_lines(self, limit: int = SAMPLE_KEYS) -> list[str]:
        """The keys of a few rows added and removed, one line each (`added, e.g. 1000010001,
        1000010002`); a side with no rows has no line (never `removed, e.g. []`)."""
        found = [sample_line("added", self.added_sample, self.added, limit),
                 sample_line("removed", self.removed_sample, self.removed, limit)]  # fmt: skip
        return [line for line in found if line]


def sample_line(
    label: str, rows: list[dict[str, Any]], total: int, limit: int = SAMPLE_KEYS
) -> str:
    """`label, e.g.` and the keys of the first `limit` of `rows` (a one-column key by its
    value, a compound one as `(a=1, b=2)`), with the `total` when there are more; empty for no
    rows."""
    if not rows:
        return ""
    keys = [
        str(next(iter(row.values()))) if len(row) == 1
        else "(" + ", ".join(f"{column}={value}" for column, value in row.items()) + ")"
        for row in rows[:limit]
    ]  # fmt: skip
    more = f" ({len(keys)} of {total:,})" if total > len(keys) else ""
    return f"{label}, e.g. {', '.join(keys)}{more}"


@dataclass
class BuildDiff:
    product: str
    old: str
    new: str
    tables: list[TableDiff]
    removed_outputs: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.removed_outputs and all(t.identical for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        """The diff as plain data; a table without geometry columns has no `geometry`, as
        before there were any."""
        found = asdict(self)
        for table in found["tables"]:
            if not table["geometry"]:
                del table["geometry"]
        return found

    def to_text(self) -> str:
        if self.identical:
            return f"{self.product}: {self.new} is identical to {self.old}.\n"
        lines = [f"{self.product}: {self.new} against {self.old}"]
        for t in self.tables:
            if t.identical:
                lines.append(f"{t.table}: identical ({t.new_rows:,} rows)")
                continue
            lines.append(
                f"{t.table}: {t.old_rows:,} -> {t.new_rows:,} rows; by ({', '.join(t.key)}): "
                f"{t.added:,} added, {t.removed:,} removed, {t.changed:,} changed"
            )
            for label, names in (("columns added", t.added_columns),
                                 ("columns removed", t.removed_columns),
                                 ("columns retyped", t.retyped_columns)):  # fmt: skip
                if names:
                    lines.append(f"  {label}: {', '.join(names)}")
            shifts = {shift.column: shift for shift in t.geometry}
            for column, count in t.columns.items():
                if count and column in shifts:
                    lines.append(f"  {geometry_line(shifts[column])}")
                elif count:
                    lines.append(f"  {column}: {count:,} row(s) changed")
        lines += [f"{name}: output removed" for name in self.removed_outputs]
        return "\n".join(lines) + "\n"


def diff_builds(
    dictionary: Dictionary | None,
    old: Side,
    new: Side,
    con: Any,
    workspace: Path | None = None,
    *,
    detail: bool = True,
) -> BuildDiff:
    """Compare two sides output by output (`con` has the store registered; DuckDB's spatial
    extension is loaded into it, from `workspace`, for geometry columns). Without `detail`,
    only the counts (rows added, removed, changed, and by column): no samples, numeric or
    geometry shifts, at the cost of one join per output (a first view that must be quick)."""
    if old.product != new.product:
        raise DiffError(
            f"{old.label} is a build of {old.product!r} and {new.label} of {new.product!r}: a "
            "diff compares two builds of one product."
        )
    tables = []
    for name, new_output in new.outputs.items():
        old_output = old.outputs.get(name)
        table = dictionary.tables.get(name) if dictionary else None
        if table is None or not table.primary_key:
            raise DiffError(
                f"The output {name!r} of {new.product!r} has no primary key in its data "
                "dictionary; add primary_key: to contracts/"
                f"{new.product}/dictionary.yml so rows can be matched."
            )
        if old_output is None:  # nothing before: every row is new
            tables.append(all_added(con, name, table.primary_key, new_output["url"]))
            continue
        if (
            old_output["content_sha256"]
            and old_output["content_sha256"] == new_output["content_sha256"]
        ):
            tables.append(
                TableDiff(name, table.primary_key, old_output["rows"], new_output["rows"], True)
            )
            continue
        tolerances = {c.name: c.tolerance or 0.0 for c in table.columns if c.type == "geometry"}
        urls = (old_output["url"], new_output["url"])
        tables.append(
            diff_table(
                con,
                name,
                table.primary_key,
                *urls,
                tolerances=tolerances,
                workspace=workspace,
                detail=detail,
            )
        )
    removed = [name for name in old.outputs if name not in new.outputs]
    return BuildDiff(new.product, old.label, new.label, tables, removed)


def all_added(con: Any, name: str, key: list[str], url: str) -> TableDiff:
    """The diff of an output against nothing (a first build): all its rows are added."""
    source = f"read_parquet({sql_string(url)})"
    rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    keys = ", ".join(sql_identifier(k) for k in key)
    sample = _records(con, f"SELECT {keys} FROM {source} ORDER BY {keys} LIMIT {SAMPLE_ROWS}")
    return TableDiff(name, list(key), 0, rows, False, added=rows, added_sample=sample)


def diff_table(
    con: Any,
    name: str,
    key: list[str],
    old_url: str,
    new_url: str,
    *,
    tolerances: dict[str, float] | None = None,
    workspace: Path | None = None,
    detail: bool = True,
) -> TableDiff:
    """Match the rows of two Parquet files by `key` and count what differs. Geometry columns
    (GEOMETRY on both sides) are compared within their `tolerances` (column -> CRS units; none:
    exact), with DuckDB's spatial extension, loaded into `con` from `workspace` (default: the
    temporary folder) unless it is."""
    types, old_types = describe_parquet(con, new_url), describe_parquet(con, old_url)
    has_geometry = any(map(is_geometry_type, [*types.values(), *old_types.values()]))
    if has_geometry and not spatial_loaded(con):  # then the types name their CRS
        use_spatial(con, workspace)
        types, old_types = describe_parquet(con, new_url), describe_parquet(con, old_url)
    old_source = parquet_relation(old_url, list(geometry_columns(old_types)))
    new_source = parquet_relation(new_url, list(geometry_columns(types)))
    compared = [c for c in types if c not in key and c in old_types]
    compared_geometry = [
        c for c in compared if is_geometry_type(types[c]) and is_geometry_type(old_types[c])
    ]
    q = sql_identifier
    on = " AND ".join(f"o.{q(k)} = n.{q(k)}" for k in key)
    differs = {c: f"(o.{q(c)} IS DISTINCT FROM n.{q(c)})" for c in compared}
    for c in compared:  # geometry on one side only: compared as text
        if is_geometry_type(types[c]) != is_geometry_type(old_types[c]):
            differs[c] = f"(o.{q(c)}::VARCHAR IS DISTINCT FROM n.{q(c)}::VARCHAR)"
    matched = f"{old_source} AS o JOIN {new_source} AS n ON {on}"
    flags_join = ""  # brings the geometry flags, as `f`
    if compared_geometry:
        # comparing geometries costs (GEOS, per vertex): once per matched row, kept as flags
        flags = [f"o.{q(k)} AS {q(k)}" for k in key] + [
            f"{geometry_changed(f'o.{q(c)}', f'n.{q(c)}', (tolerances or {}).get(c, 0.0))} "
            f"AS {q(f'changed {c}')}"
            for c in compared_geometry
        ]
        con.execute(
            f"CREATE OR REPLACE TEMPORARY TABLE {GEOMETRY_FLAGS} AS "
            f"SELECT {', '.join(flags)} FROM {matched}"
        )
        flags_join = f" LEFT JOIN {GEOMETRY_FLAGS} AS f ON " + " AND ".join(
            f"f.{q(k)} = o.{q(k)}" for k in key
        )
        differs.update({c: f"coalesce(f.{q(f'changed {c}')}, false)" for c in compared_geometry})
    try:
        diff = _compare(con, name, key, types, old_types, compared, differs, old_source,
                        new_source, flags_join, detail)  # fmt: skip
        for c in compared_geometry if detail and not diff.identical else []:
            tolerance = (tolerances or {}).get(c, 0.0)
            diff.geometry.append(geometry_shift(
                con, key, c, crs_label(types[c]), tolerance, diff.columns[c], differs[c],
                old_source, new_source, matched + flags_join, SAMPLE_ROWS,
            ))  # fmt: skip
    finally:
        if compared_geometry:
            con.execute(f"DROP TABLE IF EXISTS {GEOMETRY_FLAGS}")
    return diff


def _compare(
    con: Any,
    name: str,
    key: list[str],
    types: dict[str, str],
    old_types: dict[str, str],
    compared: list[str],
    differs: dict[str, str],
    old_source: str,
    new_source: str,
    flags_join: str,
    detail: bool = True,
) -> TableDiff:
    """Count what differs, by key and column (`differs`: column -> SQL over `o`, `n` and the
    geometry flags `f`, which `flags_join` joins), and (with `detail`) sample it."""
    q = sql_identifier
    on = " AND ".join(f"o.{q(k)} = n.{q(k)}" for k in key)
    first = q(key[0])
    both = f"o.{first} IS NOT NULL AND n.{first} IS NOT NULL"
    any_change = " OR ".join(differs.values()) or "false"
    measures = [
        "count(o." + first + ")",
        "count(n." + first + ")",
        f"count(*) FILTER (WHERE o.{first} IS NULL)",
        f"count(*) FILTER (WHERE n.{first} IS NULL)",
        f"count(*) FILTER (WHERE {both} AND ({any_change}))",
        *[f"count(*) FILTER (WHERE {both} AND {d})" for d in differs.values()],
    ]
    joined = f"{old_source} AS o FULL OUTER JOIN {new_source} AS n ON {on}{flags_join}"
    counts = con.execute(f"SELECT {', '.join(measures)} FROM {joined}").fetchone()
    old_rows, new_rows, added, removed, changed = (int(v) for v in counts[:5])
    per_column = {c: int(v) for c, v in zip(compared, counts[5:], strict=True)}
    diff = TableDiff(
        name, list(key), old_rows, new_rows, False, added, removed, changed, per_column,
        added_columns=[c for c in types if c not in old_types],
        removed_columns=[c for c in old_types if c not in types],
        retyped_columns=[f"{c}: {old_types[c]} -> {types[c]}" for c in compared
                         if old_types[c] != types[c]],
    )  # fmt: skip
    schema_changed = diff.added_columns or diff.removed_columns or diff.retyped_columns
    if not (added or removed or changed or schema_changed) and old_rows == new_rows:
        diff.identical = True
        return diff
    if not detail:
        return diff
    keys = ", ".join(q(k) for k in key)
    if added:
        diff.added_sample = _records(
            con, f"SELECT {keys} FROM {new_source} AS n ANTI JOIN {old_source} AS o USING ({keys}) "
            f"ORDER BY {keys} LIMIT {SAMPLE_ROWS}",
        )  # fmt: skip
    if removed:
        diff.removed_sample = _records(
            con, f"SELECT {keys} FROM {old_source} AS o ANTI JOIN {new_source} AS n USING ({keys}) "
            f"ORDER BY {keys} LIMIT {SAMPLE_ROWS}",
        )  # fmt: skip
    if changed:
        matched = f"{old_source} AS o JOIN {new_source} AS n ON {on}{flags_join}"
        geometry = {
            c for c in compared if is_geometry_type(types[c]) and is_geometry_type(old_types[c])
        }
        diff.changed_sample = _changed_sample(con, key, compared, matched, differs, geometry)
    numeric = [c for c in compared if types[c].split("(")[0] in NUMERIC_TYPES]
    diff.numeric = _numeric_shift(con, {c: types[c] for c in numeric}, old_source, new_source)
    return diff


def describe_parquet(con: Any, url: str) -> dict[str, str]:
    """Column -> DuckDB type of a Parquet file (geometry as GEOMETRY('<crs>'), the CRS named
    once spatial is loaded, else as PROJJSON)."""
    query = f"DESCRIBE SELECT * FROM read_parquet({sql_string(url)})"
    return {row[0]: row[1] for row in con.execute(query).fetchall()}


def geometry_columns(types: dict[str, str]) -> dict[str, str | None]:
    """The geometry columns among `types` (column -> DuckDB type) -> their CRS label."""
    return {c: crs_label(t) for c, t in types.items() if is_geometry_type(t)}


def spatial_loaded(con: Any) -> bool:
    """Whether DuckDB's spatial extension is loaded into `con`."""
    found = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'"
    ).fetchone()
    return bool(found and found[0])


def use_spatial(con: Any, workspace: Path | None) -> None:
    """Load DuckDB's spatial extension into `con` unless it is (installed once into
    `workspace`, default: <temporary folder>/lakehouse)."""
    if not spatial_loaded(con):
        load_spatial(con, workspace or Path(tempfile.gettempdir()) / "lakehouse")


def parquet_relation(url: str, geometry: list[str]) -> str:
    """A parenthesised relation over a Parquet file with its `geometry` columns as plain
    GEOMETRY (DuckDB types them with their CRS, GEOMETRY('EPSG:2263'); ST_ functions, and
    comparisons between files of two CRSs, want them plain)."""
    source = f"read_parquet({sql_string(url)})"
    if not geometry:
        return source
    q = sql_identifier
    casts = ", ".join(f"CAST({q(c)} AS GEOMETRY) AS {q(c)}" for c in geometry)
    return f"(SELECT * REPLACE ({casts}) FROM {source})"


def _records(con: Any, query: str) -> list[dict[str, Any]]:
    result = con.execute(query)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _changed_sample(
    con: Any,
    key: list[str],
    compared: list[str],
    matched: str,
    differs: dict[str, str],
    geometry: set[str],
) -> list[dict[str, Any]]:
    """The first changed rows by key: {column: [old, new]} for each changed column; a geometry
    column (whose change the SQL decides, within its tolerance) as WKT, cut short."""
    q = sql_identifier
    selected = [f"o.{q(k)} AS {q(k)}" for k in key]
    for index, column in enumerate(compared):
        if column in geometry:
            selected += [
                f"ST_AsText(o.{q(column)}) AS o{index}",
                f"ST_AsText(n.{q(column)}) AS n{index}",
                f"{differs[column]} AS d{index}",
            ]
        else:
            selected += [f"o.{q(column)} AS o{index}", f"n.{q(column)} AS n{index}"]
    rows = con.execute(
        f"SELECT {', '.join(selected)} FROM {matched} "
        f"WHERE {' OR '.join(differs.values())} ORDER BY {', '.join(f'o.{q(k)}' for k in key)} "
        f"LIMIT {SAMPLE_ROWS}"
    ).fetchall()
    sample = []
    for row in rows:
        entry: dict[str, Any] = dict(zip(key, row[: len(key)], strict=True))
        values = iter(row[len(key) :])
        for column in compared:
            before, after = next(values), next(values)
            if column in geometry:
                if next(values):
                    entry[column] = [_cut(before), _cut(after)]
            elif before != after:
                entry[column] = [before, after]
        sample.append(entry)
    return sample


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= SAMPLE_TEXT:
        return text
    return text[: SAMPLE_TEXT - 1] + "…"


def _numeric_shift(
    con: Any, columns: dict[str, str], old_source: str, new_source: str
) -> list[NumericShift]:
    """min, max and mean of each numeric column (name -> DuckDB type) on both sides; for
    floating-point columns over finite values only (an inf or NaN would swamp them)."""
    if not columns:
        return []
    parts = []
    for column, duckdb_type in columns.items():
        value = f"{sql_identifier(column)}::DOUBLE"
        finite = f" FILTER (WHERE isfinite({value}))" if duckdb_type in {"FLOAT", "DOUBLE"} else ""
        parts.append(f"min({value}){finite}, max({value}){finite}, avg({value}){finite}")
    measures = ", ".join(parts)
    old = con.execute(f"SELECT {measures} FROM {old_source}").fetchone()
    new = con.execute(f"SELECT {measures} FROM {new_source}").fetchone()
    return [
        NumericShift(c, *old[3 * i : 3 * i + 3], *new[3 * i : 3 * i + 3])
        for i, c in enumerate(columns)
    ]
