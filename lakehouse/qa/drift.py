"""Source QA: what changed between two versions of a dataset.

Schema changes (columns added, removed, renamed-looking, retyped), the row count, per column the
null rate, distinct count, min/max/mean of numbers, length range of text and the most common
values (with their counts in both versions), and, when the template names a key, the keys added
and removed. Changes beyond the template's thresholds are flagged. A geometry column's CRS
changing is flagged, and so are its geometry types changing, its invalid geometries appearing
or their share moving (like a null rate), its empty ones' share moving, and its bounding box
jumping (no overlap with the old one, or twice or half as wide or high: a point at 0,0, swapped
coordinates, a wrong CRS). Everything is computed in DuckDB on the versions' Parquet.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lakehouse.qa.profile import (
    COLUMNS_PER_PASS,
    TOP_VALUES,
    ColumnProfile,
    GeometryProfile,
    TableProfile,
    column_dict,
    is_code_name,
)
from lakehouse.records import STRICT_PART
from lakehouse.spatial import crs_label, is_geometry_type
from lakehouse.sql import sql_identifier, sql_string

SAMPLE_KEYS = 5


class Thresholds(BaseModel):
    """How much change is flagged (fractions: 0.05 is 5%)."""

    model_config = ConfigDict(extra="forbid")
    row_count: float = Field(default=0.05, ge=0, description="relative change of the row count")
    null_rate: float = Field(
        default=0.02, ge=0, description="absolute change of a column's null rate"
    )
    distinct: float = Field(default=0.10, ge=0, description="relative change of a distinct count")
    mean: float = Field(
        default=0.05, ge=0, description="relative change of a numeric column's mean"
    )
    keys: float = Field(default=0.01, ge=0, description="share of keys added or removed")


class QaSettings(BaseModel):
    """A template's `qa:` block."""

    model_config = ConfigDict(extra="forbid")
    key: list[str] = Field(default_factory=list, description="columns identifying a row")
    thresholds: Thresholds = Field(default_factory=Thresholds)

    def missing_key_columns(self, columns: list[str]) -> list[str]:
        """The key's columns that are not among `columns` (a dataset's, after its steps)."""
        return [k for k in self.key if k not in columns]


@dataclass
class KeyOverlap:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    key: list[str]
    kept: int
    added: int
    removed: int
    added_sample: list[dict[str, Any]] = field(default_factory=list)
    removed_sample: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ColumnDrift:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    column: str
    old: ColumnProfile | None
    new: ColumnProfile | None
    null_rate_old: float | None
    null_rate_new: float | None
    top: list[tuple[str, int, int]] = field(default_factory=list)  # value, old rows, new rows
    flags: list[str] = field(default_factory=list)


@dataclass
class SourceDrift:
    dataset: str
    old_version: str
    new_version: str
    old_rows: int
    new_rows: int
    added: list[str]
    removed: list[str]
    renamed: list[tuple[str, str]]  # (old name, new name) that look like a rename
    retyped: list[tuple[str, str, str]]  # (column, old type, new type)
    columns: list[ColumnDrift]
    keys: KeyOverlap | None
    flags: list[str]

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for column, drift in zip(found["columns"], self.columns, strict=True):
            for side in ("old", "new"):
                profile = getattr(drift, side)
                column[side] = None if profile is None else column_dict(profile)
        return found

    def to_text(self) -> str:
        lines = [f"{self.dataset}: {self.new_version} against {self.old_version}"]
        change = self.new_rows - self.old_rows
        share = _pct(change, self.old_rows)
        lines.append(f"rows: {self.old_rows:,} -> {self.new_rows:,} ({change:+,}, {share})")
        for label, names in (("columns added", self.added), ("columns removed", self.removed)):
            if names:
                lines.append(f"{label}: {', '.join(names)}")
        lines += [f"column renamed? {old} -> {new}" for old, new in self.renamed]
        lines += [f"column retyped: {c} {a} -> {b}" for c, a, b in self.retyped]
        if self.keys:
            k = self.keys
            lines.append(
                f"keys ({', '.join(k.key)}): {k.kept:,} kept, {k.added:,} added, "
                f"{k.removed:,} removed"
            )
        lines.append(f"flags: {len(self.flags)}" + (":" if self.flags else ""))
        lines += [f"  ! {flag}" for flag in self.flags]
        return "\n".join(lines) + "\n"


def _pct(change: float, base: float) -> str:
    return f"{change / base:+.1%}" if base else "n/a"


def _relative(old: float | None, new: float | None) -> float | None:
    if old is None or new is None:
        return None
    if old == 0:
        return 0.0 if new == 0 else float("inf")
    return (new - old) / abs(old)


