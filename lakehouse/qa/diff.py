"""Build diffs: what changed between two builds of a product, row by row, by primary key.

For each output: rows added, removed and changed (matched by the dictionary's primary key), how
many rows changed in each column, how the numeric columns' distributions moved, and a sample
of changed rows side by side. One full outer join per output in DuckDB; outputs whose content
hashes are equal are identical without reading them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.contracts.dictionary import Dictionary
from lakehouse.errors import DiffError
from lakehouse.qa.profile import NUMERIC_TYPES
from lakehouse.records import STRICT_PART
from lakehouse.sql import sql_identifier, sql_string

SAMPLE_ROWS = 10


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
    changed_sample: list[dict[str, Any]] = field(default_factory=list)


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
        return asdict(self)

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
            for column, count in t.columns.items():
                if count:
                    lines.append(f"  {column}: {count:,} row(s) changed")
        lines += [f"{name}: output removed" for name in self.removed_outputs]
        return "\n".join(lines) + "\n"


def diff_builds(dictionary: Dictionary | None, old: Side, new: Side, con: Any) -> BuildDiff:
    """Compare two sides output by output (`con` has the store registered)."""
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
        tables.append(
            diff_table(con, name, table.primary_key, old_output["url"], new_output["url"])
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


def diff_table(con: Any, name: str, key: list[str], old_url: str, new_url: str) -> TableDiff:
    """Match the rows of two Parquet files by `key` and count what differs."""
    old_source = f"read_parquet({sql_string(old_url)})"
    new_source = f"read_parquet({sql_string(new_url)})"
    types = {
        row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {new_source}").fetchall()
    }
    old_types = {
        row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {old_source}").fetchall()
    }
    compared = [c for c in types if c not in key and c in old_types]
    q = sql_identifier
    on = " AND ".join(f"o.{q(k)} = n.{q(k)}" for k in key)
    first = q(key[0])
    differs = {c: f"(o.{q(c)} IS DISTINCT FROM n.{q(c)})" for c in compared}
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
    joined = f"{old_source} AS o FULL OUTER JOIN {new_source} AS n ON {on}"
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
        diff.changed_sample = _changed_sample(con, key, compared, old_source, new_source, differs)
    numeric = [c for c in compared if types[c].split("(")[0] in NUMERIC_TYPES]
    diff.numeric = _numeric_shift(con, {c: types[c] for c in numeric}, old_source, new_source)
    return diff


def _records(con: Any, query: str) -> list[dict[str, Any]]:
    result = con.execute(query)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _changed_sample(
    con: Any,
    key: list[str],
    compared: list[str],
    old_source: str,
    new_source: str,
    differs: dict[str, str],
) -> list[dict[str, Any]]:
    q = sql_identifier
    on = " AND ".join(f"o.{q(k)} = n.{q(k)}" for k in key)
    selected = [f"o.{q(k)} AS {q(k)}" for k in key]
    for index, column in enumerate(compared):
        selected += [f"o.{q(column)} AS o{index}", f"n.{q(column)} AS n{index}"]
    rows = con.execute(
        f"SELECT {', '.join(selected)} FROM {old_source} AS o JOIN {new_source} AS n ON {on} "
        f"WHERE {' OR '.join(differs.values())} ORDER BY {', '.join(f'o.{q(k)}' for k in key)} "
        f"LIMIT {SAMPLE_ROWS}"
    ).fetchall()
    sample = []
    for row in rows:
        entry: dict[str, Any] = dict(zip(key, row[: len(key)], strict=True))
        values = row[len(key) :]
        for index, column in enumerate(compared):
            before, after = values[2 * index], values[2 * index + 1]
            if before != after:
                entry[column] = [before, after]
        sample.append(entry)
    return sample


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