def compare(
    dataset: str,
    old_version: str,
    new_version: str,
    old: TableProfile,
    new: TableProfile,
    thresholds: Thresholds,
) -> SourceDrift:
    """Compare two profiles (schema, rows, per-column statistics) and flag what moved."""
    added = [c for c in new.columns if c not in old.columns]
    removed = [c for c in old.columns if c not in new.columns]
    renamed = _renames(old, new, removed, added)
    retyped = [
        (c, old.columns[c].type, new.columns[c].type)
        for c in new.columns
        if c in old.columns and not _same_type(old.columns[c].type, new.columns[c].type)
    ]
    flags = []
    row_change = _relative(old.rows, new.rows)
    if row_change is not None and abs(row_change) > thresholds.row_count:
        flags.append(
            f"row count {old.rows:,} -> {new.rows:,} ({_pct(new.rows - old.rows, old.rows)})"
        )
    flags += [f"column added: {c}" for c in added] + [f"column removed: {c}" for c in removed]
    flags += [f"column retyped: {c} {a} -> {b}" for c, a, b in retyped]
    columns = []
    for name in [*old.columns, *added]:
        drift = ColumnDrift(
            name,
            old.columns.get(name),
            new.columns.get(name),
            old.null_rate(name) if name in old.columns else None,
            new.null_rate(name) if name in new.columns else None,
        )
        if drift.old and drift.new:
            drift.flags = _column_flags(drift, thresholds)
            flags += [f"{name}: {flag}" for flag in drift.flags]
        columns.append(drift)
    return SourceDrift(dataset, old_version, new_version, old.rows, new.rows, added, removed,
                       renamed, retyped, columns, None, flags)  # fmt: skip


def _same_type(old: str, new: str) -> bool:
    """Types are the same when equal; a geometry's CRS, once part of its type, is compared on
    its own (`_geometry_flags`)."""
    return old == new or (is_geometry_type(old) and is_geometry_type(new))


def _column_flags(drift: ColumnDrift, thresholds: Thresholds) -> list[str]:
    assert drift.old and drift.new and drift.null_rate_old is not None
    assert drift.null_rate_new is not None
    flags = _geometry_flags(drift.old, drift.new, thresholds)
    if abs(drift.null_rate_new - drift.null_rate_old) > thresholds.null_rate:
        flags.append(f"null rate {drift.null_rate_old:.1%} -> {drift.null_rate_new:.1%}")
    change = _relative(drift.old.distinct, drift.new.distinct)
    if change is not None and abs(change) > thresholds.distinct:
        flags.append(f"distinct values {drift.old.distinct:,} -> {drift.new.distinct:,}")
    change = _relative(drift.old.mean, drift.new.mean)
    if change is not None and abs(change) > thresholds.mean:
        flags.append(f"mean {drift.old.mean:,.6g} -> {drift.new.mean:,.6g}")
    if drift.old.numeric != drift.new.numeric and not is_code_name(drift.column):
        # (a column named for codes is profiled as text now: an older profile's numbers for it
        # are the profiler's change, not the data's)
        now = "numbers" if drift.new.numeric else "text"
        flags.append(f"values are now {now}")
    return flags


def _crs(profile: ColumnProfile) -> str | None:
    """A geometry column's CRS label: its geometry profile's, or (in a profile written before
    those) its type's."""
    return profile.geometry.crs if profile.geometry else crs_label(profile.type)


def _geometry_flags(old: ColumnProfile, new: ColumnProfile, thresholds: Thresholds) -> list[str]:
    """What moved in a geometry column: its CRS, its types, its invalid and empty geometries,
    its bounding box."""
    if not (is_geometry_type(old.type) and is_geometry_type(new.type)):
        return []
    flags = []
    if _crs(old) != _crs(new):
        flags.append(f"CRS {_crs(old) or '(none)'} -> {_crs(new) or '(none)'}")
    a, b = old.geometry, new.geometry
    if a is None or b is None:  # a profile written before geometry profiles: its CRS only
        return flags
    if set(a.types) != set(b.types):
        listed = [", ".join(kinds) or "(none)" for kinds in (a.types, b.types)]
        flags.append(f"geometry types {listed[0]} -> {listed[1]}")
    for label, was, now in (("invalid", a.invalid, b.invalid), ("empty", a.empty, b.empty)):
        share_was, share_now = was / max(old.non_null, 1), now / max(new.non_null, 1)
        appeared = label == "invalid" and was == 0 and now > 0
        if appeared or abs(share_now - share_was) > thresholds.null_rate:
            flags.append(
                f"{label} geometries {was:,} ({share_was:.1%}) -> {now:,} ({share_now:.1%})"
            )
    if a.bbox and b.bbox and _bbox_jumped(a, b):
        flags.append(f"bbox {_bbox_text(a)} -> {_bbox_text(b)}")
    return flags


def _bbox_jumped(old: GeometryProfile, new: GeometryProfile) -> bool:
    """The new bounding box misses the old one, or is more than twice or less than half as wide
    or as high."""
    assert old.bbox and new.bbox
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = old.bbox, new.bbox
    if bx0 > ax1 or bx1 < ax0 or by0 > ay1 or by1 < ay0:
        return True
    for was, now in ((ax1 - ax0, bx1 - bx0), (ay1 - ay0, by1 - by0)):
        if now > 2 * was or was > 2 * now:
            return True
    return False


def _bbox_text(profile: GeometryProfile) -> str:
    assert profile.bbox
    return "[" + ", ".join(f"{value:.6g}" for value in profile.bbox) + "]"


def _renames(
    old: TableProfile, new: TableProfile, removed: list[str], added: list[str]
) -> list[tuple[str, str]]:
    """A removed and an added column of the same type whose counts agree within 1%."""
    pairs = []
    taken: set[str] = set()
    for gone in removed:
        a = old.columns[gone]
        for came in added:
            b = new.columns[came]
            if came in taken or a.type != b.type:
                continue
            close = all(
                abs(x - y) <= 0.01 * max(x, y, 1)
                for x, y in ((a.non_null, b.non_null), (a.distinct, b.distinct))
            )
            if close and old.rows and new.rows:
                pairs.append((gone, came))
                taken.add(came)
                break
    return pairs


def key_overlap(
    con: Any, old_source: str, new_source: str, key: list[str], unique: bool = False
) -> KeyOverlap:
    """Rows whose key is new (added) or gone (removed), and rows whose key is in both (kept),
    with a few keys of each. Each side's unmatched rows are kept in a temporary table, counted
    and sampled. They come from one full outer join when the key is known to be `unique` in
    one version (its raw contract proved it; a repeated key on both sides would multiply the
    join's matched rows), from two anti joins otherwise."""
    run = uuid.uuid4().hex[:12]
    added_table, removed_table = f"__lakehouse_added_{run}", f"__lakehouse_removed_{run}"
    try:
        if unique:
            _unmatched_by_full_join(con, old_source, new_source, key, added_table, removed_table)
        else:
            _unmatched_by_anti_joins(con, old_source, new_source, key, added_table, removed_table)
        added, removed, new_rows = con.execute(
            f"SELECT (SELECT count(*) FROM {added_table}), "
            f"(SELECT count(*) FROM {removed_table}), (SELECT count(*) FROM {new_source})"
        ).fetchone()
        return KeyOverlap(
            list(key), int(new_rows) - int(added), int(added), int(removed),
            _sample_keys(con, added_table) if added else [],
            _sample_keys(con, removed_table) if removed else [],
        )  # fmt: skip
    finally:
        for table in (added_table, removed_table):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _same_key(key: list[str]) -> str:
    """The join condition of two rows (`o`, `n`) with the same key; NULL-safe: a key with an
    empty part still matches itself in the other version."""
    return " AND ".join(
        f"o.{sql_identifier(k)} IS NOT DISTINCT FROM n.{sql_identifier(k)}" for k in key
    )


def _unmatched_by_anti_joins(
    con: Any, old_source: str, new_source: str, key: list[str], added: str, removed: str
) -> None:
    """The key columns of the new rows without a match in the old version into `added`, and
    of the old rows without a match in the new one into `removed`: an anti join each."""
    same = _same_key(key)
    for table, side, other, this, that in (
        (added, "n", "o", new_source, old_source),
        (removed, "o", "n", old_source, new_source),
    ):
        columns = ", ".join(f"{side}.{sql_identifier(k)}" for k in key)
        con.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT {columns} "
            f"FROM {this} AS {side} ANTI JOIN {that} AS {other} ON {same}"
        )


def _unmatched_by_full_join(
    con: Any, old_source: str, new_source: str, key: list[str], added: str, removed: str
) -> None:
    """What `_unmatched_by_anti_joins` finds, from one full outer join: a row without a match
    comes out of it once, whatever the other side repeats."""
    present = sql_identifier("__lakehouse_present")
    keys = ", ".join(sql_identifier(k) for k in key)
    sides = {"n": new_source, "o": old_source}
    joined = " FULL JOIN ".join(
        f"(SELECT {keys}, true AS {present} FROM {source}) AS {side}"
        for side, source in sides.items()
    )
    picked = ", ".join(
        f"{side}.{sql_identifier(k)} AS {sql_identifier(f'{side}{i}')}"
        for side in sides
        for i, k in enumerate(key)
    )
    unmatched = f"__lakehouse_unmatched_{uuid.uuid4().hex[:12]}"
    con.execute(
        f"CREATE TEMPORARY TABLE {unmatched} AS SELECT {picked}, n.{present} AS in_new, "
        f"o.{present} AS in_old FROM {joined} ON {_same_key(key)} "
        f"WHERE n.{present} IS NULL OR o.{present} IS NULL"
    )
    try:
        for table, side, missing_from in ((added, "n", "in_old"), (removed, "o", "in_new")):
            columns = ", ".join(
                f"{sql_identifier(f'{side}{i}')} AS {sql_identifier(k)}" for i, k in enumerate(key)
            )
            con.execute(
                f"CREATE TEMPORARY TABLE {table} AS SELECT {columns} FROM {unmatched} "
                f"WHERE {missing_from} IS NULL"
            )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {unmatched}")


def _sample_keys(con: Any, table: str) -> list[dict[str, Any]]:
    """The first SAMPLE_KEYS distinct keys of `table`, in order."""
    result = con.execute(f"SELECT DISTINCT * FROM {table} ORDER BY ALL LIMIT {SAMPLE_KEYS}")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def value_counts(con: Any, source: str, values: dict[str, list[str]]) -> dict[str, list[int]]:
    """Rows holding each of the given values (compared as text), per column, in one pass per
    COLUMNS_PER_PASS columns' worth of values."""
    measures, order = [], []
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    for column, wanted in values.items():
        for value in wanted:
            if column in present:
                measures.append(
                    f"count(*) FILTER (WHERE CAST({sql_identifier(column)} AS VARCHAR) = "
                    f"{sql_string(value)})"
                )
            else:
                measures.append("0")
            order.append(column)
    if not measures:
        return {}
    counts: list[Any] = []
    per_pass = COLUMNS_PER_PASS * TOP_VALUES  # thousands of filters in one query take minutes
    for start in range(0, len(measures), per_pass):
        chunk = measures[start : start + per_pass]
        counts += con.execute(f"SELECT {', '.join(chunk)} FROM {source}").fetchone()
    found: dict[str, list[int]] = {column: [] for column in values}
    for column, count in zip(order, counts, strict=True):
        found[column].append(int(count))
    return found


def source_drift(
    con: Any,
    dataset: str,
    old_version: str,
    new_version: str,
    old: tuple[str, TableProfile],
    new: tuple[str, TableProfile],
    settings: QaSettings,
    key_unique: bool = False,
) -> SourceDrift:
    """The whole source QA of `new` against `old`: each is (relation SQL, its profile);
    `key_unique` when the key is known to be unique in one of them (see `key_overlap`)."""
    (old_source, old_profile), (new_source, new_profile) = old, new
    drift = compare(
        dataset, old_version, new_version, old_profile, new_profile, settings.thresholds
    )
    _top_value_counts(con, drift, old_source, new_source)
    key = [k for k in settings.key if k in old_profile.columns and k in new_profile.columns]
    if key:
        unique = key_unique and key == settings.key  # (a part of a unique key may repeat)
        drift.keys = key_overlap(con, old_source, new_source, key, unique)
        base = max(drift.keys.kept + drift.keys.removed, 1)
        for label, count in (("added", drift.keys.added), ("removed", drift.keys.removed)):
            if count / base > settings.thresholds.keys:
                drift.flags.append(f"keys {label}: {count:,} ({count / base:.1%})")
    return drift


def _top_value_counts(con: Any, drift: SourceDrift, old_source: str, new_source: str) -> None:
    """Each column's most common values in either version, with their rows in both: from the
    profiles, querying only the values one side's profile does not list."""
    missing: dict[str, dict[str, list[str]]] = {"old": {}, "new": {}}
    for column in drift.columns:
        old_top = dict(column.old.top) if column.old else {}
        new_top = dict(column.new.top) if column.new else {}
        for side, top, other in (("old", old_top, new_top), ("new", new_top, old_top)):
            absent = [v for v in other if v not in top]
            if absent and (column.old if side == "old" else column.new):
                missing[side][column.column] = absent
    counted = {
        "old": value_counts(con, old_source, missing["old"]),
        "new": value_counts(con, new_source, missing["new"]),
    }
    for column in drift.columns:
        old_top = dict(column.old.top) if column.old else {}
        new_top = dict(column.new.top) if column.new else {}
        for side, top in (("old", old_top), ("new", new_top)):
            values = missing[side].get(column.column, [])
            top.update(zip(values, counted[side].get(column.column, []), strict=True))
        listed = [v for v, _ in column.old.top] if column.old else []
        listed += [v for v, _ in column.new.top] if column.new else []
        column.top = [(v, old_top.get(v, 0), new_top.get(v, 0)) for v in dict.fromkeys(listed)]
